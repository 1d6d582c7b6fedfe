/* console_scan.c - one order's messages on every topic (see console_key_scan in
 * console.h): the producers key every event by order id with librdkafka's default
 * partitioner, so each topic holds them on one partition, the one the key hashes
 * to; only that partition is read, from about the order's creation, and at most
 * cfg.scan_max messages of it. */
#include "console.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dlq_reader.h"
#include "saga/err.h"

typedef struct scan_state {
    const char *key;
    size_t key_len;
    int topic;
    struct console_scan_cache *e;
    bool oom;
} scan_state;

static void scan_one(const rd_kafka_message_t *rkm, void *ud)
{
    scan_state *st = ud;
    bool dlq = st->topic == CONSOLE_NTOPICS - 1;
    cJSON *m;
    if (st->oom || !rkm->key || rkm->key_len != st->key_len ||
        memcmp(rkm->key, st->key, st->key_len) != 0)
        return;
    if (cJSON_GetArraySize(st->e->msgs) >= CONSOLE_SCAN_KEEP) {
        st->e->capped = true;
        return;
    }
    m = dlq ? console_dlq_entry_json(rkm) : console_message_json(rkm);
    if (!m || !cJSON_AddStringToObject(m, "kind", dlq ? "dead-letter" : "event") ||
        !cJSON_AddNumberToObject(m, "topicIndex", st->topic) ||
        !cJSON_AddItemToArray(st->e->msgs, m)) {
        cJSON_Delete(m);
        st->oom = true;
    }
}

static int partition_count(const rd_kafka_metadata_t *md, const char *topic)
{
    for (int i = 0; i < md->topic_cnt; i++) {
        if (!strcmp(md->topics[i].topic, topic))
            return md->topics[i].err ? 0 : md->topics[i].partition_cnt;
    }
    return 0;
}

static void take_timestamp(const rd_kafka_message_t *rkm, void *ud)
{
    *(int64_t *)ud = rd_kafka_message_timestamp(rkm, NULL);
}

/* The timestamp of the message at offset (-1 if it cannot be read). */
static int64_t timestamp_at(console *c, rd_kafka_t *rk, const char *topic, int32_t partition,
                            int64_t offset)
{
    int64_t start[CONSOLE_MAX_PARTITIONS] = {0}, end[CONSOLE_MAX_PARTITIONS] = {0}, ts = -1;
    char err[256];
    start[partition] = offset;
    end[partition] = offset + 1;
    if (dlq_reader_read(rk, topic, partition + 1, start, end, c->cfg.timeout_ms, take_timestamp,
                        &ts, err, sizeof(err)) != SAGA_OK)
        return -1;
    return ts;
}

/* The first offset in [low, high) of a message at or after time ms; high when there
 * is none. Kafka answers it (ListOffsets by time); librdkafka's mock cluster, the
 * local broker, always answers "none", so then it is found by bisection on the
 * messages' timestamps (about log2(high - low) one-message reads). */
