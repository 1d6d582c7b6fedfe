/* kafka.h - librdkafka producer and consumer handles configured the one way this
 * project uses them. */
#ifndef SAGA_KAFKA_H
#define SAGA_KAFKA_H

#include <stdbool.h>
#include <stddef.h>
#include <librdkafka/rdkafka.h>

#include "saga/config.h"

typedef void (*saga_kafka_dr_fn)(rd_kafka_t *rk, const rd_kafka_message_t *rkm, void *opaque);

/* An idempotent producer (acks=all, enable.idempotence=true) on
 * cfg->kafka_bootstrap, logging through saga_log. dr may be NULL; opaque is passed
 * to it. Returns NULL with the reason in err. Destroy with rd_kafka_destroy after
 * rd_kafka_flush. */
rd_kafka_t *saga_kafka_producer_new(const saga_config *cfg, saga_kafka_dr_fn dr, void *opaque,
                                    char *err, size_t errlen);

/* A consumer in group cfg->kafka_group: auto commit and auto offset store off
 * (offsets are stored and committed only after the DB commit),
 * auto.offset.reset=earliest, fetch.wait.max.ms from cfg. Subscribed to the
 * topics. Returns NULL with the reason in err. Close with rd_kafka_consumer_close,
 * then rd_kafka_destroy. */
rd_kafka_t *saga_kafka_consumer_new(const saga_config *cfg, const char *const *topics,
                                    size_t ntopics, char *err, size_t errlen);

/* True if a broker answers a metadata request within timeout_ms. */
bool saga_kafka_reachable(rd_kafka_t *rk, int timeout_ms);

#endif
