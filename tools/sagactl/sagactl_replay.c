/* sagactl_replay.c - `sagactl dlq replay`: re-publishes dead letters to their
 * original topic.
 *
 * Each selected entry's payload goes, byte for byte, to its original topic and
 * partition (kafka_dlt-original-topic/-partition; the key's partition when that
 * partition no longer exists) with its original key, so it lands among the other
 * events of its order. Headers: the entry's content-type, correlationid,
 * traceparent and tracestate; the content-type and correlationid the outbox would
 * have set when the entry lacks them and the payload is a valid envelope (a
 * structured-mode CloudEvent: application/cloudevents+json); and
 * saga-replayed-from: <dlq topic>/<partition>/<offset>. The dead-letter headers
 * themselves (kafka_dlt-*, saga-service, ...) are not copied, nor ce_* headers
 * (dead letters written before events carried a content-type kept the partial
 * binary-mode ce_id and ce_type, which would make a CloudEvents SDK misread the
 * event).
 *
 * Entries of one event (one event id; or one original message when the payload is
 * not a valid envelope) are replayed once per run, the oldest; entries are replayed
 * in their original topic, partition and offset order. An entry whose payload is
 * not a valid event is replayed only when --offset names it: in bulk (--service,
 * --all) it would only be dead-lettered again. */
#include "sagactl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "saga/err.h"
#include "saga/outbox.h"

#define HDR_REPLAYED_FROM "saga-replayed-from"

typedef enum item_state {
    ITEM_PENDING = 0, /* to be produced */
    ITEM_SKIPPED,     /* the same event as an earlier item (same_as), or not picked by
                         --offset while its payload is not a valid event */
    ITEM_REFUSED,     /* cannot be replayed (why says why) */
    ITEM_QUEUED,      /* produced, waiting for its delivery report */
    ITEM_DELIVERED,
    ITEM_FAILED, /* produce or delivery failed (why) */
} item_state;

typedef struct replay_item {
    dlq_entry *e;
    item_state state;
    const struct replay_item *same_as; /* ITEM_SKIPPED: the item replayed instead, or NULL */
    int32_t partition;                 /* target partition, RD_KAFKA_PARTITION_UA: by key */
    int64_t new_offset;                /* ITEM_DELIVERED: where it landed */
    int32_t new_partition;
    char why[256];
} replay_item;

