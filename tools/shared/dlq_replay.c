/* dlq_replay.c - re-publishing dead letters (see dlq_replay.h). */
#include "dlq_replay.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "saga/err.h"
#include "saga/outbox.h"

#define HDR_REPLAYED_FROM "saga-replayed-from"

/* Original topic, partition, offset; then saga-dlq position (the oldest first). */
static int item_cmp(const void *a, const void *b)
{
    const dlq_entry *x = ((const dlq_replay_item *)a)->e, *y = ((const dlq_replay_item *)b)->e;
    int c = strcmp(x->orig_topic ? x->orig_topic : "", y->orig_topic ? y->orig_topic : "");
    if (c)
        return c;
    if (x->orig_partition != y->orig_partition)
        return x->orig_partition < y->orig_partition ? -1 : 1;
    if (x->orig_offset != y->orig_offset)
        return x->orig_offset < y->orig_offset ? -1 : 1;
    if (x->partition != y->partition)
        return x->partition < y->partition ? -1 : 1;
    return x->offset < y->offset ? -1 : x->offset > y->offset;
}

/* True if a and b are the same event: same event id, or (no valid envelope) the same
 * original message: topic, partition, offset and timestamp (a topic's offsets can start
 * again at 0, and then two messages share a position). */
static bool same_event(const dlq_entry *a, const dlq_entry *b)
{
    if (a->event_id || b->event_id)
        return a->event_id && b->event_id && !strcmp(a->event_id, b->event_id);
    return a->orig_topic && b->orig_topic && !strcmp(a->orig_topic, b->orig_topic) &&
           a->orig_partition >= 0 && a->orig_partition == b->orig_partition &&
           a->orig_offset >= 0 && a->orig_offset == b->orig_offset &&
           a->orig_timestamp == b->orig_timestamp;
}

const char *dlq_replay_where(const dlq_replay_opts *o, const dlq_entry *e, char *buf, size_t len)
{
    snprintf(buf, len, "%s/%d/%lld", o->dlq_topic, (int)e->partition, (long long)e->offset);
    return buf;
}

void dlq_replay_plan(dlq_replay_item *items, size_t n, dlq_replay_picked_fn picked, void *ud)
{
    for (size_t i = 0; i < n; i++) {
        dlq_replay_item *it = &items[i];
        const dlq_entry *e = it->e;
        if (!e->event_id && !(picked && picked(e, ud))) {
            /* garbage in bulk would only be dead-lettered again: on request only */
            it->state = DLQ_REPLAY_SKIPPED;
            continue;
        }
        for (size_t k = 0; k < i; k++) {
            if ((items[k].state == DLQ_REPLAY_PENDING ||
                 (items[k].state == DLQ_REPLAY_SKIPPED && items[k].same_as)) &&
                same_event(items[k].e, e)) {
                it->state = DLQ_REPLAY_SKIPPED;
                it->same_as = items[k].same_as ? items[k].same_as : &items[k];
                break;
            }
        }
        if (it->state == DLQ_REPLAY_SKIPPED)
            continue;
        if (!e->orig_topic || !e->orig_topic[0])
            snprintf(it->why, sizeof(it->why), "it has no kafka_dlt-original-topic header");
        else if (e->truncated)
            snprintf(it->why, sizeof(it->why),
                     "its payload was cut to the dead-letter size limit (saga-payload-truncated)");
        if (it->why[0])
            it->state = DLQ_REPLAY_REFUSED;
    }
}

/* The partition count of every topic, from one metadata request for all topics (a
 * request naming a topic could create it on a broker that auto-creates topics). */
static int topics_load(rd_kafka_t *rk, int timeout_ms, const rd_kafka_metadata_t **md, char *err,
                       size_t errlen)
{
    rd_kafka_resp_err_t kerr = rd_kafka_metadata(rk, 1, NULL, md, timeout_ms);
    if (kerr) {
        snprintf(err, errlen, "cannot read the topics from kafka: %s", rd_kafka_err2str(kerr));
        return SAGA_ERR_UNAVAILABLE;
    }
    return SAGA_OK;
}

