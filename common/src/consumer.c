/* consumer.c - the batching consumer loop (see consumer.h). */
#include "saga/consumer.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "saga/backoff.h"
#include "saga/clock.h"
#include "saga/err.h"
#include "saga/fault.h"
#include "saga/inbox.h"
#include "saga/kafka.h"
#include "saga/log.h"
#include "saga/metrics.h"
#include "saga/outbox.h"
#include "saga/prefetch.h"
#include "saga/write_batch.h"
#include "saga/text.h"

#define DLQ_TOPIC "saga-dlq"
/* Larger events are refused; a dead letter keeps at most this much of the payload. */
#define EVENT_MAX_BYTES (256 * 1024)

/* Why a message was dead-lettered: the kafka_dlt-exception-fqcn header. */
typedef enum dlq_reason {
    DLQ_NONE = 0,
    DLQ_INVALID_JSON,
    DLQ_INVALID_ENVELOPE,
    DLQ_SCHEMA_VIOLATION,
    DLQ_UNKNOWN_TYPE,
    DLQ_UNKNOWN_VERSION,
    DLQ_TOO_LARGE,
    DLQ_HANDLER_REJECTED,
    DLQ_HANDLER_FAILED,
    DLQ_REASON_COUNT
} dlq_reason;

static const char *const dlq_reason_names[DLQ_REASON_COUNT] = {
    "", "INVALID_JSON", "INVALID_ENVELOPE", "SCHEMA_VIOLATION", "UNKNOWN_TYPE",
    "UNKNOWN_VERSION", "TOO_LARGE", "HANDLER_REJECTED", "HANDLER_FAILED",
};

/* The offset committed last on one partition, for the lag metric. */
typedef struct partition_progress {
    char topic[128];
    int32_t partition;
    int64_t committed; /* next offset to process */
    bool group_asked;  /* the group's committed offset was asked for (collect_lag) */
    saga_metric *lag;
} partition_progress;

#define MAX_TRACKED_PARTITIONS 512

/* One message of the batch in hand. */
typedef struct batch_msg {
    rd_kafka_message_t *rkm;
    saga_event *ev;            /* NULL if it could not be parsed */
    saga_event_handler_fn fn;  /* NULL: nothing to do here */
    size_t handler;            /* index of fn in opts.handlers */
    bool applied;              /* applied (not a duplicate) in the current attempt */
    bool seen_before;          /* the inbox knows its id: skip it (this attempt) */
    dlq_reason dlq;
    int attempts;              /* failed attempts of this message alone */
    bool dead_lettered;        /* written to saga-dlq in the current attempt */
    bool dlq_plain;            /* writing the dead letter with its details failed: write
                                  it without them */
    char traceparent[64];      /* from the message's headers, "" if none */
    char why[512];
} batch_msg;

struct saga_consumer {
    saga_consumer_opts opts;
    const saga_config *cfg;
    rd_kafka_t *rk;
    rd_kafka_queue_t *queue;
    saga_db *db;
    atomic_bool running;
    unsigned seed;
    batch_msg *batch;
    size_t nbatch;
    /* the batch's event ids claimed in the inbox at once: batch_max slots each */
    const char **claim_ids;
    const char **claim_types;
    bool *claim_seen;
    size_t *claim_at; /* index in batch */
    /* the keys of one declared row lock (saga_handler.prefetch) for the batch */
    const char **prefetch_keys;
    size_t prefetch_cap;
    /* the rows those locks read, answering the handlers' reads: on db for its life */
    saga_prefetch *reads;
    /* rows the batch inserts (outbox rows, handlers' saga_db_insert), written
     * together before the commit */
    saga_write_batch *writes;
    /* set after a failed flush: the retry inserts each row at once, so a failure
     * is pinned on the message that caused it */
    bool writes_direct;
    saga_metric *batch_size, *tx_seconds, *retries;
    saga_metric *dead_letters[DLQ_REASON_COUNT];
    saga_metric **consumed;     /* per handler: events applied */
    saga_metric *duplicates;
    saga_metric *assigned;
    saga_metric *lag_total;
    pthread_mutex_t progress_mu; /* the consumer thread writes, /metrics reads */
    partition_progress progress[MAX_TRACKED_PARTITIONS];
    size_t nprogress;
};

/* The progress slot of a partition, created if new; NULL when the table is full.
 * Call with progress_mu held. */
