/* outbox.c - the outbox table and the relay that publishes it. */
#include "saga/outbox.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "saga/backoff.h"
#include "saga/clock.h"
#include "saga/err.h"
#include "saga/fault.h"
#include "saga/kafka.h"
#include "saga/log.h"
#include "saga/metrics.h"

#define DELETE_CHUNK 100 /* ids per DELETE; short lists are padded with the last id */

/* --- adding rows --- */

/* A row; type is the event's type, NULL for a message that is not an event. */
static int outbox_insert(saga_db *db, const char *topic, const char *key, const void *payload,
                         size_t len, const cJSON *headers, const char *type)
{
    char *headers_text = NULL;
    int rc;

    if (headers && !(headers_text = cJSON_PrintUnformatted(headers)))
        return SAGA_ERR_NOMEM;
    saga_param p[] = {SAGA_P_STR(topic), key ? SAGA_P_BLOB(key, strlen(key)) : SAGA_P_NULL,
                      SAGA_P_BLOB(payload, len), SAGA_P_STR(headers_text), SAGA_P_STR(type)};
    /* kept for the batch's multi-row INSERT when a consumer's write batch is
     * attached; nothing reads outbox rows before the commit */
    rc = saga_db_insert(db,
                        "INSERT INTO outbox (topic, msg_key, payload, headers, event_type) VALUES ",
                        "(?,?,?,?,LEFT(?,64))", p, 5);
    cJSON_free(headers_text);
    if (rc == SAGA_OK)
        saga_db_mark_outbox(db);
    return rc;
}

int saga_outbox_add(saga_db *db, const char *topic, const char *key, const void *payload,
                    size_t len, const cJSON *headers)
{
    return outbox_insert(db, topic, key, payload, len, headers, NULL);
}

int saga_outbox_add_event(saga_db *db, const char *topic, const saga_event *ev,
                          const char *traceparent)
{
    cJSON *headers = cJSON_CreateObject();
    char *payload = saga_event_print(ev);
    int rc = SAGA_ERR_NOMEM;

    if (!headers || !payload)
        goto out;
    cJSON_AddStringToObject(headers, "content-type", SAGA_CE_CONTENT_TYPE);
    if (ev->correlationid)
        cJSON_AddStringToObject(headers, "correlationid", ev->correlationid);
    if (traceparent)
        cJSON_AddStringToObject(headers, "traceparent", traceparent);
    rc = outbox_insert(db, topic, ev->subject, payload, strlen(payload), headers, ev->type);
out:
    cJSON_free(payload);
    cJSON_Delete(headers);
    return rc;
}

/* --- the relay --- */

typedef enum row_state { ROW_PENDING = 0, ROW_DELIVERED, ROW_FAILED } row_state;

typedef struct relay_row {
    unsigned long long id;
    char *topic;
    char type[65];        /* the event's type, "" if none (dead letters) */
    void *key;
    size_t key_len;
    void *payload;
    size_t len;
    char *headers;
    _Atomic int state; /* row_state, set by the delivery report */
    rd_kafka_resp_err_t err;
} relay_row;

struct saga_relay {
    saga_config cfg;
    saga_db *db;
    rd_kafka_t *rk;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv; /* on CLOCK_MONOTONIC (saga_clock_cond_init) */
    bool wake_pending;
    atomic_bool running;
    atomic_llong backlog;
    saga_db_lock lock; /* "relay": the instance holding it relays */
    unsigned seed;
    unsigned failures;          /* consecutive failed passes, for the backoff */
    struct timespec last_stats;
    char delete_sql[64 + DELETE_CHUNK * 2]; /* DELETE ... IN (?,?,...) */
    relay_row *rows;            /* relay_batch_max slots, reused every pass */
    size_t nrows;
    saga_metric *published, *publish_failures, *backlog_gauge, *oldest_gauge;
};

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *rkm, void *opaque)
{
    relay_row *row = rkm->_private;
    (void)rk;
    (void)opaque;
    row->err = rkm->err;
    atomic_store(&row->state, rkm->err ? ROW_FAILED : ROW_DELIVERED);
}

