/* notification_delivery.c - the delivery threads and the log, webhook and email channels
 * (see notification_delivery.h). */
#include "notification_delivery.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <curl/curl.h>

#include "saga/clock.h"
#include "saga/backoff.h"
#include "saga/config.h"
#include "saga/err.h"
#include "saga/log.h"
#include "saga/metrics.h"
#include "saga/write_batch.h"
#include "saga/outbox.h"
#include "notification_store.h"

/* Tries to record outcomes before giving up (the rows are then delivered again once their
 * claim lapses). */
#define RECORD_TRIES 5
/* Outcomes are recorded at the latest this long after the oldest unrecorded one. */
#define RECORD_AFTER_MS 100
/* A delivery starts only if it can end this long before the lease does. */
#define LEASE_MARGIN_MS 2000
#define USER_AGENT "saga-notification-service/1"

/* One delivery thread per configured channel, so that a slow SMTP server does not hold up
 * webhooks or log lines. */
typedef struct delivery_worker {
    notification_delivery *d;
    notification_channel channel;
    long timeout_ms; /* of one delivery */
    long lease_ms;
    unsigned seed; /* for backoff jitter */
    pthread_t thread;
    bool started;
    CURL *curl; /* the thread's own; keeps connections between deliveries */
    /* the thread's own: a record's NotificationSent rows, inserted together before its
     * commit; NULL (no memory at start) inserts them one by one */
    saga_write_batch *writes;
    /* guarded by d->lock */
    bool wake_pending;
} delivery_worker;

struct notification_delivery {
    notification_settings set;
    saga_service *svc;
    atomic_bool stopping;
    pthread_mutex_t lock; /* guards the workers' wake state */
    pthread_cond_t cond;  /* CLOCK_MONOTONIC; broadcast on wake-ups and stop */
    delivery_worker workers[NOTIFY_CH_COUNT];
    saga_metric *sent[NOTIFY_CH_COUNT], *retried[NOTIFY_CH_COUNT], *failed[NOTIFY_CH_COUNT];
    saga_metric *seconds[NOTIFY_CH_COUNT];
};

typedef enum delivery_result {
    DELIVERY_OK = 0,
    DELIVERY_RETRY,     /* a failed attempt: try again later */
    DELIVERY_PERMANENT, /* can never succeed: FAILED now */
    DELIVERY_ABORTED,   /* stopped by shutdown: give the row back */
} delivery_result;

/* --- settings --- */

int notification_settings_load(notification_settings *s, char *err, size_t errlen)
{
    char channels[256];
    int rc;

    memset(s, 0, sizeof(*s));
    if ((rc = saga_config_str("SAGA_NOTIFY_CHANNELS", "log", channels, sizeof(channels), err,
                              errlen)))
        return rc;
    if (notification_channels_parse(channels, &s->channels, err, errlen) != SAGA_OK) {
        char why[256];
        snprintf(why, sizeof(why), "%s", err);
        snprintf(err, errlen, "SAGA_NOTIFY_CHANNELS: %s", why);
        return SAGA_ERR_INVALID;
    }
    if ((rc = saga_config_str("SAGA_WEBHOOK_URL", "", s->webhook_url, sizeof(s->webhook_url), err,
                              errlen)) ||
        (rc = saga_config_int("SAGA_WEBHOOK_TIMEOUT_MS", 3000, 10, 600000, &s->webhook_timeout_ms,
                              err, errlen)) ||
        (rc =
             saga_config_str("SAGA_SMTP_URL", "", s->smtp_url, sizeof(s->smtp_url), err, errlen)) ||
        (rc = saga_config_str("SAGA_SMTP_FROM", "", s->smtp_from, sizeof(s->smtp_from), err,
                              errlen)) ||
        (rc = saga_config_str("SAGA_EMAIL_DOMAIN", "example.com", s->email_domain,
                              sizeof(s->email_domain), err, errlen)) ||
        (rc = saga_config_int("SAGA_SMTP_TIMEOUT_MS", 10000, 10, 600000, &s->smtp_timeout_ms, err,
                              errlen)) ||
        (rc = saga_config_int("SAGA_NOTIFY_POLL_MS", 200, 10, 60000, &s->poll_ms, err, errlen)) ||
        (rc = saga_config_int("SAGA_NOTIFY_RETRY_BASE_MS", 500, 1, 3600000, &s->retry_base_ms, err,
                              errlen)) ||
        (rc = saga_config_int("SAGA_NOTIFY_RETRY_MAX_MS", 30000, 1, 86400000, &s->retry_max_ms, err,
                              errlen)) ||
        (rc = saga_config_int("SAGA_NOTIFY_MAX_ATTEMPTS", 5, 1, 1000, &s->max_attempts, err,
                              errlen)) ||
        (rc = saga_config_int("SAGA_NOTIFY_BATCH", 32, 1, 1000, &s->batch, err, errlen)))
        return rc;
    return notification_channels_check(s->channels, s->webhook_url, s->smtp_url, s->smtp_from,
                                       s->email_domain, err, errlen);
}

