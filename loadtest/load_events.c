/* load_events.c - order outcomes from order-events, read by a thread of its own. */
#include "load_events.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <librdkafka/rdkafka.h>

#include "load_clock.h"

#define META_TIMEOUT_MS 10000

struct load_events {
    rd_kafka_t *rk;
    pthread_t thread;
    bool thread_started;
    atomic_bool running;

    pthread_mutex_t lock; /* guards the queue and the counters */
    load_event *queue;
    size_t len, cap;
    uint64_t outcomes, others, errors;
};

/* ---- reading one message -------------------------------------------------------- */

static const char *json_string(const cJSON *obj, const char *name)
{
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, name);
    return cJSON_IsString(item) ? item->valuestring : NULL;
}

/* Turns a message into an outcome. Returns 1 for an outcome (*out filled), 0 for
 * another event type, -1 for a message that cannot be read. Events are
 * structured-mode CloudEvents: the type is in the payload, so every message is
 * parsed. */
static int message_read(const rd_kafka_message_t *rkm, load_event *out)
{
    char type[64] = "";
    cJSON *doc = NULL;
    const cJSON *data;
    const char *id = NULL, *reason;
    size_t idlen = 0;
    int rc = -1;

    memset(out, 0, sizeof(*out));
    if (rkm->key && rkm->key_len == LOAD_ORDER_ID_LEN) { /* the key is the order id */
        id = rkm->key;
        idlen = rkm->key_len;
    }
    if (!rkm->payload || !(doc = cJSON_ParseWithLength(rkm->payload, rkm->len)))
        goto out;
    if (json_string(doc, "type"))
        snprintf(type, sizeof(type), "%s", json_string(doc, "type"));
    if (strcmp(type, "OrderConfirmed") && strcmp(type, "OrderCancelled")) {
        rc = 0;
        goto out;
    }
    data = cJSON_GetObjectItemCaseSensitive(doc, "data");
    if (!id && (id = json_string(data, "orderId")))
        idlen = strlen(id);
    out->confirmed = !strcmp(type, "OrderConfirmed");
    if (!out->confirmed) {
        reason = json_string(data, "reason");
        out->reason = load_outcome_from_reason(reason, reason ? strlen(reason) : 0);
    }
    if (!id || idlen != LOAD_ORDER_ID_LEN)
        goto out;
    memcpy(out->order_id, id, LOAD_ORDER_ID_LEN);
    rc = 1;
out:
    cJSON_Delete(doc);
    return rc;
}

static void queue_push(load_events *ev, const load_event *e)
{
    pthread_mutex_lock(&ev->lock);
    if (ev->len == ev->cap) {
        size_t cap = ev->cap ? 2 * ev->cap : 1024;
        load_event *grown = realloc(ev->queue, cap * sizeof(*grown));
        if (!grown) {
            ev->errors++; /* counted: the run reports it, and the order goes missing */
            pthread_mutex_unlock(&ev->lock);
            return;
        }
        ev->queue = grown;
        ev->cap = cap;
    }
    ev->queue[ev->len++] = *e;
    ev->outcomes++;
    pthread_mutex_unlock(&ev->lock);
}

static void *reader_main(void *arg)
{
    load_events *ev = arg;
    load_event e;

    while (atomic_load(&ev->running)) {
        rd_kafka_message_t *rkm = rd_kafka_consumer_poll(ev->rk, 100);
        int rc;

        if (!rkm)
            continue;
        if (rkm->err) { /* informational: log, carry on */
            if (rkm->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) {
                fprintf(stderr, "saga-load: consumer: %s\n", rd_kafka_message_errstr(rkm));
                pthread_mutex_lock(&ev->lock);
                ev->errors++;
                pthread_mutex_unlock(&ev->lock);
            }
            rd_kafka_message_destroy(rkm);
            continue;
        }
        rc = message_read(rkm, &e);
        if (rc == 1) {
            e.seen_us = load_now_us();
            queue_push(ev, &e);
        } else {
            pthread_mutex_lock(&ev->lock);
            if (rc == 0)
                ev->others++;
            else
                ev->errors++;
            pthread_mutex_unlock(&ev->lock);
        }
        rd_kafka_message_destroy(rkm);
    }
    return NULL;
}

/* ---- start and stop ------------------------------------------------------------- */

static void on_error(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
    (void)opaque;
    if (err == RD_KAFKA_RESP_ERR__FATAL) {
        char why[512];
        rd_kafka_fatal_error(rk, why, sizeof(why));
        fprintf(stderr, "saga-load: consumer: fatal: %s\n", why);
    } else if (err != RD_KAFKA_RESP_ERR__TRANSPORT && err != RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN) {
        fprintf(stderr, "saga-load: consumer: %s\n", reason);
    }
}