static partition_progress *progress_slot(saga_consumer *c, const char *topic, int32_t partition)
{
    for (size_t i = 0; i < c->nprogress; i++) {
        if (c->progress[i].partition == partition && strcmp(c->progress[i].topic, topic) == 0)
            return &c->progress[i];
    }
    if (c->nprogress == MAX_TRACKED_PARTITIONS)
        return NULL;
    partition_progress *p = &c->progress[c->nprogress++];
    char labels[192];
    snprintf(p->topic, sizeof(p->topic), "%s", topic);
    p->partition = partition;
    p->committed = -1;
    p->group_asked = false;
    snprintf(labels, sizeof(labels), "topic=\"%s\",partition=\"%d\"", p->topic,
             (int)partition);
    p->lag = saga_metrics_gauge("saga_consumer_lag",
                                "Messages on the partition not yet processed and committed",
                                labels);
    return p;
}

/* Lag of each assigned partition: the high watermark (as of the last fetch) minus
 * the offset committed last. Before this instance has committed on a partition, the
 * offset it works from is its consume position, or, before it has consumed anything
 * there (just started or just given the partition, nothing new on it), the group's
 * committed offset, asked of the broker once per partition (a restarted instance
 * would otherwise count the whole partition as lag). */
#define LAG_COMMITTED_TIMEOUT_MS 1000

static void collect_lag(saga_consumer *c, rd_kafka_topic_partition_list_t *assigned)
{
    double total = 0;
    rd_kafka_topic_partition_list_t *ask = NULL;

    rd_kafka_position(c->rk, assigned);
    pthread_mutex_lock(&c->progress_mu);
    for (int i = 0; i < assigned->cnt; i++) {
        rd_kafka_topic_partition_t *tp = &assigned->elems[i];
        partition_progress *p = progress_slot(c, tp->topic, tp->partition);
        if (p && p->committed < 0 && tp->offset < 0 && !p->group_asked) {
            if (!ask)
                ask = rd_kafka_topic_partition_list_new(assigned->cnt);
            if (ask)
                rd_kafka_topic_partition_list_add(ask, tp->topic, tp->partition);
        }
    }
    pthread_mutex_unlock(&c->progress_mu);
    /* a broker round trip: outside the lock, and only until each partition's first
     * commit or message */
    if (ask && rd_kafka_committed(c->rk, ask, LAG_COMMITTED_TIMEOUT_MS) == RD_KAFKA_RESP_ERR_NO_ERROR) {
        pthread_mutex_lock(&c->progress_mu);
        for (int i = 0; i < ask->cnt; i++) {
            partition_progress *p = progress_slot(c, ask->elems[i].topic, ask->elems[i].partition);
            if (!p)
                continue;
            p->group_asked = true; /* once: a group with no offset here stays at low */
            if (p->committed < 0 && ask->elems[i].offset >= 0)
                p->committed = ask->elems[i].offset;
        }
        pthread_mutex_unlock(&c->progress_mu);
    }
    if (ask)
        rd_kafka_topic_partition_list_destroy(ask);

    pthread_mutex_lock(&c->progress_mu);
    for (size_t i = 0; i < c->nprogress; i++)
        saga_metric_set(c->progress[i].lag, 0); /* partitions no longer ours */
    for (int i = 0; i < assigned->cnt; i++) {
        rd_kafka_topic_partition_t *tp = &assigned->elems[i];
        int64_t low = 0, high = 0;
        if (rd_kafka_get_watermark_offsets(c->rk, tp->topic, tp->partition, &low, &high) != 0)
            continue;
        partition_progress *p = progress_slot(c, tp->topic, tp->partition);
        int64_t done = p && p->committed >= 0 ? p->committed : tp->offset;
        if (done < 0)
            done = low; /* the group has committed nothing here: all of it is to do */
        double lag = high > done ? (double)(high - done) : 0;
        if (p)
            saga_metric_set(p->lag, lag);
        total += lag;
    }
    pthread_mutex_unlock(&c->progress_mu);
    saga_metric_set(c->lag_total, total);
}

/* Before each /metrics render: how many partitions this consumer holds (0 until it
 * has joined its group) and how far behind it is on each (librdkafka's assignment,
 * position and cached watermarks are safe to read from another thread). */
static void collect_assignment(void *ud)
{
    saga_consumer *c = ud;
    rd_kafka_topic_partition_list_t *parts = NULL;
    if (rd_kafka_assignment(c->rk, &parts) == RD_KAFKA_RESP_ERR_NO_ERROR) {
        saga_metric_set(c->assigned, parts->cnt);
        collect_lag(c, parts);
        rd_kafka_topic_partition_list_destroy(parts);
    }
}

/* The handler for an event type, and its index; NULL if this service has none. */
static saga_event_handler_fn handler_for(const saga_consumer *c, const char *type, size_t *index)
{
    for (size_t i = 0; i < c->opts.nhandlers; i++) {
        if (strcmp(c->opts.handlers[i].event_type, type) == 0) {
            *index = i;
            return c->opts.handlers[i].fn;
        }
    }
    return NULL;
}