/* --- life cycle --- */

notification_delivery *notification_delivery_new(const notification_settings *s)
{
    notification_delivery *d = calloc(1, sizeof(*d));

    if (!d)
        return NULL;
    d->set = *s;
    atomic_init(&d->stopping, false);
    pthread_mutex_init(&d->lock, NULL);
    if (saga_clock_cond_init(&d->cond) != 0) {
        pthread_mutex_destroy(&d->lock);
        free(d);
        return NULL;
    }
    for (int ch = 0; ch < NOTIFY_CH_COUNT; ch++) {
        delivery_worker *w = &d->workers[ch];
        w->d = d;
        w->channel = (notification_channel)ch;
        w->timeout_ms = ch == NOTIFY_CH_WEBHOOK ? s->webhook_timeout_ms
                        : ch == NOTIFY_CH_EMAIL ? s->smtp_timeout_ms
                                                : 0;
        w->lease_ms = notification_lease_ms(w->timeout_ms);
        w->seed = (unsigned)getpid() ^ (unsigned)time(NULL) ^ ((unsigned)ch << 16);
    }

    for (int ch = 0; ch < NOTIFY_CH_COUNT; ch++) {
        char labels[64];
        const char *name = notification_channel_name((notification_channel)ch);
        snprintf(labels, sizeof(labels), "channel=\"%s\",result=\"sent\"", name);
        d->sent[ch] = saga_metrics_counter("saga_notifications_total",
                                           "Notification delivery attempts by outcome", labels);
        snprintf(labels, sizeof(labels), "channel=\"%s\",result=\"retry\"", name);
        d->retried[ch] = saga_metrics_counter("saga_notifications_total",
                                              "Notification delivery attempts by outcome", labels);
        snprintf(labels, sizeof(labels), "channel=\"%s\",result=\"failed\"", name);
        d->failed[ch] = saga_metrics_counter("saga_notifications_total",
                                             "Notification delivery attempts by outcome", labels);
        snprintf(labels, sizeof(labels), "channel=\"%s\"", name);
        d->seconds[ch] = saga_metrics_histogram(
            "saga_notification_delivery_seconds", "Time to deliver one notification", labels,
            saga_metrics_latency_bounds, saga_metrics_latency_nbounds);
    }
    return d;
}

unsigned notification_delivery_channels(const notification_delivery *d)
{
    return d->set.channels;
}

void notification_delivery_wake(notification_delivery *d)
{
    pthread_mutex_lock(&d->lock);
    for (int ch = 0; ch < NOTIFY_CH_COUNT; ch++)
        if (d->set.channels & NOTIFY_CH_BIT(ch))
            d->workers[ch].wake_pending = true;
    pthread_cond_broadcast(&d->cond);
    pthread_mutex_unlock(&d->lock);
}

static bool delivery_running(notification_delivery *d)
{
    return !atomic_load(&d->stopping) && saga_service_running(d->svc);
}

/* Waits up to ms for a wake-up of w (returns at once if one is pending). */
static void delivery_wait(delivery_worker *w, long ms)
{
    notification_delivery *d = w->d;
    struct timespec until;

    saga_clock_deadline(&until, ms);
    pthread_mutex_lock(&d->lock);
    while (!w->wake_pending && !atomic_load(&d->stopping)) {
        if (pthread_cond_timedwait(&d->cond, &d->lock, &until) == ETIMEDOUT)
            break;
    }
    pthread_mutex_unlock(&d->lock);
}