static void rows_clear(saga_relay *r)
{
    for (size_t i = 0; i < r->nrows; i++) {
        relay_row *row = &r->rows[i];
        free(row->topic);
        free(row->key);
        free(row->payload);
        free(row->headers);
        memset(row, 0, sizeof(*row));
    }
    r->nrows = 0;
}

static void *dup_bytes(const char *src, size_t len)
{
    char *p = malloc(len + 1);
    if (p) {
        memcpy(p, src, len);
        p[len] = '\0';
    }
    return p;
}

static int collect_row(const saga_row *dbrow, void *ud)
{
    saga_relay *r = ud;
    relay_row *row = &r->rows[r->nrows];

    row->id = (unsigned long long)saga_row_i64(dbrow, 0);
    row->topic = dup_bytes(saga_row_str(dbrow, 1), saga_row_len(dbrow, 1));
    if (!saga_row_is_null(dbrow, 2)) {
        row->key_len = saga_row_len(dbrow, 2);
        row->key = dup_bytes(saga_row_str(dbrow, 2), row->key_len);
    }
    row->len = saga_row_len(dbrow, 3);
    row->payload = dup_bytes(saga_row_str(dbrow, 3), row->len);
    if (!saga_row_is_null(dbrow, 4))
        row->headers = dup_bytes(saga_row_str(dbrow, 4), saga_row_len(dbrow, 4));
    if (!saga_row_is_null(dbrow, 5))
        snprintf(row->type, sizeof(row->type), "%.*s", (int)saga_row_len(dbrow, 5),
                 saga_row_str(dbrow, 5));
    r->nrows++;
    if (!row->topic || !row->payload || (!saga_row_is_null(dbrow, 2) && !row->key))
        return SAGA_ERR_NOMEM;
    return 0;
}

/* The content-type of a row written before rows carried one: what its payload is. */
static const char *legacy_content_type(const relay_row *row)
{
    saga_event *ev = NULL;
    char why[128];

    if (saga_event_parse(row->payload, row->len, &ev, why, sizeof(why)) == SAGA_OK) {
        saga_event_free(ev);
        return SAGA_CE_CONTENT_TYPE;
    }
    cJSON *doc = cJSON_ParseWithLength(row->payload, row->len);
    bool json = doc != NULL;
    cJSON_Delete(doc);
    return json ? "application/json" : "application/octet-stream";
}

/* Kafka headers from the row's JSON object; NULL when there are none. A row
 * written before events carried a content-type (with partial binary-mode ce_id and
 * ce_type headers instead) is published as a new one would be: without its ce_*
 * headers, with the content-type of its payload, and its ce_type as the row's type. */
static rd_kafka_headers_t *headers_from_json(relay_row *row)
{
    cJSON *obj = row->headers ? cJSON_Parse(row->headers) : NULL;
    rd_kafka_headers_t *hdrs = NULL;
    bool has_content_type = false, dead_letter = false;
    const char *legacy_type = NULL;
    const cJSON *h;

    if (!cJSON_IsObject(obj))
        goto out;
    hdrs = rd_kafka_headers_new((size_t)cJSON_GetArraySize(obj) + 1);
    cJSON_ArrayForEach(h, obj)
    {
        if (!cJSON_IsString(h))
            continue;
        if (strncmp(h->string, "ce_", 3) == 0) {
            if (strcmp(h->string, "ce_type") == 0)
                legacy_type = h->valuestring;
            continue;
        }
        has_content_type |= strcmp(h->string, "content-type") == 0;
        dead_letter |= strncmp(h->string, "kafka_dlt-", 10) == 0;
        rd_kafka_header_add(hdrs, h->string, -1, h->valuestring, -1);
    }
    /* a dead letter kept its original's ce_type, but is counted as no event type,
     * like a new one */
    if (legacy_type && !dead_letter && !row->type[0])
        snprintf(row->type, sizeof(row->type), "%s", legacy_type);
    if (!has_content_type)
        rd_kafka_header_add(hdrs, "content-type", -1, legacy_content_type(row), -1);
out:
    cJSON_Delete(obj);
    return hdrs;
}

/* Holds the relay lock on the current connection, taking it if needed.
 * Returns true if this instance may relay. */
