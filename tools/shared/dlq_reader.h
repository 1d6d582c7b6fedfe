/* dlq_reader.h - reading a topic (saga-dlq) by partition assignment from given
 * offsets to given ends: what saga-audit (inv7) and sagactl (dlq list, replay) share.
 *
 * No consumer group is joined and no offset is committed: reading changes nothing
 * on the broker and can run beside the services at any time. */
#ifndef SAGA_DLQ_READER_H
#define SAGA_DLQ_READER_H

#include <stddef.h>
#include <stdint.h>
#include <librdkafka/rdkafka.h>

/* A consumer for the calls below on bootstrap: a throwaway group.id
 * ("<client>-<pid>-<time>", never joined), no auto commit or offset store,
 * enable.partition.eof, auto.offset.reset=earliest, no topic auto-creation,
 * fetch.wait.max.ms=10, librdkafka's own logging at level error (stderr).
 * Returns NULL with the reason in err. Free with dlq_reader_free. */
rd_kafka_t *dlq_reader_new(const char *bootstrap, const char *client, char *err, size_t errlen);

/* Closes and destroys rk. NULL is fine. */
void dlq_reader_free(rd_kafka_t *rk);

/* The partitions of topic and each one's low and high watermark (low[p], high[p] for
 * p in 0..*npart-1; *npart is the highest partition id + 1). low and high have room
 * for cap partitions. Returns SAGA_OK; SAGA_ERR_NOT_FOUND (*npart = 0) if the topic
 * does not exist; SAGA_ERR_TOO_LARGE if it has more than cap partitions;
 * SAGA_ERR_UNAVAILABLE when the broker does not answer within timeout_ms. The reason
 * is in err for every error ("cannot read the metadata of saga-dlq from kafka at
 * ...: ..."). */
int dlq_reader_watermarks(rd_kafka_t *rk, const char *topic, int timeout_ms, int cap, int *npart,
                          int64_t *low, int64_t *high, char *err, size_t errlen);

/* Called for each message read; rkm is borrowed (copy what you keep). */
typedef void (*dlq_reader_fn)(const rd_kafka_message_t *rkm, void *ud);

/* Reads partitions 0..npart-1 of topic, each from start[p] up to end[p] (exclusive;
 * nothing where end[p] <= start[p]), calling fn for every message, in offset order
 * within a partition. Returns SAGA_OK; SAGA_ERR_UNAVAILABLE when the partitions
 * cannot be assigned or were not all read within timeout_ms ("saga-dlq: read 3 of
 * about 10 messages in 30000 ms (last error: ...)"); SAGA_ERR_NOMEM. The assignment
 * is removed before returning. */
int dlq_reader_read(rd_kafka_t *rk, const char *topic, int npart, const int64_t *start,
                    const int64_t *end, long timeout_ms, dlq_reader_fn fn, void *ud, char *err,
                    size_t errlen);

#endif