/* Copies the W3C traceparent header (55 characters when well formed). */
static void read_traceparent(batch_msg *m)
{
    rd_kafka_headers_t *hdrs = NULL;
    const void *value = NULL;
    size_t size = 0;

    m->traceparent[0] = '\0';
    if (rd_kafka_message_headers(m->rkm, &hdrs) == RD_KAFKA_RESP_ERR_NO_ERROR &&
        rd_kafka_header_get_last(hdrs, "traceparent", &value, &size) ==
            RD_KAFKA_RESP_ERR_NO_ERROR &&
        value && size < sizeof(m->traceparent)) {
        memcpy(m->traceparent, value, size);
        m->traceparent[size] = '\0';
    }
}

/* Parses and validates one message; decides what the batch does with it. */
static void classify(saga_consumer *c, batch_msg *m)
{
    const rd_kafka_message_t *rkm = m->rkm;
    const char *schema_id;

    read_traceparent(m); /* dead letters are logged with it too */
    if (rkm->len > EVENT_MAX_BYTES) {
        m->dlq = DLQ_TOO_LARGE;
        snprintf(m->why, sizeof(m->why), "message of %zu bytes is over the %d byte limit",
                 rkm->len, EVENT_MAX_BYTES);
        return;
    }
    if (saga_event_parse(rkm->payload, rkm->len, &m->ev, m->why, sizeof(m->why)) != SAGA_OK) {
        m->dlq = strncmp(m->why, "invalid json", 12) == 0 ? DLQ_INVALID_JSON : DLQ_INVALID_ENVELOPE;
        return;
    }
    if (!saga_schema_type_known(c->opts.schemas, m->ev->type)) {
        m->dlq = DLQ_UNKNOWN_TYPE;
        snprintf(m->why, sizeof(m->why), "unknown event type %s", m->ev->type);
        return;
    }
    schema_id = m->ev->dataschema;
    int rc = schema_id ? saga_schema_validate(c->opts.schemas, schema_id, m->ev->doc, m->why,
                                              sizeof(m->why))
                       : SAGA_ERR_NOT_FOUND;
    if (rc == SAGA_ERR_NOT_FOUND) {
        m->dlq = DLQ_UNKNOWN_VERSION;
        snprintf(m->why, sizeof(m->why), "unknown version of %s: dataschema %s", m->ev->type,
                 schema_id ? schema_id : "missing");
        return;
    }
    if (rc != SAGA_OK) {
        m->dlq = DLQ_SCHEMA_VIOLATION;
        return;
    }
    m->fn = handler_for(c, m->ev->type, &m->handler);
}

static void add_header_i64(cJSON *headers, const char *name, long long v)
{
    char buf[32];
    snprintf(buf, sizeof(buf), "%lld", v);
    cJSON_AddStringToObject(headers, name, buf);
}

/* Keeps the original message's tracing headers on its dead letter, so a replay
 * carries the trace on. (Not its ce_* headers, if it had any: the dead letter is a
 * structured-mode CloudEvent or no CloudEvent at all, never a partial binary one.) */
static void copy_trace_headers(const rd_kafka_message_t *rkm, cJSON *headers)
{
    static const char *const names[] = {"traceparent", "tracestate", "correlationid"};
    rd_kafka_headers_t *hdrs = NULL;

    if (rd_kafka_message_headers(rkm, &hdrs) != RD_KAFKA_RESP_ERR_NO_ERROR)
        return;
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        const void *value = NULL;
        size_t size = 0;
        char text[256];
        if (rd_kafka_header_get_last(hdrs, names[i], &value, &size) != RD_KAFKA_RESP_ERR_NO_ERROR ||
            !value || size >= sizeof(text))
            continue;
        memcpy(text, value, size);
        text[size] = '\0';
        saga_text_clean(text);
        cJSON_AddStringToObject(headers, names[i], text);
    }
}

/* Records the dead letter and queues it for saga-dlq, in the open transaction.
 * A message dead-lettered before (redelivered after a crash) is not sent twice: a
 * dead_letters row is unique per source message, its topic, partition, offset and
 * timestamp (a redelivery keeps its timestamp; a new message at a position an
 * earlier dead letter came from, after the topic's offsets started again at 0, has
 * its own). */