static bool relay_hold_lock(saga_relay *r)
{
    bool taken;

    if (!saga_db_lock_hold(r->db, &r->lock, &taken))
        return false;
    if (taken)
        LOG_INFO("relay.leader", "this instance now relays the outbox of %s",
                 r->cfg.mysql_database);
    return true;
}

/* Counts a published row by topic and event type. Lookups take the registry's
 * mutex; a small cache keeps the common case lock-free. */
static void count_published(const relay_row *row)
{
    enum { CACHE = 32 };
    static _Thread_local struct {
        char topic[64], type[65];
        saga_metric *m;
    } cache[CACHE];
    static _Thread_local size_t used;
    char labels[192];

    for (size_t i = 0; i < used; i++) {
        if (strcmp(cache[i].type, row->type) == 0 && strcmp(cache[i].topic, row->topic) == 0) {
            saga_metric_add(cache[i].m, 1);
            return;
        }
    }
    snprintf(labels, sizeof(labels), "topic=\"%.63s\",type=\"%.63s\"", row->topic,
             row->type[0] ? row->type : "none");
    saga_metric *m = saga_metrics_counter("saga_events_published_total",
                                          "Events published from the outbox, by topic and type",
                                          labels);
    if (used < CACHE) {
        snprintf(cache[used].topic, sizeof(cache[used].topic), "%s", row->topic);
        snprintf(cache[used].type, sizeof(cache[used].type), "%s", row->type);
        cache[used++].m = m;
    }
    saga_metric_add(m, 1);
}

/* Deletes the rows [0, n) in chunks of DELETE_CHUNK ids (one cached statement). */
static int relay_delete(saga_relay *r, size_t n)
{
    saga_param p[DELETE_CHUNK];
    int rc;

    for (size_t start = 0; start < n; start += DELETE_CHUNK) {
        size_t end = start + DELETE_CHUNK < n ? start + DELETE_CHUNK : n;
        for (size_t i = 0; i < DELETE_CHUNK; i++) {
            size_t idx = start + i < end ? start + i : end - 1;
            p[i] = SAGA_P_I64(r->rows[idx].id);
        }
        if ((rc = saga_db_exec(r->db, r->delete_sql, p, DELETE_CHUNK, NULL, NULL)))
            return rc;
    }
    return SAGA_OK;
}

/* The two integer columns of a row into ud (long long[2]). */
static int read_two_i64(const saga_row *row, void *ud)
{
    long long *out = ud;
    out[0] = saga_row_i64(row, 0);
    out[1] = saga_row_i64(row, 1);
    return 0;
}

/* Refreshes the backlog gauges from the table, at most once a second. */
static void relay_update_stats(saga_relay *r)
{
    struct timespec now;
    long long count = 0, age_us = 0;

    clock_gettime(CLOCK_MONOTONIC, &now);
    if (now.tv_sec - r->last_stats.tv_sec < 1)
        return;
    r->last_stats = now;
    long long stats[2] = {0, 0}; /* count, age of the oldest row in microseconds */
    if (saga_db_query_one(r->db,
                          "SELECT COUNT(*), COALESCE(TIMESTAMPDIFF(MICROSECOND, MIN(created_at),"
                          " NOW(3)), 0) FROM outbox",
                          NULL, 0, read_two_i64, stats) != SAGA_OK)
        return;
    count = stats[0];
    age_us = stats[1];
    atomic_store(&r->backlog, count);
    saga_metric_set(r->backlog_gauge, (double)count);
    saga_metric_set(r->oldest_gauge, (double)age_us / 1e6);
}

/* Produces rows [0, nrows) in order, stopping at the first that cannot be
 * enqueued, and waits for their delivery reports. Returns how many were
 * produced. */