static void sleep_ms(long ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* --- channels --- */

static size_t curl_discard(char *ptr, size_t size, size_t nmemb, void *ud)
{
    (void)ptr;
    (void)ud;
    return size * nmemb;
}

/* Aborts a transfer when the service stops. */
static int curl_progress(void *ud, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                         curl_off_t ulnow)
{
    notification_delivery *d = ud;
    (void)dltotal;
    (void)dlnow;
    (void)ultotal;
    (void)ulnow;
    return atomic_load(&d->stopping) ? 1 : 0;
}

/* Appends s to list; on no memory sets *oom and returns list unchanged. */
static struct curl_slist *header_add(struct curl_slist *list, const char *s, bool *oom)
{
    struct curl_slist *l = curl_slist_append(list, s);
    if (!l) {
        *oom = true;
        return list;
    }
    return l;
}

/* Options both transfers share (on a handle just reset); errbuf must live until the transfer ends.
 */
static void curl_common(notification_delivery *d, CURL *curl, const char *url, long timeout_ms,
                        char *errbuf)
{
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L); /* threads: no SIGALRM for timeouts */
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, curl_progress);
    curl_easy_setopt(curl, CURLOPT_XFERINFODATA, d);
}

/* A curl failure as a last_error text. */
static delivery_result curl_failure(CURLcode res, const char *errbuf, const char *what, long code,
                                    char *err, size_t errlen)
{
    if (res == CURLE_ABORTED_BY_CALLBACK) {
        snprintf(err, errlen, "aborted: the service is stopping");
        return DELIVERY_ABORTED;
    }
    snprintf(err, errlen, "%s: %s%s%s", what, curl_easy_strerror(res), errbuf[0] ? ": " : "",
             errbuf);
    if (code > 0) {
        size_t n = strlen(err);
        snprintf(err + n, errlen - n, " (last reply %ld)", code);
    }
    return DELIVERY_RETRY;
}

static delivery_result deliver_webhook(delivery_worker *w, const notification_row *row, char *err,
                                       size_t errlen)
{
    notification_delivery *d = w->d;
    char errbuf[CURL_ERROR_SIZE] = "", id_header[128];
    struct curl_slist *headers = NULL;
    delivery_result result = DELIVERY_RETRY;
    CURL *curl = w->curl;
    bool oom = false;
    long status = 0;
    CURLcode res;

    if (!curl) {
        snprintf(err, errlen, "webhook: cannot create a curl handle");
        return DELIVERY_RETRY;
    }
    /* the receiver can deduplicate on the id: a retry posts the same one */
    snprintf(id_header, sizeof(id_header), "X-Notification-Id: %s", row->id);
    headers = header_add(headers, "Content-Type: application/json", &oom);
    headers = header_add(headers, id_header, &oom);
    headers = header_add(headers, "Expect:", &oom); /* no 100-continue round trip */
    if (oom) {
        snprintf(err, errlen, "webhook: out of memory");
        goto out;
    }
    curl_common(d, curl, d->set.webhook_url, d->set.webhook_timeout_ms, errbuf);
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(curl, CURLOPT_USERAGENT, USER_AGENT);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_POST, 1L);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, row->payload);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, (long)strlen(row->payload));
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, curl_discard);
    res = curl_easy_perform(curl);
    if (res != CURLE_OK) {
        result = curl_failure(res, errbuf, "webhook", 0, err, errlen);
        goto out;
    }
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    if (notification_http_ok(status)) {
        result = DELIVERY_OK;
        goto out;
    }
    snprintf(err, errlen, "webhook answered HTTP %ld", status);
out:
    curl_easy_reset(curl); /* drops pointers to our buffers; keeps the connection */
    curl_slist_free_all(headers);
    return result;
}

typedef struct upload {
    const char *data;
    size_t len, pos;
} upload;

static size_t upload_read(char *buf, size_t size, size_t nitems, void *ud)
{
    upload *u = ud;
    size_t n = size * nitems;
    if (n > u->len - u->pos)
        n = u->len - u->pos;
    memcpy(buf, u->data + u->pos, n);
    u->pos += n;
    return n;
}

/* The server's last reply line, kept by smtp_debug for the error text. */
typedef struct smtp_reply {
    char line[200];
} smtp_reply;

/* libcurl's debug callback: keeps the last line the SMTP server sent (curl's own error
 * text names only the command that failed, e.g. "Weird server reply"). */