static int dead_letter(saga_consumer *c, batch_msg *m)
{
    const rd_kafka_message_t *rkm = m->rkm;
    const char *topic = rd_kafka_topic_name(rkm->rkt);
    const char *reason = dlq_reason_names[m->dlq];
    cJSON *headers = NULL;
    char *key = NULL;
    uint64_t affected = 0;
    /* -1 when the message has none (and for rows from before it was stored) */
    int64_t timestamp = rd_kafka_message_timestamp(rkm, NULL);
    int rc;

    /* the reason quotes the message, which may hold any bytes */
    saga_text_clean(m->why);
    if (m->dlq_plain)
        snprintf(m->why, sizeof(m->why), "%s (details could not be stored)", reason);

    saga_param p[] = {SAGA_P_STR(topic),
                      SAGA_P_I64(rkm->partition),
                      SAGA_P_I64(rkm->offset),
                      SAGA_P_I64(timestamp),
                      SAGA_P_STR(m->ev ? m->ev->id : NULL),
                      SAGA_P_STR(m->ev ? m->ev->type : NULL),
                      SAGA_P_STR(reason),
                      SAGA_P_STR(m->why),
                      SAGA_P_I64(m->attempts)};
    rc = saga_db_exec(c->db,
                      "INSERT IGNORE INTO dead_letters (src_topic, src_partition, src_offset,"
                      " src_timestamp, event_id, event_type, reason, message, attempts)"
                      " VALUES (?,?,?,?,LEFT(?,255),LEFT(?,255),?,?,?)",
                      p, 9, &affected, NULL);
    if (rc || affected == 0)
        return rc; /* dead-lettered before (a redelivery): nothing more to do */

    /* Spring Kafka's dead-letter header names, values as text */
    if (!(headers = cJSON_CreateObject()))
        return SAGA_ERR_NOMEM;
    cJSON_AddStringToObject(headers, "kafka_dlt-original-topic", topic);
    add_header_i64(headers, "kafka_dlt-original-partition", rkm->partition);
    add_header_i64(headers, "kafka_dlt-original-offset", rkm->offset);
    add_header_i64(headers, "kafka_dlt-original-timestamp", timestamp);
    cJSON_AddStringToObject(headers, "kafka_dlt-original-consumer-group", c->cfg->kafka_group);
    cJSON_AddStringToObject(headers, "kafka_dlt-exception-message", m->why);
    cJSON_AddStringToObject(headers, "kafka_dlt-exception-fqcn", reason);
    cJSON_AddStringToObject(headers, "saga-service", c->cfg->service);
    add_header_i64(headers, "saga-attempts", m->attempts);
    if (rkm->len > EVENT_MAX_BYTES)
        cJSON_AddStringToObject(headers, "saga-payload-truncated", "true");
    /* The payload is the original message: a dead letter whose message parsed as an
     * event is that CloudEvent (structured mode), refused by this consumer for the
     * reason in its kafka_dlt-* headers; anything else is said to be what it is, so
     * that no CloudEvents reader takes it for an event. */
    cJSON_AddStringToObject(headers, "content-type",
                            m->ev                             ? SAGA_CE_CONTENT_TYPE
                            : m->dlq == DLQ_INVALID_ENVELOPE ? "application/json"
                                                             : "application/octet-stream");
    copy_trace_headers(rkm, headers);
    if (rkm->key && rkm->key_len > 0 && rkm->key_len < 256 && (key = malloc(rkm->key_len + 1))) {
        memcpy(key, rkm->key, rkm->key_len);
        key[rkm->key_len] = '\0';
    }
    size_t len = rkm->len > EVENT_MAX_BYTES ? EVENT_MAX_BYTES : rkm->len;
    rc = saga_outbox_add(c->db, DLQ_TOPIC, key, rkm->payload ? rkm->payload : "", len, headers);
    free(key);
    cJSON_Delete(headers);
    m->dead_lettered = rc == SAGA_OK;
    return rc;
}

/* After the commit: count what was applied, count and log what was dead-lettered. */
static void report_batch(saga_consumer *c)
{
    for (size_t i = 0; i < c->nbatch; i++) {
        batch_msg *m = &c->batch[i];
        if (m->applied)
            saga_metric_add(c->consumed[m->handler], 1);
        if (!m->dead_lettered)
            continue;
        saga_metric_add(c->dead_letters[m->dlq], 1);
        saga_log_ids ids = {.event_id = m->ev ? m->ev->id : NULL,
                            .order_id = m->ev ? m->ev->subject : NULL};
        saga_log_trace_set(m->traceparent);
        saga_log_ids(SAGA_LOG_WARN, "consumer.dead_letter", &ids, "%s [%d] @%lld to %s: %s: %s",
                     rd_kafka_topic_name(m->rkm->rkt), (int)m->rkm->partition,
                     (long long)m->rkm->offset, DLQ_TOPIC, dlq_reason_names[m->dlq], m->why);
        saga_log_trace_clear();
    }
}

/* Applies the whole batch in one transaction. On failure *failed is the index of
 * the message that failed, or -1 if the failure was not one message's. */
/* Claims the ids of every event the batch will apply, in a few statements rather
 * than one per event (round trips, not rows, are what a batch costs). */