static size_t relay_produce(saga_relay *r)
{
    size_t produced = 0;

    for (size_t i = 0; i < r->nrows; i++) {
        relay_row *row = &r->rows[i];
        rd_kafka_resp_err_t kerr;
        for (;;) {
            rd_kafka_headers_t *hdrs = headers_from_json(row);
            kerr = rd_kafka_producev(r->rk, RD_KAFKA_V_TOPIC(row->topic),
                                     RD_KAFKA_V_KEY(row->key, row->key_len),
                                     RD_KAFKA_V_VALUE(row->payload, row->len),
                                     RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                     RD_KAFKA_V_HEADERS(hdrs), RD_KAFKA_V_OPAQUE(row),
                                     RD_KAFKA_V_END);
            if (kerr == RD_KAFKA_RESP_ERR_NO_ERROR)
                break; /* hdrs now owned by the message */
            if (hdrs)
                rd_kafka_headers_destroy(hdrs);
            if (kerr != RD_KAFKA_RESP_ERR__QUEUE_FULL)
                break;
            rd_kafka_poll(r->rk, 50);
        }
        if (kerr) {
            row->err = kerr;
            atomic_store(&row->state, ROW_FAILED);
            break;
        }
        produced++;
    }
    /* wait for every report; librdkafka fails a message after message.timeout.ms.
     * Meanwhile (a broker down) keep the backlog gauges current. */
    for (;;) {
        size_t pending = 0;
        for (size_t i = 0; i < produced; i++)
            pending += atomic_load(&r->rows[i].state) == ROW_PENDING;
        if (pending == 0)
            break;
        rd_kafka_poll(r->rk, 20);
        relay_update_stats(r);
    }
    return produced;
}


/* One pass: read up to relay_batch_max rows, publish, delete the delivered prefix.
 * Returns the number of rows read, or -1 on a failure worth a backoff. */
static int relay_pass(saga_relay *r)
{
    size_t produced, delivered = 0;
    int rc;

    if (!relay_hold_lock(r))
        return 0;
    saga_param limit = SAGA_P_I64(r->cfg.relay_batch_max);
    rc = saga_db_query(r->db,
                       "SELECT id, topic, msg_key, payload, headers, event_type FROM outbox"
                       " ORDER BY id LIMIT ?",
                       &limit, 1, collect_row, r);
    if (rc != SAGA_OK || !saga_db_lock_held(r->db, &r->lock)) {
        /* the connection (and with it the lock) may have gone while reading */
        rows_clear(r);
        if (rc)
            LOG_WARN("relay.read_failed", "cannot read the outbox: %s", saga_db_error(r->db));
        return -1;
    }
    if (r->nrows == 0) {
        relay_update_stats(r);
        return 0;
    }

    produced = relay_produce(r);
    while (delivered < produced && atomic_load(&r->rows[delivered].state) == ROW_DELIVERED)
        delivered++;
    saga_fault_point("relay.after_produce");

    rc = relay_delete(r, delivered);
    if (rc) {
        /* published but not deleted: they go out again later, and the inbox of
         * every consumer absorbs the duplicates */
        LOG_WARN("relay.delete_failed", "cannot delete %zu published rows: %s", delivered,
                 saga_db_error(r->db));
        delivered = 0;
    }
    saga_metric_add(r->published, (double)delivered);
    for (size_t i = 0; i < delivered; i++)
        count_published(&r->rows[i]);
    int nread = (int)r->nrows;
    if (delivered < r->nrows && rc == SAGA_OK) {
        relay_row *failed = &r->rows[delivered];
        saga_metric_add(r->publish_failures, 1);
        LOG_WARN("relay.publish_failed", "outbox row %llu to %s not delivered: %s; %zu rows wait",
                 failed->id, failed->topic, rd_kafka_err2str(failed->err), r->nrows - delivered);
        rows_clear(r);
        return -1;
    }
    rows_clear(r);
    if (rc)
        return -1;
    r->failures = 0;
    /* the backlog gauges: at most once a second, not two more queries per pass */
    relay_update_stats(r);
    return nread;
}

static void relay_wait(saga_relay *r, long ms)
{
    struct timespec deadline;
    saga_clock_deadline(&deadline, ms); /* r->cv waits on CLOCK_MONOTONIC */
    pthread_mutex_lock(&r->mu);
    while (!r->wake_pending && atomic_load(&r->running)) {
        if (pthread_cond_timedwait(&r->cv, &r->mu, &deadline) != 0)
            break;
    }
    r->wake_pending = false;
    pthread_mutex_unlock(&r->mu);
}

static void *relay_main(void *arg)
{
    saga_relay *r = arg;

    while (atomic_load(&r->running)) {
        int n = relay_pass(r);
        if (n < 0) {
            long ms = saga_backoff_ms(r->failures++, r->cfg.retry_base_ms, r->cfg.retry_max_ms,
                                      &r->seed);
            relay_wait(r, ms);
        } else if (n < r->cfg.relay_batch_max) {
            relay_wait(r, r->cfg.relay_poll_ms);
        }
        rd_kafka_poll(r->rk, 0);
    }
    return NULL;
}