static int smtp_debug(CURL *curl, curl_infotype type, char *data, size_t size, void *ud)
{
    smtp_reply *r = ud;
    (void)curl;
    if (type != CURLINFO_HEADER_IN)
        return 0;
    while (size > 0 && (data[size - 1] == '\n' || data[size - 1] == '\r'))
        size--;
    if (size >= sizeof(r->line))
        size = sizeof(r->line) - 1;
    for (size_t i = 0; i < size; i++) /* the server's text: printable ASCII only */
        r->line[i] = data[i] >= 0x20 && data[i] < 0x7f ? data[i] : '?';
    r->line[size] = '\0';
    return 0;
}

static delivery_result deliver_email(delivery_worker *w, const notification_msg *m, char *err,
                                     size_t errlen)
{
    smtp_reply reply = {.line = ""};
    notification_delivery *d = w->d;
    char errbuf[CURL_ERROR_SIZE] = "", to[NOTIFY_CUSTOMER_ID_MAX + 256];
    char rcpt[sizeof(to) + 2], from[sizeof(d->set.smtp_from) + 2];
    struct curl_slist *rcpts = NULL;
    delivery_result result = DELIVERY_RETRY;
    CURL *curl = w->curl;
    upload body = {0};
    char *message = NULL;
    long code = 0;
    CURLcode res;

    if (notification_email_recipient(m->customer_id, d->set.email_domain, to, sizeof(to)) !=
        SAGA_OK) {
        snprintf(err, errlen, "email: customer id is not a valid address local part");
        return DELIVERY_PERMANENT;
    }
    if (!curl) {
        snprintf(err, errlen, "email: cannot create a curl handle");
        return DELIVERY_RETRY;
    }
    message = notification_email_render(m, d->set.smtp_from, to, saga_clock_wall_ms(), &body.len);
    snprintf(rcpt, sizeof(rcpt), "<%s>", to);
    snprintf(from, sizeof(from), "<%s>", d->set.smtp_from);
    if (!message || !(rcpts = curl_slist_append(NULL, rcpt))) {
        snprintf(err, errlen, "email: out of memory");
        goto out;
    }
    body.data = message;
    curl_common(d, curl, d->set.smtp_url, d->set.smtp_timeout_ms, errbuf);
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
    curl_easy_setopt(curl, CURLOPT_MAIL_FROM, from);
    curl_easy_setopt(curl, CURLOPT_MAIL_RCPT, rcpts);
    curl_easy_setopt(curl, CURLOPT_READFUNCTION, upload_read);
    curl_easy_setopt(curl, CURLOPT_READDATA, &body);
    curl_easy_setopt(curl, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(curl, CURLOPT_DEBUGFUNCTION, smtp_debug);
    curl_easy_setopt(curl, CURLOPT_DEBUGDATA, &reply);
    curl_easy_setopt(curl, CURLOPT_VERBOSE, 1L); /* calls smtp_debug; prints nothing */
    res = curl_easy_perform(curl);
    if (res != CURLE_OK) {
        curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &code);
        if (res != CURLE_ABORTED_BY_CALLBACK && code >= 400 && reply.line[0]) {
            /* the server answered, and refused: say what it said */
            snprintf(err, errlen, "email: the server refused: %s", reply.line);
            result = notification_smtp_permanent(code) ? DELIVERY_PERMANENT : DELIVERY_RETRY;
            goto out;
        }
        result = curl_failure(res, errbuf, "email", code, err, errlen);
        goto out;
    }
    result = DELIVERY_OK;
out:
    curl_easy_reset(curl); /* drops pointers to our buffers; keeps the connection */
    curl_slist_free_all(rcpts);
    free(message);
    return result;
}

static delivery_result deliver_row(delivery_worker *w, const notification_row *row, char *err,
                                   size_t errlen)
{
    notification_msg m;
    char summary[256];

    if (row->channel != w->channel || row->trigger >= NOTIFY_TRIGGER_COUNT) {
        snprintf(err, errlen, "unknown channel or trigger in the stored row");
        return DELIVERY_PERMANENT;
    }
    if (notification_payload_parse(row->payload, strlen(row->payload), &m) != SAGA_OK) {
        snprintf(err, errlen, "the stored payload is not a notification");
        return DELIVERY_PERMANENT;
    }
    switch (row->channel) {
    case NOTIFY_CH_LOG: {
        saga_log_ids ids = {.order_id = row->order_id,
                            .event_id = row->trigger_event_id,
                            .correlation_id = row->order_id};
        notification_summary(&m, summary, sizeof(summary));
        saga_log_write(SAGA_LOG_INFO, "notification.delivered", &ids, "%s %s", summary,
                       row->payload);
        return DELIVERY_OK;
    }
    case NOTIFY_CH_WEBHOOK:
        return deliver_webhook(w, row, err, errlen);
    case NOTIFY_CH_EMAIL:
        return deliver_email(w, &m, err, errlen);
    default:
        snprintf(err, errlen, "unknown channel");
        return DELIVERY_PERMANENT;
    }
}

