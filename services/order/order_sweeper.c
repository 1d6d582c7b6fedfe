/* order_sweeper.c - the deadline sweeper thread (see order_sweeper.h). */
#include "order_sweeper.h"

#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include "order_events.h"
#include "order_store.h"
#include "saga/clock.h"
#include "saga/err.h"
#include "saga/log.h"
#include "saga/metrics.h"

#define SWEEP_BATCH_MAX 1000
#define SWEEP_TX_ATTEMPTS 3

struct order_sweeper {
    saga_service *svc;
    order_service *app;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv; /* on CLOCK_MONOTONIC */
    bool stop;
    saga_db_lock lock; /* "sweeper": the instance holding it sweeps */
    saga_metric *past_deadline, *timeouts, *failures;
};

static bool sweeper_stopping(order_sweeper *s)
{
    pthread_mutex_lock(&s->mu);
    bool stop = s->stop;
    pthread_mutex_unlock(&s->mu);
    return stop || !saga_service_running(s->svc);
}

/* Sleeps one interval, or less if stopped. */
static void sweeper_nap(order_sweeper *s)
{
    struct timespec ts;
    saga_clock_deadline(&ts, s->app->sweep_interval_ms);
    pthread_mutex_lock(&s->mu);
    while (!s->stop && pthread_cond_timedwait(&s->cv, &s->mu, &ts) == 0)
        ;
    pthread_mutex_unlock(&s->mu);
}

/* Holds the sweeper lock on db's current connection, taking it if needed (as the
 * outbox relay does). True if this instance sweeps. */
static bool sweeper_hold_lock(order_sweeper *s, saga_db *db)
{
    bool taken;

    if (!saga_db_lock_hold(db, &s->lock, &taken))
        return false;
    if (taken)
        LOG_INFO("sweeper.leader", "this instance now cancels orders past their deadline");
    return true;
}

typedef struct sweep_call {
    const char *id;
    order o;
    bool changed;
} sweep_call;

static int sweep_tx(saga_db *db, void *ud)
{
    sweep_call *call = ud;
    call->changed = false;
    return order_events_cancel(db, call->id, ORDER_IN_TIMEOUT, NULL, &call->o, &call->changed);
}

/* Cancels one due order in its own transaction; true if it was cancelled. */
static bool sweeper_cancel(order_sweeper *s, saga_db *db, const char *id)
{
    sweep_call call = {.id = id};
    int rc = saga_db_transaction(db, SWEEP_TX_ATTEMPTS, sweep_tx, &call);
    bool changed = call.changed;

    if (rc != SAGA_OK) {
        saga_log_ids ids = {.order_id = id, .correlation_id = id};
        saga_log_ids(SAGA_LOG_WARN, "sweeper.cancel_failed", &ids,
                     "cannot cancel order past its deadline (%s: %s); next pass retries",
                     saga_rc_str(rc), saga_db_error(db));
        saga_metric_add(s->failures, 1);
        return false;
    }
    if (!changed)
        return false; /* settled meanwhile */
    saga_metric_add(s->timeouts, 1);
    order_watch_notify(&s->app->watch, id);
    saga_log_ids ids = {.order_id = id, .correlation_id = id};
    saga_log_ids(SAGA_LOG_INFO, "sweeper.timeout", &ids, "order cancelled: past its deadline");
    return true;
}

static void sweeper_pass(order_sweeper *s, saga_db *db)
{
    size_t max = (size_t)s->app->sweep_batch;
    char(*ids)[ORDER_ID_MAX + 1] = calloc(max, sizeof(*ids));
    size_t n = 0, cancelled;

    if (!ids)
        return;
    do {
        cancelled = 0;
        if (order_store_due(db, saga_clock_wall_ms(), max, ids, &n) != SAGA_OK) {
            LOG_WARN("sweeper.scan_failed", "cannot read due orders: %s", saga_db_error(db));
            break;
        }
        for (size_t i = 0; i < n && !sweeper_stopping(s); i++)
            cancelled += sweeper_cancel(s, db, ids[i]);
        /* a full batch: more may be due, unless none of it could be cancelled */
    } while (n == max && cancelled > 0 && !sweeper_stopping(s));
    free(ids);
}

static void *sweeper_main(void *arg)
{
    order_sweeper *s = arg;

    while (!sweeper_stopping(s)) {
        sweeper_nap(s);
        if (sweeper_stopping(s))
            break;
        saga_db *db = saga_service_thread_db(s->svc);
        if (!db)
            continue; /* MySQL down: try again next interval */
        if (sweeper_hold_lock(s, db))
            sweeper_pass(s, db);
        long long due = 0;
        if (order_store_count_due(db, saga_clock_wall_ms(), &due) == SAGA_OK)
            saga_metric_set(s->past_deadline, (double)due);
    }
    /* the thread's connection, and with it the lock, closes when the thread exits */
    return NULL;
}

order_sweeper *order_sweeper_start(saga_service *svc, order_service *app)
{
    order_sweeper *s = calloc(1, sizeof(*s));

    if (!s)
        return NULL;
    s->svc = svc;
    s->app = app;
    s->lock.name = "sweeper";
    if (app->sweep_batch < 1 || app->sweep_batch > SWEEP_BATCH_MAX)
        app->sweep_batch = 50;
    s->past_deadline = saga_metrics_gauge(
        "saga_orders_past_deadline",
        "Orders PENDING or AWAITING_PAYMENT at or past their deadline after the last sweep", "");
    s->timeouts = saga_metrics_counter("saga_orders_timed_out_total",
                                       "Orders the sweeper cancelled with reason TIMEOUT", "");
    s->failures =
        saga_metrics_counter("saga_sweeper_failures_total",
                             "Timeout cancellations that failed and wait for the next pass", "");
    pthread_mutex_init(&s->mu, NULL);
    if (saga_clock_cond_init(&s->cv) != 0) {
        pthread_mutex_destroy(&s->mu);
        free(s);
        return NULL;
    }
    if (pthread_create(&s->thread, NULL, sweeper_main, s) != 0) {
        pthread_cond_destroy(&s->cv);
        pthread_mutex_destroy(&s->mu);
        free(s);
        return NULL;
    }
    LOG_INFO("sweeper.started", "cancelling orders past their deadline every %ld ms",
             app->sweep_interval_ms);
    return s;
}

void order_sweeper_stop(order_sweeper *s)
{
    if (!s)
        return;
    pthread_mutex_lock(&s->mu);
    s->stop = true;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
    pthread_join(s->thread, NULL);
    pthread_cond_destroy(&s->cv);
    pthread_mutex_destroy(&s->mu);
    free(s);
}
