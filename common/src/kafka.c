/* kafka.c - producer and consumer handles. */
#include "saga/kafka.h"

#include <stdio.h>

#include "saga/log.h"

static void on_kafka_error(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
    (void)opaque;
    /* only a fatal error is fatal; the rest (brokers down, ...) are informational
     * and librdkafka recovers by itself */
    if (err == RD_KAFKA_RESP_ERR__FATAL) {
        char why[512];
        rd_kafka_fatal_error(rk, why, sizeof(why));
        LOG_ERROR("kafka.fatal", "%s: fatal error: %s", rd_kafka_name(rk), why);
        return;
    }
    LOG_WARN("kafka.error", "%s: %s: %s", rd_kafka_name(rk),
             rd_kafka_err2name((rd_kafka_resp_err_t)err), reason);
}

static int conf_set(rd_kafka_conf_t *conf, const char *name, const char *value, char *err,
                    size_t errlen)
{
    char why[256];
    if (rd_kafka_conf_set(conf, name, value, why, sizeof(why)) != RD_KAFKA_CONF_OK) {
        snprintf(err, errlen, "kafka setting %s=%s: %s", name, value, why);
        return -1;
    }
    return 0;
}

static rd_kafka_conf_t *conf_common(const saga_config *cfg, const char *role, char *err,
                                    size_t errlen)
{
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    char client_id[96];

    snprintf(client_id, sizeof(client_id), "%s-service-%s", cfg->service, role);
    if (conf_set(conf, "bootstrap.servers", cfg->kafka_bootstrap, err, errlen) ||
        conf_set(conf, "client.id", client_id, err, errlen) ||
        /* reconnect fast after a broker comes back */
        conf_set(conf, "reconnect.backoff.ms", "50", err, errlen) ||
        conf_set(conf, "reconnect.backoff.max.ms", "1000", err, errlen)) {
        rd_kafka_conf_destroy(conf);
        return NULL;
    }
    rd_kafka_conf_set_log_cb(conf, saga_log_rdkafka);
    rd_kafka_conf_set_error_cb(conf, on_kafka_error);
    return conf;
}

rd_kafka_t *saga_kafka_producer_new(const saga_config *cfg, saga_kafka_dr_fn dr, void *opaque,
                                    char *err, size_t errlen)
{
    rd_kafka_conf_t *conf = conf_common(cfg, "producer", err, errlen);
    rd_kafka_t *rk;
    char why[512];

    if (!conf)
        return NULL;
    if (conf_set(conf, "enable.idempotence", "true", err, errlen) ||
        conf_set(conf, "acks", "all", err, errlen) ||
        conf_set(conf, "linger.ms", "1", err, errlen) ||
        conf_set(conf, "message.timeout.ms", "30000", err, errlen) ||
        conf_set(conf, "compression.type", "lz4", err, errlen)) {
        rd_kafka_conf_destroy(conf);
        return NULL;
    }
    if (dr)
        rd_kafka_conf_set_dr_msg_cb(conf, dr);
    rd_kafka_conf_set_opaque(conf, opaque);
    rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, why, sizeof(why));
    if (!rk) {
        snprintf(err, errlen, "cannot create kafka producer: %s", why);
        rd_kafka_conf_destroy(conf);
        return NULL;
    }
    /* conf is now owned by rk */
    return rk;
}

rd_kafka_t *saga_kafka_consumer_new(const saga_config *cfg, const char *const *topics,
                                    size_t ntopics, char *err, size_t errlen)
{
    rd_kafka_conf_t *conf = conf_common(cfg, "consumer", err, errlen);
    rd_kafka_topic_partition_list_t *subs = NULL;
    rd_kafka_t *rk = NULL;
    char fetch_wait[16], session_timeout[16], why[512];
    rd_kafka_resp_err_t kerr;

    if (!conf)
        return NULL;
    snprintf(fetch_wait, sizeof(fetch_wait), "%d", cfg->kafka_fetch_wait_ms);
    snprintf(session_timeout, sizeof(session_timeout), "%d", cfg->kafka_session_timeout_ms);
    if (conf_set(conf, "group.id", cfg->kafka_group, err, errlen) ||
        conf_set(conf, "enable.auto.commit", "false", err, errlen) ||
        conf_set(conf, "enable.auto.offset.store", "false", err, errlen) ||
        conf_set(conf, "auto.offset.reset", "earliest", err, errlen) ||
        /* librdkafka's mock broker answers an empty fetch only after this wait,
         * even when data arrives meanwhile: keep it short */
        conf_set(conf, "fetch.wait.max.ms", fetch_wait, err, errlen) ||
        /* how long a dead instance holds its partitions before a rebalance */
        conf_set(conf, "session.timeout.ms", session_timeout, err, errlen) ||
        conf_set(conf, "heartbeat.interval.ms", "1000", err, errlen) ||
        /* static membership (KIP-345): a restarted instance with the same id takes
         * its partitions back without a rebalance, where the broker supports it */
        (cfg->kafka_group_instance_id[0] &&
         conf_set(conf, "group.instance.id", cfg->kafka_group_instance_id, err, errlen))) {
        rd_kafka_conf_destroy(conf);
        return NULL;
    }
    rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, why, sizeof(why));
    if (!rk) {
        snprintf(err, errlen, "cannot create kafka consumer: %s", why);
        rd_kafka_conf_destroy(conf);
        return NULL;
    }
    conf = NULL; /* now owned by rk */
    rd_kafka_poll_set_consumer(rk);

    subs = rd_kafka_topic_partition_list_new((int)ntopics);
    for (size_t i = 0; i < ntopics; i++)
        rd_kafka_topic_partition_list_add(subs, topics[i], RD_KAFKA_PARTITION_UA);
    kerr = rd_kafka_subscribe(rk, subs);
    rd_kafka_topic_partition_list_destroy(subs);
    if (kerr) {
        snprintf(err, errlen, "cannot subscribe: %s", rd_kafka_err2str(kerr));
        rd_kafka_destroy(rk);
        return NULL;
    }
    return rk;
}

bool saga_kafka_reachable(rd_kafka_t *rk, int timeout_ms)
{
    const struct rd_kafka_metadata *md = NULL;
    /* all_topics=0 with no topic: asks for brokers only, which is cheap */
    rd_kafka_resp_err_t kerr = rd_kafka_metadata(rk, 0, NULL, &md, timeout_ms);
    if (kerr)
        return false;
    bool ok = md->broker_cnt > 0;
    rd_kafka_metadata_destroy(md);
    return ok;
}