/* Delivers one row; the lines logged meanwhile carry the trace of the event that caused it. */
static delivery_result deliver(delivery_worker *w, const notification_row *row, char *err,
                               size_t errlen)
{
    saga_log_trace_set(row->traceparent);
    delivery_result result = deliver_row(w, row, err, errlen);
    saga_log_trace_clear();
    return result;
}

/* --- recording outcomes --- */

/* The outcome of one delivery, waiting to be recorded. */
typedef struct outcome {
    const notification_row *row;
    delivery_result result; /* DELIVERY_OK, _RETRY or _PERMANENT */
    long delay_ms;          /* a failure: the wait before the next attempt, -1 for FAILED */
    bool applied;           /* recorded: the pass still held the row */
    char error[NOTIFY_ERROR_MAX + 1];
} outcome;

/* Writes NotificationSent for a delivered row to the outbox, in db's open transaction:
 * caused by the trigger event, with its traceparent. */
static int add_sent(saga_db *db, const notification_row *row)
{
    saga_event *ev =
        notification_sent_event(row->order_id, row->id, row->channel, row->trigger,
                                row->trigger_event_id[0] ? row->trigger_event_id : NULL);
    int rc = ev ? saga_outbox_add_event(db, NOTIFICATION_TOPIC, ev,
                                        row->traceparent[0] ? row->traceparent : NULL)
                : SAGA_ERR_NOMEM;
    saga_event_free(ev);
    return rc;
}

/* Records outcomes in one transaction: delivered rows SENT, each with its NotificationSent
 * in the outbox; failed attempts rescheduled or FAILED. Rows the pass no longer holds are
 * left alone (applied false). The delivered rows cost a locking read of those still held
 * and one UPDATE (per 64), their outbox rows one multi-row INSERT through writes; failed
 * ones (rare) a statement each. */
static int record_once(saga_db *db, saga_write_batch *writes, const char *token, outcome *o,
                       size_t n)
{
    const char **ids = calloc(n, sizeof(*ids));
    bool *held = calloc(n, sizeof(*held));
    size_t nsent = 0, nheld = 0;
    int rc;

    if (!ids || !held) {
        rc = SAGA_ERR_NOMEM;
        goto out;
    }
    for (size_t i = 0; i < n; i++)
        if (o[i].result == DELIVERY_OK)
            ids[nsent++] = o[i].row->id;
    if ((rc = saga_db_begin(db)))
        goto out;
    /* nothing here reads the outbox: its rows may wait in writes until the flush */
    if ((rc = saga_db_intercept(db, saga_write_batch_interceptor(writes))) ||
        (rc = notification_store_lock_held(db, token, ids, nsent, held)))
        goto out;
    /* the held ids to the front of ids (k counts delivered outcomes, in ids' order) */
    for (size_t i = 0, k = 0; i < n; i++) {
        if (o[i].result != DELIVERY_OK)
            continue;
        if ((o[i].applied = held[k]))
            ids[nheld++] = ids[k];
        k++;
    }
    if ((rc = notification_store_mark_sent_held(db, token, ids, nheld)))
        goto out;
    for (size_t i = 0; i < n; i++) {
        const notification_row *row = o[i].row;
        if (o[i].result == DELIVERY_OK) {
            if (o[i].applied && (rc = add_sent(db, row)))
                goto out;
        } else if ((rc = notification_store_mark_failed(db, row->id, token, o[i].error,
                                                        o[i].delay_ms, &o[i].applied))) {
            goto out;
        }
    }
    if (writes && (rc = saga_write_batch_flush(db, writes)))
        goto out;
    saga_db_unintercept(db, saga_write_batch_interceptor(writes));
    rc = saga_db_commit(db);
out:
    saga_db_unintercept(db, saga_write_batch_interceptor(writes));
    saga_write_batch_discard(writes); /* NULL is fine; empty after a flush */
    if (rc && saga_db_in_transaction(db))
        saga_db_rollback(db);
    free(held);
    free(ids);
    return rc;
}