/* Partitions of topic in md; -1 if it does not exist. */
static int topic_partitions(const rd_kafka_metadata_t *md, const char *topic)
{
    for (int i = 0; i < md->topic_cnt; i++) {
        if (!strcmp(md->topics[i].topic, topic))
            return md->topics[i].err ? -1 : md->topics[i].partition_cnt;
    }
    return -1;
}

/* The headers of the replayed message (see the file comment). NULL: no memory. */
static rd_kafka_headers_t *headers_make(const dlq_replay_opts *o, const dlq_entry *e)
{
    rd_kafka_headers_t *h = rd_kafka_headers_new(8);
    const char *name;
    const void *val;
    size_t size;
    char from[320];
    bool has_content_type = false, has_corr = false;

    if (!h)
        return NULL;
    for (size_t i = 0; e->headers && !rd_kafka_header_get_all(e->headers, i, &name, &val, &size);
         i++) {
        bool keep = !strcmp(name, "content-type") || !strcmp(name, "correlationid") ||
                    !strcmp(name, "traceparent") || !strcmp(name, "tracestate");
        if (!keep)
            continue;
        has_content_type |= !strcmp(name, "content-type");
        has_corr |= !strcmp(name, "correlationid");
        rd_kafka_header_add(h, name, -1, val, (ssize_t)size);
    }
    if (e->event_id && !has_content_type)
        rd_kafka_header_add(h, "content-type", -1, SAGA_CE_CONTENT_TYPE, -1);
    if (e->correlation_id && !has_corr)
        rd_kafka_header_add(h, "correlationid", -1, e->correlation_id, -1);
    rd_kafka_header_add(h, HDR_REPLAYED_FROM, -1, dlq_replay_where(o, e, from, sizeof(from)), -1);
    return h;
}

/* Delivery report: the item is the message's opaque. */
static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *rkm, void *opaque)
{
    dlq_replay_item *it = rkm->_private;
    (void)rk;
    (void)opaque;
    if (!it)
        return;
    if (rkm->err) {
        it->state = DLQ_REPLAY_FAILED;
        snprintf(it->why, sizeof(it->why), "not delivered: %s", rd_kafka_err2str(rkm->err));
    } else {
        it->state = DLQ_REPLAY_DELIVERED;
        it->new_partition = rkm->partition;
        it->new_offset = rkm->offset;
    }
}

static rd_kafka_t *producer_new(const dlq_replay_opts *o, char *err, size_t errlen)
{
    char timeout[32], errstr[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_t *rk;

    snprintf(timeout, sizeof(timeout), "%ld", o->timeout_ms);
    /* the services' producers use librdkafka's default partitioner (consistent_random);
     * it only matters when the original partition no longer exists */
    if (rd_kafka_conf_set(conf, "bootstrap.servers", o->bootstrap, errstr, sizeof(errstr)) ||
        rd_kafka_conf_set(conf, "client.id", o->client_id, errstr, sizeof(errstr)) ||
        rd_kafka_conf_set(conf, "enable.idempotence", "true", errstr, sizeof(errstr)) ||
        rd_kafka_conf_set(conf, "acks", "all", errstr, sizeof(errstr)) ||
        rd_kafka_conf_set(conf, "linger.ms", "5", errstr, sizeof(errstr)) ||
        rd_kafka_conf_set(conf, "message.timeout.ms", timeout, errstr, sizeof(errstr)) ||
        rd_kafka_conf_set(conf, "partitioner", "consistent_random", errstr, sizeof(errstr)) ||
        rd_kafka_conf_set(conf, "log_level", "3", errstr, sizeof(errstr))) {
        snprintf(err, errlen, "kafka configuration: %s", errstr);
        rd_kafka_conf_destroy(conf);
        return NULL;
    }
    rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
    if (!(rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr)))) {
        snprintf(err, errlen, "kafka producer: %s", errstr);
        rd_kafka_conf_destroy(conf);
        return NULL;
    }
    return rk; /* conf is now owned by rk */
}