void saga_relay_wake(void *relay)
{
    saga_relay *r = relay;
    pthread_mutex_lock(&r->mu);
    r->wake_pending = true;
    pthread_cond_signal(&r->cv);
    pthread_mutex_unlock(&r->mu);
}

long long saga_relay_backlog(const saga_relay *relay)
{
    return atomic_load(&((saga_relay *)relay)->backlog);
}

/* Fills the producer's metadata cache with every topic at start. Without it the
 * producer looks a topic up only on its first message to it, and each hop of the
 * first saga after start waited for that (measured on the local stack: first
 * order 2.8 s, later ones 60 ms; with this, 90 ms). A failure (brokers not up
 * yet) is harmless: the lookup then happens on the first message, as before. */
static void relay_warm_metadata(rd_kafka_t *rk)
{
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_resp_err_t kerr = rd_kafka_metadata(rk, 1, NULL, &md, 5000);
    if (kerr)
        LOG_DEBUG("relay.metadata", "no topic metadata at start: %s", rd_kafka_err2str(kerr));
    if (md)
        rd_kafka_metadata_destroy(md);
}

static void relay_free(saga_relay *r)
{
    if (!r)
        return;
    rows_clear(r);
    free(r->rows);
    if (r->rk)
        rd_kafka_destroy(r->rk);
    saga_db_close(r->db);
    pthread_cond_destroy(&r->cv);
    pthread_mutex_destroy(&r->mu);
    free(r);
}

saga_relay *saga_relay_start(const saga_config *cfg, char *err, size_t errlen)
{
    saga_relay *r = calloc(1, sizeof(*r));
    if (!r) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    r->cfg = *cfg;
    pthread_mutex_init(&r->mu, NULL);
    if (saga_clock_cond_init(&r->cv) != 0) {
        snprintf(err, errlen, "cannot make the relay's condition variable");
        pthread_mutex_destroy(&r->mu);
        free(r);
        return NULL;
    }
    atomic_init(&r->backlog, -1);
    r->seed = saga_backoff_seed(r);
    r->lock.name = "relay";
    saga_db_sql_list(r->delete_sql, sizeof(r->delete_sql), "DELETE FROM outbox WHERE id IN (", "?",
                     DELETE_CHUNK, ")");
    r->rows = calloc((size_t)cfg->relay_batch_max, sizeof(*r->rows));
    if (!r->rows) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    if (!(r->db = saga_db_open(cfg, err, errlen)))
        goto fail;
    if (!(r->rk = saga_kafka_producer_new(cfg, on_delivery, r, err, errlen)))
        goto fail;
    relay_warm_metadata(r->rk);
    r->published = saga_metrics_counter("saga_outbox_published_total",
                                        "Outbox rows published to Kafka and deleted", "");
    r->publish_failures = saga_metrics_counter("saga_outbox_publish_failures_total",
                                               "Relay passes that could not publish a row", "");
    r->backlog_gauge = saga_metrics_gauge("saga_outbox_backlog", "Outbox rows not yet published",
                                          "");
    r->oldest_gauge = saga_metrics_gauge("saga_outbox_oldest_age_seconds",
                                         "Age of the oldest unpublished outbox row", "");
    atomic_init(&r->running, true);
    if (pthread_create(&r->thread, NULL, relay_main, r) != 0) {
        snprintf(err, errlen, "cannot start the relay thread");
        goto fail;
    }
    return r;
fail:
    relay_free(r);
    return NULL;
}

void saga_relay_stop(saga_relay *r, int timeout_ms)
{
    if (!r)
        return;
    atomic_store(&r->running, false);
    saga_relay_wake(r);
    pthread_join(r->thread, NULL);
    if (rd_kafka_flush(r->rk, timeout_ms) != RD_KAFKA_RESP_ERR_NO_ERROR)
        LOG_WARN("relay.flush_incomplete", "%d messages still in the producer queue at stop",
                 rd_kafka_outq_len(r->rk));
    relay_free(r);
}