/* Records outcomes, retrying a few times on database errors, and logs each. */
static void record(delivery_worker *w, saga_db *db, const char *token, outcome *o, size_t n)
{
    notification_delivery *d = w->d;
    const char *channel = notification_channel_name(w->channel);
    int rc = SAGA_OK;

    if (n == 0)
        return;
    for (unsigned i = 0; i < RECORD_TRIES; i++) {
        if ((rc = record_once(db, w->writes, token, o, n)) == SAGA_OK || !delivery_running(d))
            break;
        sleep_ms(saga_backoff_ms(i, 100, 2000, &w->seed));
    }
    for (size_t i = 0; i < n; i++) {
        const notification_row *row = o[i].row;
        int attempts = row->attempts + 1;
        saga_log_ids ids = {.order_id = row->order_id,
                            .event_id = row->trigger_event_id,
                            .correlation_id = row->order_id};
        saga_log_trace_set(row->traceparent);
        if (rc != SAGA_OK) {
            saga_log_ids(SAGA_LOG_ERROR, "notification.record_failed", &ids,
                         "cannot record the outcome of notification %s (%s): %s; it is tried"
                         " again when its claim lapses",
                         row->id, channel, saga_db_error(db));
        } else if (!o[i].applied) {
            saga_log_ids(SAGA_LOG_WARN, "notification.claim_lost", &ids,
                         "notification %s (%s) was claimed by another pass meanwhile", row->id,
                         channel);
        } else if (o[i].result == DELIVERY_OK) {
            saga_metric_add(d->sent[w->channel], 1);
            if (w->channel != NOTIFY_CH_LOG)
                saga_log_ids(SAGA_LOG_INFO, "notification.sent", &ids,
                             "notification %s sent by %s after %d attempt(s)", row->id, channel,
                             attempts);
        } else if (o[i].delay_ms >= 0) {
            saga_metric_add(d->retried[w->channel], 1);
            saga_log_ids(SAGA_LOG_WARN, "notification.retry", &ids,
                         "notification %s (%s) attempt %d failed: %s; next in %ld ms", row->id,
                         channel, attempts, o[i].error, o[i].delay_ms);
        } else {
            saga_metric_add(d->failed[w->channel], 1);
            saga_log_ids(SAGA_LOG_ERROR, "notification.failed", &ids,
                         "notification %s (%s) failed after %d attempt(s): %s", row->id, channel,
                         attempts, o[i].error);
        }
    }
    saga_log_trace_clear();
}

/* --- the threads --- */

/* Claims due rows of w's channel and delivers them one by one. Outcomes are recorded
 * together (one transaction) at the end of the pass or once the oldest unrecorded one is
 * RECORD_AFTER_MS old, so a burst costs few commits and a crash re-delivers little. The
 * pass stops delivering while there is still time to finish one more delivery within the
 * lease, and gives the rest back. Returns how many rows were claimed, -1 on a database
 * error. */
static long delivery_pass(delivery_worker *w, saga_db *db)
{
    notification_delivery *d = w->d;
    char token[SAGA_UUID_LEN + 1];
    notification_row *rows = NULL;
    outcome *outcomes = NULL;
    uint64_t claimed = 0;
    size_t n = 0, i = 0, pending = 0;
    double claimed_at = saga_clock_mono_s(), first_pending = 0;
    /* the last moment a delivery may start: it ends within the lease, with a margin */
    double deadline = claimed_at + (double)(w->lease_ms - w->timeout_ms - LEASE_MARGIN_MS) / 1e3;
    int rc;

    saga_uuid_v7(token);
    rc = notification_store_claim(db, w->channel, token, w->lease_ms, d->set.batch, &claimed);
    if (rc) {
        LOG_WARN("notification.claim_failed", "cannot claim due %s notifications: %s",
                 notification_channel_name(w->channel), saga_db_error(db));
        return -1;
    }
    if (claimed == 0)
        return 0;
    rc = notification_store_claimed(db, token, &rows, &n);
    if (rc == SAGA_OK && n > 0 && !(outcomes = calloc(n, sizeof(*outcomes))))
        rc = SAGA_ERR_NOMEM;
    if (rc) {
        LOG_WARN("notification.claim_failed", "cannot read claimed notifications: %s",
                 rc == SAGA_ERR_NOMEM ? "out of memory" : saga_db_error(db));
        notification_store_release(db, token);
        notification_rows_free(rows, n);
        return -1;
    }
    for (i = 0; i < n && delivery_running(d) && saga_clock_mono_s() < deadline; i++) {
        outcome *o = &outcomes[pending];
        double started = saga_clock_mono_s();
        char err[1024] = "";

        o->row = &rows[i];
        o->result = deliver(w, o->row, err, sizeof(err));
        if (o->result == DELIVERY_ABORTED)
            break;
        saga_metric_observe(d->seconds[w->channel], saga_clock_mono_s() - started);
        o->delay_ms = -1;
        if (o->result == DELIVERY_RETRY &&
            !notification_retry_next(o->row->attempts + 1, (int)d->set.max_attempts,
                                     d->set.retry_base_ms, d->set.retry_max_ms, &w->seed,
                                     &o->delay_ms))
            o->delay_ms = -1;
        notification_error_clip(err, o->error, sizeof(o->error));
        if (pending++ == 0)
            first_pending = started;
        if (saga_clock_mono_s() - first_pending >= RECORD_AFTER_MS / 1e3) {
            record(w, db, token, outcomes, pending);
            pending = 0;
        }
    }
    record(w, db, token, outcomes, pending);
    if (i < n) /* stopping or out of lease: the rest go back, for this or another instance */
        notification_store_release(db, token);
    free(outcomes);
    notification_rows_free(rows, n);
    return (long)claimed;
}