/* Produces one item; on a full queue serves delivery reports and tries again. */
static void item_produce(rd_kafka_t *rk, const dlq_replay_opts *o, dlq_replay_item *it)
{
    const dlq_entry *e = it->e;
    rd_kafka_headers_t *hdrs = headers_make(o, e);
    rd_kafka_resp_err_t kerr;

    if (!hdrs) {
        it->state = DLQ_REPLAY_FAILED;
        snprintf(it->why, sizeof(it->why), "out of memory");
        return;
    }
    it->state = DLQ_REPLAY_QUEUED; /* before producev: a report may come during the poll below */
    for (;;) {
        kerr = rd_kafka_producev(
            rk, RD_KAFKA_V_TOPIC(e->orig_topic), RD_KAFKA_V_PARTITION(it->partition),
            RD_KAFKA_V_KEY(e->key, e->key_len), RD_KAFKA_V_VALUE(e->payload, e->len),
            RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_HEADERS(hdrs),
            RD_KAFKA_V_OPAQUE(it), RD_KAFKA_V_END);
        if (kerr != RD_KAFKA_RESP_ERR__QUEUE_FULL)
            break;
        rd_kafka_poll(rk, 100);
    }
    if (kerr) {
        rd_kafka_headers_destroy(hdrs); /* not taken over on failure */
        it->state = DLQ_REPLAY_FAILED;
        snprintf(it->why, sizeof(it->why), "cannot produce to %s: %s", e->orig_topic,
                 rd_kafka_err2str(kerr));
    }
    /* on success hdrs is now owned by the message */
}

int dlq_replay_send(const dlq_replay_opts *o, dlq_replay_item *items, size_t n, char *err,
                    size_t errlen)
{
    const rd_kafka_metadata_t *md = NULL;
    rd_kafka_t *rk = NULL;
    int rc;

    if (!(rk = producer_new(o, err, errlen)))
        return SAGA_ERR_UNAVAILABLE;
    if ((rc = topics_load(rk, (int)o->timeout_ms, &md, err, errlen)))
        goto out;
    for (size_t i = 0; i < n; i++) {
        dlq_replay_item *it = &items[i];
        if (it->state != DLQ_REPLAY_PENDING)
            continue;
        int nparts = topic_partitions(md, it->e->orig_topic);
        if (nparts < 0) {
            it->state = DLQ_REPLAY_FAILED;
            snprintf(it->why, sizeof(it->why), "topic %s does not exist", it->e->orig_topic);
            continue;
        }
        it->partition = it->e->orig_partition >= 0 && it->e->orig_partition < nparts
                            ? it->e->orig_partition
                            : RD_KAFKA_PARTITION_UA;
        item_produce(rk, o, it);
    }
    rd_kafka_flush(rk, (int)o->timeout_ms);
    if (rd_kafka_outq_len(rk) > 0) {
        rd_kafka_purge(rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
        rd_kafka_poll(rk, 0); /* the purged messages' reports */
    }
    for (size_t i = 0; i < n; i++) {
        if (items[i].state == DLQ_REPLAY_QUEUED) {
            items[i].state = DLQ_REPLAY_FAILED;
            snprintf(items[i].why, sizeof(items[i].why), "no delivery report within %ld ms",
                     o->timeout_ms);
        }
    }
    rc = SAGA_OK;
out:
    if (md)
        rd_kafka_metadata_destroy(md);
    rd_kafka_destroy(rk);
    return rc;
}

void dlq_replay_sort(dlq_replay_item *items, size_t n)
{
    qsort(items, n, sizeof(*items), item_cmp);
}