/* Original topic, partition, offset; then saga-dlq position (the oldest first). */
static int item_cmp(const void *a, const void *b)
{
    const dlq_entry *x = ((const replay_item *)a)->e, *y = ((const replay_item *)b)->e;
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
 * original message. */
static bool same_event(const dlq_entry *a, const dlq_entry *b)
{
    if (a->event_id || b->event_id)
        return a->event_id && b->event_id && !strcmp(a->event_id, b->event_id);
    return a->orig_topic && b->orig_topic && !strcmp(a->orig_topic, b->orig_topic) &&
           a->orig_partition >= 0 && a->orig_partition == b->orig_partition &&
           a->orig_offset >= 0 && a->orig_offset == b->orig_offset;
}

/* "saga-dlq/0/5" */
static const char *where(const sagactl_opts *o, const dlq_entry *e, char *buf, size_t len)
{
    snprintf(buf, len, "%s/%d/%lld", o->topic, (int)e->partition, (long long)e->offset);
    return buf;
}

/* Reports --event-id and --offset values that selected nothing. Returns how many. */
static size_t report_unmatched(const sagactl_opts *o, const dlq_list *l)
{
    size_t missing = 0;
    char id[300];
    const char *narrowed = o->service || o->reason ? " (with the --service/--reason given)" : "";

    for (size_t i = 0; i < o->nevent_ids; i++) {
        bool found = false;
        for (size_t k = 0; k < l->n && !found; k++)
            found = l->items[k].event_id && !strcmp(l->items[k].event_id, o->event_ids[i]);
        if (!found) {
            fprintf(stderr, "sagactl: no dead letter on %s has event id %s%s\n", o->topic,
                    sagactl_safe(o->event_ids[i], id, sizeof(id)), narrowed);
            missing++;
        }
    }
    for (size_t i = 0; i < o->npositions; i++) {
        bool found = false;
        for (size_t k = 0; k < l->n && !found; k++)
            found = l->items[k].partition == o->positions[i].partition &&
                    l->items[k].offset == o->positions[i].offset;
        if (!found) {
            fprintf(stderr, "sagactl: no dead letter at %s partition %d offset %lld%s\n", o->topic,
                    (int)o->positions[i].partition, (long long)o->positions[i].offset, narrowed);
            missing++;
        }
    }
    return missing;
}

/* True if --offset names e's position on saga-dlq. */
static bool picked_by_offset(const sagactl_opts *o, const dlq_entry *e)
{
    for (size_t i = 0; i < o->npositions; i++) {
        if (o->positions[i].partition == e->partition && o->positions[i].offset == e->offset)
            return true;
    }
    return false;
}

/* Decides, before anything is produced, what happens to each item. */
static void items_plan(const sagactl_opts *o, replay_item *items, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        replay_item *it = &items[i];
        const dlq_entry *e = it->e;
        if (!e->event_id && !picked_by_offset(o, e)) {
            /* garbage in bulk would only be dead-lettered again: on request only */
            it->state = ITEM_SKIPPED;
            continue;
        }
        for (size_t k = 0; k < i; k++) {
            if ((items[k].state == ITEM_PENDING ||
                 (items[k].state == ITEM_SKIPPED && items[k].same_as)) &&
                same_event(items[k].e, e)) {
                it->state = ITEM_SKIPPED;
                it->same_as = items[k].same_as ? items[k].same_as : &items[k];
                break;
            }
        }
        if (it->state == ITEM_SKIPPED)
            continue;
        if (!e->orig_topic || !e->orig_topic[0])
            snprintf(it->why, sizeof(it->why), "it has no kafka_dlt-original-topic header");
        else if (e->truncated)
            snprintf(it->why, sizeof(it->why),
                     "its payload was cut to the dead-letter size limit (saga-payload-truncated)");
        if (it->why[0])
            it->state = ITEM_REFUSED;
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
static rd_kafka_headers_t *headers_make(const sagactl_opts *o, const dlq_entry *e)
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
    rd_kafka_header_add(h, HDR_REPLAYED_FROM, -1, where(o, e, from, sizeof(from)), -1);
    return h;
}

/* Delivery report: the item is the message's opaque. */
static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *rkm, void *opaque)
{
    replay_item *it = rkm->_private;
    (void)rk;
    (void)opaque;
    if (!it)
        return;
    if (rkm->err) {
        it->state = ITEM_FAILED;
        snprintf(it->why, sizeof(it->why), "not delivered: %s", rd_kafka_err2str(rkm->err));
    } else {
        it->state = ITEM_DELIVERED;
        it->new_partition = rkm->partition;
        it->new_offset = rkm->offset;
    }
}