static void *delivery_main(void *arg)
{
    delivery_worker *w = arg;
    notification_delivery *d = w->d;

    if (w->channel != NOTIFY_CH_LOG && !(w->curl = curl_easy_init()))
        LOG_ERROR("notification.curl_failed", "cannot create a curl handle: %s deliveries fail",
                  notification_channel_name(w->channel));
    if (!(w->writes = saga_write_batch_new()))
        LOG_WARN("notification.batch_failed",
                 "out of memory for a write batch: %s outcomes insert their events one by one",
                 notification_channel_name(w->channel));
    LOG_INFO("notification.delivery_started",
             "%s delivery thread started (lease %ld ms, batch %ld, poll %ld ms)",
             notification_channel_name(w->channel), w->lease_ms, d->set.batch, d->set.poll_ms);
    while (delivery_running(d)) {
        saga_db *db = saga_service_thread_db(d->svc);
        long claimed;

        if (!db) {
            delivery_wait(w, d->set.poll_ms);
            continue;
        }
        pthread_mutex_lock(&d->lock);
        w->wake_pending = false;
        pthread_mutex_unlock(&d->lock);
        claimed = delivery_pass(w, db);
        if (claimed >= d->set.batch)
            continue; /* more may be due */
        delivery_wait(w, d->set.poll_ms);
    }
    curl_easy_cleanup(w->curl);
    w->curl = NULL;
    saga_write_batch_free(w->writes);
    w->writes = NULL;
    LOG_INFO("notification.delivery_stopped", "%s delivery thread stopped",
             notification_channel_name(w->channel));
    return NULL;
}

int notification_delivery_start(notification_delivery *d, saga_service *svc)
{
    d->svc = svc;
    for (int ch = 0; ch < NOTIFY_CH_COUNT; ch++) {
        delivery_worker *w = &d->workers[ch];
        if (!(d->set.channels & NOTIFY_CH_BIT(ch)))
            continue;
        if (pthread_create(&w->thread, NULL, delivery_main, w) != 0) {
            LOG_ERROR("notification.start_failed", "cannot start the %s delivery thread",
                      notification_channel_name(w->channel));
            return SAGA_ERR_INTERNAL; /* the stop hook joins those already started */
        }
        w->started = true;
    }
    return SAGA_OK;
}

void notification_delivery_stop(notification_delivery *d)
{
    if (!d)
        return;
    pthread_mutex_lock(&d->lock);
    atomic_store(&d->stopping, true);
    pthread_cond_broadcast(&d->cond);
    pthread_mutex_unlock(&d->lock);
    for (int ch = 0; ch < NOTIFY_CH_COUNT; ch++) {
        delivery_worker *w = &d->workers[ch];
        if (w->started)
            pthread_join(w->thread, NULL);
        w->started = false;
    }
}

void notification_delivery_free(notification_delivery *d)
{
    if (!d)
        return;
    pthread_cond_destroy(&d->cond);
    pthread_mutex_destroy(&d->lock);
    free(d);
}