static rd_kafka_t *consumer_new(const load_opts *o, char *err, size_t errlen)
{
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    char group[96], fetch_wait[16];
    struct timespec ts;
    rd_kafka_t *rk;

    clock_gettime(CLOCK_REALTIME, &ts);
    snprintf(group, sizeof(group), "saga-load-%ld-%lld", (long)getpid(), (long long)ts.tv_sec);
    snprintf(fetch_wait, sizeof(fetch_wait), "%d", o->fetch_wait_ms);
    const char *settings[][2] = {
        {"bootstrap.servers", o->bootstrap},
        {"group.id", group},
        {"client.id", "saga-load"},
        {"enable.auto.commit", "false"},
        {"enable.auto.offset.store", "false"},
        {"enable.partition.eof", "false"},
        /* the local mock broker answers an empty fetch only when this runs out */
        {"fetch.wait.max.ms", fetch_wait},
        {"log.connection.close", "false"},
    };
    for (size_t i = 0; i < sizeof(settings) / sizeof(settings[0]); i++)
        if (rd_kafka_conf_set(conf, settings[i][0], settings[i][1], err, errlen) !=
            RD_KAFKA_CONF_OK) {
            rd_kafka_conf_destroy(conf);
            return NULL;
        }
    rd_kafka_conf_set_error_cb(conf, on_error);
    if (!(rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, errlen))) {
        rd_kafka_conf_destroy(conf);
        return NULL;
    }
    /* conf is now owned by rk */
    rd_kafka_poll_set_consumer(rk);
    return rk;
}

/* Assigns every partition of the topic at its high watermark. */
static int assign_at_end(rd_kafka_t *rk, const char *topic, char *err, size_t errlen)
{
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_topic_partition_list_t *parts = NULL;
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);
    rd_kafka_resp_err_t e;
    int rc = -1;

    if (!rkt) {
        snprintf(err, errlen, "topic %s: %s", topic, rd_kafka_err2str(rd_kafka_last_error()));
        return -1;
    }
    e = rd_kafka_metadata(rk, 0, rkt, &md, META_TIMEOUT_MS);
    if (e) {
        snprintf(err, errlen, "cannot read the metadata of %s: %s", topic, rd_kafka_err2str(e));
        goto out;
    }
    if (md->topic_cnt != 1 || md->topics[0].err || md->topics[0].partition_cnt < 1) {
        snprintf(err, errlen, "topic %s: %s", topic,
                 md->topic_cnt == 1 && md->topics[0].err ? rd_kafka_err2str(md->topics[0].err)
                                                         : "no partitions");
        goto out;
    }
    parts = rd_kafka_topic_partition_list_new(md->topics[0].partition_cnt);
    for (int i = 0; i < md->topics[0].partition_cnt; i++) {
        int32_t p = md->topics[0].partitions[i].id;
        int64_t lo = 0, hi = 0;
        e = rd_kafka_query_watermark_offsets(rk, topic, p, &lo, &hi, META_TIMEOUT_MS);
        if (e) {
            snprintf(err, errlen, "cannot read the end of %s [%d]: %s", topic, (int)p,
                     rd_kafka_err2str(e));
            goto out;
        }
        rd_kafka_topic_partition_list_add(parts, topic, p)->offset = hi;
    }
    if ((e = rd_kafka_assign(rk, parts))) {
        snprintf(err, errlen, "cannot assign %s: %s", topic, rd_kafka_err2str(e));
        goto out;
    }
    rc = 0;
out:
    if (parts)
        rd_kafka_topic_partition_list_destroy(parts);
    if (md)
        rd_kafka_metadata_destroy(md);
    rd_kafka_topic_destroy(rkt);
    return rc;
}

load_events *load_events_start(const load_opts *opts, char *err, size_t errlen)
{
    load_events *ev = calloc(1, sizeof(*ev));

    if (!ev) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    pthread_mutex_init(&ev->lock, NULL);
    atomic_init(&ev->running, true);
    if (!(ev->rk = consumer_new(opts, err, errlen)) ||
        assign_at_end(ev->rk, opts->topic, err, errlen))
        goto fail;
    if (pthread_create(&ev->thread, NULL, reader_main, ev)) {
        snprintf(err, errlen, "cannot start the consumer thread");
        goto fail;
    }
    ev->thread_started = true;
    return ev;
fail:
    load_events_stop(ev);
    return NULL;
}

size_t load_events_take(load_events *ev, load_event **buf, size_t *cap)
{
    load_event *q;
    size_t n, c;

    pthread_mutex_lock(&ev->lock);
    q = ev->queue;
    n = ev->len;
    c = ev->cap;
    ev->queue = *buf;
    ev->cap = *cap;
    ev->len = 0;
    pthread_mutex_unlock(&ev->lock);
    *buf = q;
    *cap = c;
    return n;
}

void load_events_counts(load_events *ev, uint64_t *outcomes, uint64_t *others, uint64_t *errors)
{
    pthread_mutex_lock(&ev->lock);
    *outcomes = ev->outcomes;
    *others = ev->others;
    *errors = ev->errors;
    pthread_mutex_unlock(&ev->lock);
}

void load_events_stop(load_events *ev)
{
    if (!ev)
        return;
    atomic_store(&ev->running, false);
    if (ev->thread_started)
        pthread_join(ev->thread, NULL);
    if (ev->rk) {
        rd_kafka_consumer_close(ev->rk);
        rd_kafka_destroy(ev->rk);
    }
    free(ev->queue);
    pthread_mutex_destroy(&ev->lock);
    free(ev);
}