static rd_kafka_t *producer_new(const sagactl_opts *o, char *err, size_t errlen)
{
    char timeout[32], errstr[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_t *rk;

    snprintf(timeout, sizeof(timeout), "%ld", o->timeout_ms);
    /* the services' producers use librdkafka's default partitioner (consistent_random);
     * it only matters when the original partition no longer exists */
    if (rd_kafka_conf_set(conf, "bootstrap.servers", o->bootstrap, errstr, sizeof(errstr)) ||
        rd_kafka_conf_set(conf, "client.id", "sagactl", errstr, sizeof(errstr)) ||
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
static void item_produce(rd_kafka_t *rk, const sagactl_opts *o, replay_item *it)
{
    const dlq_entry *e = it->e;
    rd_kafka_headers_t *hdrs = headers_make(o, e);
    rd_kafka_resp_err_t kerr;

    if (!hdrs) {
        it->state = ITEM_FAILED;
        snprintf(it->why, sizeof(it->why), "out of memory");
        return;
    }
    it->state = ITEM_QUEUED; /* before producev: a report may come during the poll below */
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
        it->state = ITEM_FAILED;
        snprintf(it->why, sizeof(it->why), "cannot produce to %s: %s", e->orig_topic,
                 rd_kafka_err2str(kerr));
    }
    /* on success hdrs is now owned by the message */
}

/* Produces every pending item and waits for the reports (up to the timeout; what
 * is still queued then is purged and fails). Returns SAGA_OK or an error that
 * stopped everything (err). */
static int items_send(const sagactl_opts *o, replay_item *items, size_t n, char *err, size_t errlen)
{
    const rd_kafka_metadata_t *md = NULL;
    rd_kafka_t *rk = NULL;
    int rc;

    if (!(rk = producer_new(o, err, errlen)))
        return SAGA_ERR_UNAVAILABLE;
    if ((rc = topics_load(rk, (int)o->timeout_ms, &md, err, errlen)))
        goto out;
    for (size_t i = 0; i < n; i++) {
        replay_item *it = &items[i];
        if (it->state != ITEM_PENDING)
            continue;
        int nparts = topic_partitions(md, it->e->orig_topic);
        if (nparts < 0) {
            it->state = ITEM_FAILED;
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
        if (items[i].state == ITEM_QUEUED) {
            items[i].state = ITEM_FAILED;
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

/* What was replayed, for the report: "InventoryReserved event <id> order <id>", or
 * "(not a valid event; key <key>)". */
static const char *what(const dlq_entry *e, char *buf, size_t len)
{
    char a[128], b[300], c[300], *key = NULL;

    if (e->event_id) {
        snprintf(buf, len, "%s event %s order %s", sagactl_safe(e->event_type, a, sizeof(a)),
                 sagactl_safe(e->event_id, b, sizeof(b)), sagactl_safe(e->order_id, c, sizeof(c)));
        return buf;
    }
    if (e->key && (key = malloc(e->key_len + 1))) {
        memcpy(key, e->key, e->key_len);
        key[e->key_len] = '\0';
    }
    snprintf(buf, len, "(not a valid event; key %s)", sagactl_safe(key, c, sizeof(c)));
    free(key);
    return buf;
}

/* One line per item (stdout; failures on stderr) and the summary (stdout). Returns
 * the number of items that failed or were refused. */
static size_t items_report(const sagactl_opts *o, const replay_item *items, size_t n)
{
    size_t done = 0, skipped = 0, failed = 0;
    char w[320], w2[320], desc[800], topic[300];

    for (size_t i = 0; i < n; i++) {
        const replay_item *it = &items[i];
        const dlq_entry *e = it->e;
        where(o, e, w, sizeof(w));
        what(e, desc, sizeof(desc));
        sagactl_safe(e->orig_topic, topic, sizeof(topic));
        switch (it->state) {
        case ITEM_SKIPPED:
            skipped++;
            if (it->same_as)
                printf("skipped %s: the same event as %s\n", w,
                       where(o, it->same_as->e, w2, sizeof(w2)));
            else
                printf("skipped %s: not a valid event; to replay it anyway: --offset %d:%lld\n", w,
                       (int)e->partition, (long long)e->offset);
            break;
        case ITEM_PENDING: /* dry run */
            done++;
            if (e->orig_partition >= 0)
                printf("would replay %s -> %s/%d %s\n", w, topic, (int)e->orig_partition, desc);
            else
                printf("would replay %s -> %s %s\n", w, topic, desc);
            break;
        case ITEM_DELIVERED:
            done++;
            printf("replayed %s -> %s/%d/%lld %s\n", w, topic, (int)it->new_partition,
                   (long long)it->new_offset, desc);
            break;
        default:
            failed++;
            fprintf(stderr, "sagactl: cannot replay %s: %s\n", w, it->why);
            break;
        }
    }
    printf("%s %zu of %zu selected dead letters (%zu skipped, %zu failed)\n",
           o->dry_run ? "would replay" : "replayed", done, n, skipped, failed);
    return failed;
}

int sagactl_dlq_replay(const sagactl_opts *o)
{
    dlq_list l;
    replay_item *items = NULL;
    char err[768] = "";
    size_t missing, failed;
    int status = SAGACTL_EXIT_FAILED;

    if (dlq_list_read(o, &l, err, sizeof(err))) {
        fprintf(stderr, "sagactl: %s\n", err);
        return SAGACTL_EXIT_FAILED;
    }
    if (l.topic_missing)
        fprintf(stderr, "sagactl: topic %s does not exist: no dead letters yet\n", o->topic);
    missing = report_unmatched(o, &l);
    if (l.n == 0) {
        printf("nothing to replay: no dead letters selected\n");
        status = missing ? SAGACTL_EXIT_FAILED : SAGACTL_EXIT_OK;
        goto out;
    }
    if (!(items = calloc(l.n, sizeof(*items)))) {
        fprintf(stderr, "sagactl: out of memory\n");
        goto out;
    }
    for (size_t i = 0; i < l.n; i++)
        items[i].e = &l.items[i];
    qsort(items, l.n, sizeof(*items), item_cmp);
    items_plan(o, items, l.n);
    if (!o->dry_run && items_send(o, items, l.n, err, sizeof(err))) {
        fprintf(stderr, "sagactl: %s\n", err);
        goto out;
    }
    failed = items_report(o, items, l.n);
    status = failed || missing ? SAGACTL_EXIT_FAILED : SAGACTL_EXIT_OK;
out:
    free(items);
    dlq_list_free(&l);
    return status;
}
