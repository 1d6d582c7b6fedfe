/* dlq_reader.c - reading saga-dlq by assignment (see dlq_reader.h). */
#include "dlq_reader.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "saga/clock.h"
#include "saga/err.h"

/* The bootstrap servers rk was made with, for messages. */
static const char *bootstrap_of(rd_kafka_t *rk, char *buf, size_t len)
{
    size_t size = len;
    if (rd_kafka_conf_get(rd_kafka_conf(rk), "bootstrap.servers", buf, &size) != RD_KAFKA_CONF_OK)
        snprintf(buf, len, "?");
    return buf;
}

rd_kafka_t *dlq_reader_new(const char *bootstrap, const char *client, char *err, size_t errlen)
{
    static const char *const settings[][2] = {
        {"enable.auto.commit", "false"},
        {"enable.auto.offset.store", "false"},
        {"enable.partition.eof", "true"},
        {"auto.offset.reset", "earliest"},
        {"allow.auto.create.topics", "false"},
        {"fetch.wait.max.ms", "10"},
        {"log_level", "3"},
    };
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_t *rk = NULL;
    char errstr[512], group[128];

    snprintf(group, sizeof(group), "%s-%ld-%ld", client, (long)getpid(), (long)time(NULL));
    if (rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap, errstr, sizeof(errstr)) ||
        rd_kafka_conf_set(conf, "client.id", client, errstr, sizeof(errstr)) ||
        rd_kafka_conf_set(conf, "group.id", group, errstr, sizeof(errstr)))
        goto bad_conf;
    for (size_t i = 0; i < sizeof(settings) / sizeof(settings[0]); i++) {
        if (rd_kafka_conf_set(conf, settings[i][0], settings[i][1], errstr, sizeof(errstr)))
            goto bad_conf;
    }
    if (!(rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof(errstr)))) {
        snprintf(err, errlen, "kafka client: %s", errstr);
        rd_kafka_conf_destroy(conf);
        return NULL;
    }
    /* conf is now owned by rk */
    rd_kafka_poll_set_consumer(rk);
    return rk;
bad_conf:
    snprintf(err, errlen, "kafka configuration: %s", errstr);
    rd_kafka_conf_destroy(conf);
    return NULL;
}

void dlq_reader_free(rd_kafka_t *rk)
{
    if (!rk)
        return;
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
}

int dlq_reader_watermarks(rd_kafka_t *rk, const char *topic, int timeout_ms, int cap, int *npart,
                          int64_t *low, int64_t *high, char *err, size_t errlen)
{
    rd_kafka_topic_t *rkt = NULL;
    const rd_kafka_metadata_t *md = NULL;
    char where[512];
    int rc = SAGA_ERR_UNAVAILABLE;
    rd_kafka_resp_err_t kerr;

    *npart = 0;
    if (!(rkt = rd_kafka_topic_new(rk, topic, NULL))) {
        snprintf(err, errlen, "kafka topic %s: %s", topic, rd_kafka_err2str(rd_kafka_last_error()));
        goto out;
    }
    if ((kerr = rd_kafka_metadata(rk, 0, rkt, &md, timeout_ms))) {
        snprintf(err, errlen, "cannot read the metadata of %s from kafka at %.300s: %s", topic,
                 bootstrap_of(rk, where, sizeof(where)), rd_kafka_err2str(kerr));
        goto out;
    }
    if (md->topic_cnt < 1 || md->topics[0].err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART) {
        snprintf(err, errlen, "topic %s does not exist", topic);
        rc = SAGA_ERR_NOT_FOUND;
        goto out;
    }
    if (md->topics[0].err) {
        snprintf(err, errlen, "kafka metadata of %s: %s", topic,
                 rd_kafka_err2str(md->topics[0].err));
        goto out;
    }
    const rd_kafka_metadata_topic_t *t = &md->topics[0];
    if (t->partition_cnt > cap) {
        snprintf(err, errlen, "%s has %d partitions, more than the %d supported", topic,
                 t->partition_cnt, cap);
        rc = SAGA_ERR_TOO_LARGE;
        goto out;
    }
    for (int p = 0; p < cap; p++)
        low[p] = high[p] = 0;
    for (int i = 0; i < t->partition_cnt; i++) {
        int32_t p = t->partitions[i].id;
        if (p < 0 || p >= cap)
            continue;
        kerr = rd_kafka_query_watermark_offsets(rk, topic, p, &low[p], &high[p], timeout_ms);
        if (kerr) {
            snprintf(err, errlen, "cannot read the offsets of %s [%d] from %.300s: %s", topic,
                     (int)p, bootstrap_of(rk, where, sizeof(where)), rd_kafka_err2str(kerr));
            *npart = 0;
            goto out;
        }
        if (p >= *npart)
            *npart = p + 1;
    }
    rc = SAGA_OK;
out:
    if (md)
        rd_kafka_metadata_destroy(md);
    if (rkt)
        rd_kafka_topic_destroy(rkt);
    return rc;
}

int dlq_reader_read(rd_kafka_t *rk, const char *topic, int npart, const int64_t *start,
                    const int64_t *end, long timeout_ms, dlq_reader_fn fn, void *ud, char *err,
                    size_t errlen)
{
    rd_kafka_topic_partition_list_t *parts = NULL;
    long long deadline = saga_clock_mono_ms() + timeout_ms;
    long long expected = 0, seen = 0;
    bool *done = NULL;
    int remaining = 0, rc = SAGA_OK;
    char last_err[256] = "no error";
    rd_kafka_resp_err_t kerr;

    if (npart <= 0)
        return SAGA_OK;
    done = calloc((size_t)npart, sizeof(*done));
    parts = rd_kafka_topic_partition_list_new(npart);
    if (!done || !parts) {
        snprintf(err, errlen, "out of memory");
        rc = SAGA_ERR_NOMEM;
        goto out;
    }
    for (int p = 0; p < npart; p++) {
        if (end[p] <= start[p]) {
            done[p] = true;
            continue;
        }
        rd_kafka_topic_partition_list_add(parts, topic, p)->offset = start[p];
        expected += end[p] - start[p];
        remaining++;
    }
    if (remaining == 0)
        goto out;
    if ((kerr = rd_kafka_assign(rk, parts))) {
        snprintf(err, errlen, "cannot assign %s: %s", topic, rd_kafka_err2str(kerr));
        rc = SAGA_ERR_UNAVAILABLE;
        goto out;
    }
    while (remaining > 0) {
        if (saga_clock_mono_ms() > deadline) {
            snprintf(err, errlen, "%s: read %lld of about %lld messages in %ld ms (last error: %s)",
                     topic, seen, expected, timeout_ms, last_err);
            rc = SAGA_ERR_UNAVAILABLE;
            break;
        }
        rd_kafka_message_t *rkm = rd_kafka_consumer_poll(rk, 100);
        if (!rkm)
            continue;
        int p = rkm->partition;
        bool ours = p >= 0 && p < npart && !done[p];
        if (rkm->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            if (ours) {
                done[p] = true;
                remaining--;
            }
        } else if (rkm->err) {
            snprintf(last_err, sizeof(last_err), "%s", rd_kafka_message_errstr(rkm));
        } else if (ours) {
            if (rkm->offset < end[p]) {
                seen++;
                fn(rkm, ud);
            }
            if (rkm->offset + 1 >= end[p]) {
                done[p] = true;
                remaining--;
            }
        }
        rd_kafka_message_destroy(rkm);
    }
    rd_kafka_assign(rk, NULL);
out:
    if (parts)
        rd_kafka_topic_partition_list_destroy(parts);
    free(done);
    return rc;
}