static int claim_batch(saga_consumer *c)
{
    size_t n = 0;
    for (size_t i = 0; i < c->nbatch; i++) {
        batch_msg *m = &c->batch[i];
        m->seen_before = false;
        if (m->dlq || !m->fn)
            continue;
        c->claim_ids[n] = m->ev->id;
        c->claim_types[n] = m->ev->type;
        c->claim_at[n++] = i;
    }
    if (n == 0)
        return SAGA_OK;
    int rc = saga_inbox_claim_batch(c->db, c->claim_ids, c->claim_types, n, c->claim_seen);
    for (size_t k = 0; rc == SAGA_OK && k < n; k++)
        c->batch[c->claim_at[k]].seen_before = c->claim_seen[k];
    return rc;
}

/* Adds key to the prefetch keys, growing them as needed. */
static int prefetch_key_add(saga_consumer *c, size_t *n, const char *key)
{
    if (*n == c->prefetch_cap) {
        size_t cap = c->prefetch_cap ? 2 * c->prefetch_cap : 256;
        const char **keys = realloc(c->prefetch_keys, cap * sizeof(*keys));
        if (!keys)
            return SAGA_ERR_NOMEM;
        c->prefetch_keys = keys;
        c->prefetch_cap = cap;
    }
    c->prefetch_keys[(*n)++] = key;
    return SAGA_OK;
}

/* Adds the keys spec names in one event's data (strings only: the handler rejects
 * anything else itself). */
static int prefetch_keys_of(saga_consumer *c, size_t *n, const saga_handler_prefetch *spec,
                            const cJSON *data)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(data, spec->field);
    int rc = SAGA_OK;

    if (!spec->item_field)
        return cJSON_IsString(v) ? prefetch_key_add(c, n, v->valuestring) : SAGA_OK;
    if (!cJSON_IsArray(v))
        return SAGA_OK;
    for (const cJSON *item = v->child; item && rc == SAGA_OK; item = item->next) {
        const cJSON *key = cJSON_GetObjectItemCaseSensitive(item, spec->item_field);
        if (cJSON_IsString(key))
            rc = prefetch_key_add(c, n, key->valuestring);
    }
    return rc;
}