static int64_t offset_at(console *c, rd_kafka_t *rk, const char *topic, int32_t partition,
                         int64_t ms, int64_t low, int64_t high)
{
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
    int64_t off = -1, lo = low, hi = high;
    if (!l)
        return low;
    rd_kafka_topic_partition_list_add(l, topic, partition)->offset = ms;
    if (rd_kafka_offsets_for_times(rk, l, (int)c->cfg.timeout_ms) == RD_KAFKA_RESP_ERR_NO_ERROR &&
        !l->elems[0].err && l->elems[0].offset >= 0)
        off = l->elems[0].offset;
    rd_kafka_topic_partition_list_destroy(l);
    if (off >= 0 || high <= low)
        return off >= 0 ? off : high;
    /* "none": true only if the newest message is older than ms */
    int64_t last = timestamp_at(c, rk, topic, partition, high - 1);
    if (last >= 0 && last < ms)
        return high;
    while (lo < hi) { /* the first offset whose timestamp is >= ms */
        int64_t mid = lo + (hi - lo) / 2, ts = timestamp_at(c, rk, topic, partition, mid);
        if (ts < 0)
            return low; /* unreadable: read from the start, bounded by scan_max */
        if (ts < ms)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* key's entry for since_ms, or the oldest entry made over for it (NULL: no memory). */
static struct console_scan_cache *scan_entry(console *c, const char *key, int64_t since_ms)
{
    const size_t n = sizeof(c->scans) / sizeof(c->scans[0]);
    for (size_t i = 0; i < n; i++) {
        if (c->scans[i].since_ms == since_ms && !strcmp(c->scans[i].key, key))
            return &c->scans[i];
    }
    struct console_scan_cache *e = &c->scans[c->scans_next++ % n];
    cJSON_Delete(e->msgs);
    memset(e, 0, sizeof(*e));
    if (!(e->msgs = cJSON_CreateArray()))
        return NULL;
    snprintf(e->key, sizeof(e->key), "%s", key);
    e->since_ms = since_ms;
    for (int t = 0; t < CONSOLE_NTOPICS; t++)
        e->next[t] = -1;
    return e;
}

void console_scan_free(console *c)
{
    for (size_t i = 0; i < sizeof(c->scans) / sizeof(c->scans[0]); i++) {
        cJSON_Delete(c->scans[i].msgs);
        memset(&c->scans[i], 0, sizeof(c->scans[i]));
    }
}

int console_key_scan(console *c, const char *key, int64_t since_ms, cJSON **out, bool *partial,
                     bool *capped, char *err, size_t errlen)
{
    const rd_kafka_metadata_t *md = NULL;
    scan_state st = {.key = key, .key_len = strlen(key)};
    int64_t start[CONSOLE_MAX_PARTITIONS], end[CONSOLE_MAX_PARTITIONS];
    struct console_scan_cache *e;
    rd_kafka_resp_err_t kerr;
    rd_kafka_t *rk;
    int rc = SAGA_OK;

    *out = NULL;
    *partial = *capped = false;
    pthread_mutex_lock(&c->kafka_lock);
    if (!(e = st.e = scan_entry(c, key, since_ms))) {
        snprintf(err, errlen, "out of memory");
        rc = SAGA_ERR_NOMEM;
        goto out;
    }
    if (!(rk = console_reader(c, err, errlen))) {
        rc = SAGA_ERR_UNAVAILABLE;
        goto out;
    }
    if ((kerr = rd_kafka_metadata(rk, 1, NULL, &md, (int)c->cfg.timeout_ms))) {
        snprintf(err, errlen, "cannot read the topics from kafka: %s", rd_kafka_err2str(kerr));
        rc = SAGA_ERR_UNAVAILABLE;
        goto out;
    }
    for (int t = 0; t < CONSOLE_NTOPICS; t++) {
        const char *topic = c->cfg.topics[t];
        int cnt = partition_count(md, topic);
        int64_t low = 0, high = 0;
        if (cnt <= 0 || cnt > CONSOLE_MAX_PARTITIONS)
            continue; /* not created yet: nothing on it */
        rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);
        if (!rkt) {
            snprintf(err, errlen, "kafka topic %s: %s", topic,
                     rd_kafka_err2str(rd_kafka_last_error()));
            rc = SAGA_ERR_UNAVAILABLE;
            goto out;
        }
        int32_t p =
            rd_kafka_msg_partitioner_consistent_random(rkt, key, st.key_len, cnt, NULL, NULL);
        rd_kafka_topic_destroy(rkt);
        if ((kerr = rd_kafka_query_watermark_offsets(rk, topic, p, &low, &high,
                                                     (int)c->cfg.timeout_ms))) {
            snprintf(err, errlen, "cannot read the offsets of %s [%d]: %s", topic, (int)p,
                     rd_kafka_err2str(kerr));
            rc = SAGA_ERR_UNAVAILABLE;
            goto out;
        }
        int64_t from = e->next[t];
        if (from < 0) { /* the first read of this key on this topic */
            if (since_ms >= 0) {
                /* every later message is newer: "none yet" means from the end */
                from = offset_at(c, rk, topic, p, since_ms, low, high);
            } else {
                from = high - c->cfg.scan_max;
                if (from > low)
                    e->partial = true; /* older messages left unread */
            }
        } else if (from < low) {
            e->partial = true; /* the broker dropped messages before they were read */
        }
        if (from < low)
            from = low;
        int64_t to = from + c->cfg.scan_max < high ? from + c->cfg.scan_max : high;
        for (int i = 0; i <= p; i++)
            start[i] = end[i] = 0;
        start[p] = from;
        end[p] = to;
        st.topic = t;
        if ((rc = dlq_reader_read(rk, topic, p + 1, start, end, c->cfg.timeout_ms, scan_one, &st,
                                  err, errlen)))
            goto out;
        if (st.oom) {
            snprintf(err, errlen, "out of memory");
            rc = SAGA_ERR_NOMEM;
            goto out;
        }
        e->next[t] = to;
        *partial = *partial || to < high;
    }
    if (!(*out = cJSON_Duplicate(e->msgs, true))) {
        snprintf(err, errlen, "out of memory");
        rc = SAGA_ERR_NOMEM;
    }
    *partial = *partial || e->partial;
    *capped = e->capped;
out:
    if (md)
        rd_kafka_metadata_destroy(md);
    pthread_mutex_unlock(&c->kafka_lock);
    return rc;
}