static int key_cmp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Takes the row locks the handlers declare, for every event the batch applies:
 * query by query in the order the handler table first names them, each query's
 * keys in order (so two batches lock a table's rows in the same order). */
static int prefetch_batch(saga_consumer *c)
{
    const saga_prefetch_query *done[16];
    size_t ndone = 0;

    for (size_t h = 0; h < c->opts.nhandlers; h++) {
        for (size_t s = 0; s < SAGA_HANDLER_PREFETCH_MAX; s++) {
            const saga_prefetch_query *q = c->opts.handlers[h].prefetch[s].query;
            bool seen = false;
            for (size_t d = 0; d < ndone; d++)
                seen = seen || done[d] == q;
            if (!q || seen || ndone == sizeof(done) / sizeof(done[0]))
                continue;
            done[ndone++] = q;

            size_t n = 0;
            for (size_t i = 0; i < c->nbatch; i++) {
                const batch_msg *m = &c->batch[i];
                if (m->dlq || !m->fn || m->seen_before)
                    continue;
                const saga_handler_prefetch *specs = c->opts.handlers[m->handler].prefetch;
                for (size_t k = 0; k < SAGA_HANDLER_PREFETCH_MAX; k++) {
                    int rc = specs[k].query == q ? prefetch_keys_of(c, &n, &specs[k], m->ev->data)
                                                 : SAGA_OK;
                    if (rc)
                        return rc;
                }
            }
            if (n == 0)
                continue;
            qsort(c->prefetch_keys, n, sizeof(*c->prefetch_keys), key_cmp);
            size_t distinct = 1;
            for (size_t i = 1; i < n; i++)
                if (strcmp(c->prefetch_keys[i], c->prefetch_keys[distinct - 1]) != 0)
                    c->prefetch_keys[distinct++] = c->prefetch_keys[i];
            int rc = saga_db_prefetch(c->db, q, c->prefetch_keys, distinct);
            if (rc)
                return rc;
        }
    }
    return SAGA_OK;
}

static int apply_batch(saga_consumer *c, long *failed)
{
    int rc;
    *failed = -1;

    if ((rc = saga_db_begin(c->db)))
        return rc;
    if (!c->writes_direct &&
        (rc = saga_db_intercept(c->db, saga_write_batch_interceptor(c->writes))))
        goto fail;
    if ((rc = claim_batch(c)) || (rc = prefetch_batch(c)))
        goto fail;
    for (size_t i = 0; i < c->nbatch; i++) {
        batch_msg *m = &c->batch[i];
        m->dead_lettered = false;
        m->applied = false;
        if (m->dlq) {
            if ((rc = dead_letter(c, m))) {
                if (rc != SAGA_ERR_TRANSIENT)
                    *failed = (long)i; /* this dead letter, not the database */
                goto fail;
            }
            continue;
        }
        if (!m->fn)
            continue;
        if (m->seen_before) {
            saga_metric_add(c->duplicates, 1);
            saga_log_ids ids = {.event_id = m->ev->id, .order_id = m->ev->subject};
            saga_log_ids(SAGA_LOG_DEBUG, "consumer.duplicate", &ids, "%s seen before: skipped",
                         m->ev->type);
            continue;
        }
        const rd_kafka_message_t *rkm = m->rkm;
        saga_msg_meta meta = {
            .topic = rd_kafka_topic_name(rkm->rkt),
            .partition = rkm->partition,
            .offset = rkm->offset,
            .timestamp = rd_kafka_message_timestamp(rkm, NULL),
            .traceparent = m->traceparent[0] ? m->traceparent : NULL,
            .err = m->why,
            .errlen = sizeof(m->why),
        };
        m->why[0] = '\0';
        saga_log_trace_set(meta.traceparent); /* the handler's lines carry the event's trace */
        rc = m->fn(c->db, m->ev, &meta, c->opts.ud);
        saga_log_trace_clear();
        if (saga_write_batch_failed(c->writes)) {
            /* kept rows were written before one of this handler's statements, and
             * one failed (whatever the handler made of it): not this event's failure;
             * the rerun inserts each row at once, so its error reaches its handler */
            c->writes_direct = true;
            rc = SAGA_ERR_TRANSIENT;
        }
        if (rc) {
            if (rc != SAGA_ERR_TRANSIENT)
                *failed = (long)i;
            if (!m->why[0])
                snprintf(m->why, sizeof(m->why), "handler failed: %s", saga_rc_str(rc));
            goto fail;
        }
        m->applied = true;
    }
    if (!c->writes_direct && (rc = saga_write_batch_flush(c->db, c->writes))) {
        if (rc != SAGA_ERR_TRANSIENT)
            c->writes_direct = true;
        goto fail;
    }
    saga_db_unintercept(c->db, saga_write_batch_interceptor(c->writes));
    saga_fault_point("consumer.before_db_commit"); /* the batch applied, not committed */
    if ((rc = saga_db_commit(c->db)) == SAGA_OK) {
        c->writes_direct = false;
        return SAGA_OK;
    }
fail:
    saga_db_unintercept(c->db, saga_write_batch_interceptor(c->writes));
    saga_write_batch_discard(c->writes);
    saga_db_rollback(c->db);
    return rc;
}

/* Stores and commits the offset after the last message of each partition. */
static void commit_offsets(saga_consumer *c)
{
    rd_kafka_topic_partition_list_t *offsets = rd_kafka_topic_partition_list_new((int)c->nbatch);
    rd_kafka_resp_err_t kerr;

    for (size_t i = 0; i < c->nbatch; i++) {
        const rd_kafka_message_t *rkm = c->batch[i].rkm;
        rd_kafka_topic_partition_t *tp = rd_kafka_topic_partition_list_find(
            offsets, rd_kafka_topic_name(rkm->rkt), rkm->partition);
        if (!tp)
            tp = rd_kafka_topic_partition_list_add(offsets, rd_kafka_topic_name(rkm->rkt),
                                                   rkm->partition);
        if (rkm->offset + 1 > tp->offset)
            tp->offset = rkm->offset + 1;
    }
    pthread_mutex_lock(&c->progress_mu);
    for (int i = 0; i < offsets->cnt; i++) {
        partition_progress *p =
            progress_slot(c, offsets->elems[i].topic, offsets->elems[i].partition);
        if (p)
            p->committed = offsets->elems[i].offset;
    }
    pthread_mutex_unlock(&c->progress_mu);
    rd_kafka_offsets_store(c->rk, offsets);
    /* async: a commit lost in a crash means a redelivery, which the inbox absorbs */
    kerr = rd_kafka_commit(c->rk, offsets, 1);
    if (kerr)
        LOG_WARN("consumer.commit_failed", "offset commit: %s", rd_kafka_err2str(kerr));
    rd_kafka_topic_partition_list_destroy(offsets);
}

/* Sleeps ms, waking early if the consumer is stopped. It does not poll Kafka: a
 * retry that outlasts max.poll.interval.ms (5 minutes) makes the consumer leave
 * its group, and it rejoins on the next poll (the uncommitted batch is then
 * delivered again, to this or another instance; the inbox absorbs it). */
static void backoff_sleep(saga_consumer *c, long ms)
{
    while (ms > 0 && atomic_load(&c->running)) {
        long step = ms > 100 ? 100 : ms;
        usleep((useconds_t)step * 1000);
        ms -= step;
    }
}

/* Applies the batch until it commits. Returns true if it committed. */
static bool process_batch(saga_consumer *c)
{
    unsigned transient_failures = 0;

    for (size_t i = 0; i < c->nbatch; i++)
        classify(c, &c->batch[i]);

    for (;;) {
        long failed = -1;
        double started = saga_clock_mono_s();
        int rc = apply_batch(c, &failed);
        if (rc == SAGA_OK) {
            saga_metric_observe(c->tx_seconds, saga_clock_mono_s() - started);
            report_batch(c);
            return true;
        }
        saga_metric_add(c->retries, 1);
        if (failed >= 0 && c->batch[failed].dlq) {
            /* the dead letter itself could not be written: write it plainly; if
             * even that fails, keep retrying (loudly) rather than lose it */
            batch_msg *m = &c->batch[failed];
            LOG_ERROR("consumer.dead_letter_failed", "cannot store the dead letter of %s [%d] @%lld: %s",
                      rd_kafka_topic_name(m->rkm->rkt), (int)m->rkm->partition,
                      (long long)m->rkm->offset, saga_db_error(c->db));
            if (m->dlq_plain)
                backoff_sleep(c, saga_backoff_ms(transient_failures++, c->cfg->retry_base_ms,
                                                 c->cfg->retry_max_ms, &c->seed));
            m->dlq_plain = true;
        } else if (failed >= 0) {
            batch_msg *m = &c->batch[failed];
            m->attempts++;
            saga_log_ids ids = {.event_id = m->ev->id, .order_id = m->ev->subject,
                                .correlation_id = m->ev->correlationid};
            saga_log_ids(SAGA_LOG_WARN, "consumer.handler_failed", &ids,
                         "%s failed (attempt %d of %d): %s", m->ev->type, m->attempts,
                         c->cfg->max_attempts, m->why);
            if (rc == SAGA_ERR_INVALID)
                m->dlq = DLQ_HANDLER_REJECTED;
            else if (m->attempts >= c->cfg->max_attempts)
                m->dlq = DLQ_HANDLER_FAILED;
            else
                backoff_sleep(c, saga_backoff_ms((unsigned)m->attempts - 1,
                                                 c->cfg->retry_base_ms, c->cfg->retry_max_ms,
                                                 &c->seed));
        } else {
            long ms = saga_backoff_ms(transient_failures++, c->cfg->retry_base_ms,
                                      c->cfg->retry_max_ms, &c->seed);
            LOG_WARN("consumer.batch_retry",
                     "batch of %zu rolled back (%s: %s); retrying in %ld ms", c->nbatch,
                     saga_rc_str(rc), saga_db_error(c->db), ms);
            backoff_sleep(c, ms);
        }
        if (!atomic_load(&c->running))
            return false; /* not committed: the batch comes back after a restart */
    }
}

static void batch_release(saga_consumer *c)
{
    for (size_t i = 0; i < c->nbatch; i++) {
        saga_event_free(c->batch[i].ev);
        rd_kafka_message_destroy(c->batch[i].rkm);
        memset(&c->batch[i], 0, sizeof(c->batch[i]));
    }
    c->nbatch = 0;
}

/* Keeps real messages, logs and drops error events. */
static void batch_add(saga_consumer *c, rd_kafka_message_t *rkm)
{
    if (rkm->err) {
        if (rkm->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
            LOG_WARN("consumer.error", "%s", rd_kafka_message_errstr(rkm));
        rd_kafka_message_destroy(rkm);
        return;
    }
    c->batch[c->nbatch++].rkm = rkm;
}

/* Waits up to 100 ms for a first message, then gathers what arrives within
 * batch_wait_ms, up to batch_max. */
static void batch_collect(saga_consumer *c)
{
    rd_kafka_message_t *first = rd_kafka_consume_queue(c->queue, 100);
    size_t max = (size_t)c->cfg->batch_max;

    if (!first)
        return;
    batch_add(c, first);
    while (c->nbatch < max) {
        rd_kafka_message_t *more[256];
        size_t want = max - c->nbatch < 256 ? max - c->nbatch : 256;
        ssize_t n = rd_kafka_consume_batch_queue(c->queue, c->cfg->batch_wait_ms, more, want);
        if (n <= 0)
            break;
        for (ssize_t i = 0; i < n; i++)
            batch_add(c, more[i]);
        if ((size_t)n < want)
            break; /* the wait ran out */
    }
}

int saga_consumer_run(saga_consumer *c)
{
    while (atomic_load(&c->running)) {
        batch_collect(c);
        if (c->nbatch == 0)
            continue;
        saga_metric_observe(c->batch_size, (double)c->nbatch);
        if (process_batch(c)) {
            saga_fault_point("consumer.after_db_commit");
            commit_offsets(c);
        }
        batch_release(c);
    }
    return SAGA_OK;
}

void saga_consumer_stop(saga_consumer *c)
{
    atomic_store(&c->running, false);
}

rd_kafka_t *saga_consumer_kafka(saga_consumer *c)
{
    return c->rk;
}

void saga_consumer_free(saga_consumer *c)
{
    if (!c)
        return;
    saga_metrics_off_render(collect_assignment, c);
    batch_release(c);
    if (c->queue)
        rd_kafka_queue_destroy(c->queue);
    if (c->rk) {
        rd_kafka_consumer_close(c->rk);
        rd_kafka_destroy(c->rk);
    }
    saga_db_close(c->db); /* before what is on it */
    saga_prefetch_free(c->reads);
    pthread_mutex_destroy(&c->progress_mu);
    free(c->consumed);
    free(c->batch);
    free(c->claim_ids);
    free(c->claim_types);
    free(c->claim_seen);
    free(c->claim_at);
    free(c->prefetch_keys);
    saga_write_batch_free(c->writes);
    free(c);
}

saga_consumer *saga_consumer_new(const saga_consumer_opts *opts, char *err, size_t errlen)
{
    static const double batch_bounds[] = {1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000};
    saga_consumer *c = calloc(1, sizeof(*c));

    if (!c) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    c->opts = *opts;
    c->cfg = opts->cfg;
    c->seed = saga_backoff_seed(c);
    atomic_init(&c->running, true);
    pthread_mutex_init(&c->progress_mu, NULL);
    size_t cap = (size_t)c->cfg->batch_max;
    if (!(c->batch = calloc(cap, sizeof(*c->batch))) ||
        !(c->claim_ids = calloc(cap, sizeof(*c->claim_ids))) ||
        !(c->claim_types = calloc(cap, sizeof(*c->claim_types))) ||
        !(c->claim_seen = calloc(cap, sizeof(*c->claim_seen))) ||
        !(c->claim_at = calloc(cap, sizeof(*c->claim_at))) ||
        !(c->writes = saga_write_batch_new()) || !(c->reads = saga_prefetch_new())) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    if (!(c->db = saga_db_open(c->cfg, err, errlen)))
        goto fail;
    if (saga_db_intercept(c->db, saga_prefetch_interceptor(c->reads)) != SAGA_OK) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    if (opts->commit_hook)
        saga_db_set_commit_hook(c->db, opts->commit_hook, opts->commit_hook_ud);
    if (!(c->rk = saga_kafka_consumer_new(c->cfg, opts->topics, opts->ntopics, err, errlen)))
        goto fail;
    c->queue = rd_kafka_queue_get_consumer(c->rk);

    c->batch_size = saga_metrics_histogram("saga_consumer_batch_size",
                                           "Messages per consumed batch", "", batch_bounds,
                                           sizeof(batch_bounds) / sizeof(batch_bounds[0]));
    c->tx_seconds = saga_metrics_histogram(
        "saga_consumer_transaction_seconds", "Time to apply and commit one batch", "",
        saga_metrics_latency_bounds, saga_metrics_latency_nbounds);
    c->retries = saga_metrics_counter("saga_consumer_batch_retries_total",
                                      "Batches rolled back and retried", "");
    c->assigned = saga_metrics_gauge("saga_consumer_assigned_partitions",
                                     "Partitions assigned to this instance's consumer", "");
    c->lag_total = saga_metrics_gauge("saga_consumer_total_lag",
                                      "Messages on all assigned partitions not yet processed", "");
    saga_metrics_on_render(collect_assignment, c);
    c->duplicates = saga_metrics_counter("saga_events_duplicate_total",
                                         "Redelivered events skipped by the inbox", "");
    if (!(c->consumed = calloc(opts->nhandlers ? opts->nhandlers : 1, sizeof(*c->consumed)))) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    for (size_t i = 0; i < opts->nhandlers; i++) {
        char labels[96];
        snprintf(labels, sizeof(labels), "type=\"%s\"", opts->handlers[i].event_type);
        c->consumed[i] = saga_metrics_counter("saga_events_consumed_total",
                                              "Events applied, by type", labels);
    }
    for (int r = DLQ_NONE + 1; r < DLQ_REASON_COUNT; r++) {
        char labels[64];
        snprintf(labels, sizeof(labels), "reason=\"%s\"", dlq_reason_names[r]);
        c->dead_letters[r] = saga_metrics_counter("saga_dead_letters_total",
                                                  "Messages sent to saga-dlq", labels);
    }
    return c;
fail:
    saga_consumer_free(c);
    return NULL;
}
