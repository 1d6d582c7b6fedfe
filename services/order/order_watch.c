/* order_watch.c - the watch GET /api/orders/{id}?wait= sleeps on (see order_watch.h). */
#include "order_watch.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "saga/clock.h"
#include "saga/err.h"

/* --- the watch --- */

int order_watch_init(order_watch *w)
{
    int rc;

    memset(w, 0, sizeof(*w));
    if ((rc = pthread_mutex_init(&w->mu, NULL)))
        return rc;
    if ((rc = saga_clock_cond_init(&w->cv)) == 0)
        return 0;
    pthread_mutex_destroy(&w->mu);
    return rc;
}

void order_watch_destroy(order_watch *w)
{
    pthread_cond_destroy(&w->cv);
    pthread_mutex_destroy(&w->mu);
}

unsigned long long order_watch_snapshot(order_watch *w)
{
    pthread_mutex_lock(&w->mu);
    unsigned long long gen = w->gen;
    pthread_mutex_unlock(&w->mu);
    return gen;
}

void order_watch_notify(order_watch *w, const char *order_id)
{
    pthread_mutex_lock(&w->mu);
    w->gen++;
    snprintf(w->ring[w->gen % ORDER_WATCH_RING], ORDER_ID_MAX + 1, "%s", order_id);
    pthread_cond_broadcast(&w->cv);
    pthread_mutex_unlock(&w->mu);
}

/* Under the mutex: was order_id notified after generation seen? */
static bool watch_match(const order_watch *w, const char *order_id, unsigned long long seen)
{
    if (w->gen - seen >= ORDER_WATCH_RING)
        return true; /* overwritten: cannot tell, so re-read */
    for (unsigned long long g = seen + 1; g <= w->gen; g++)
        if (strcmp(w->ring[g % ORDER_WATCH_RING], order_id) == 0)
            return true;
    return false;
}

bool order_watch_wait(order_watch *w, const char *order_id, unsigned long long *seen,
                      long long until_ms)
{
    struct timespec until = {.tv_sec = (time_t)(until_ms / 1000),
                             .tv_nsec = (long)(until_ms % 1000) * 1000000L};
    bool hit = false;

    pthread_mutex_lock(&w->mu);
    for (;;) {
        if (w->gen != *seen) {
            hit = watch_match(w, order_id, *seen);
            *seen = w->gen;
            if (hit)
                break;
        }
        int rc = pthread_cond_timedwait(&w->cv, &w->mu, &until);
        if (rc == ETIMEDOUT || rc == EINVAL) {
            if (w->gen != *seen) {
                hit = watch_match(w, order_id, *seen);
                *seen = w->gen;
            }
            break;
        }
    }
    pthread_mutex_unlock(&w->mu);
    return hit;
}

/* --- the orders a consumer batch settles --- */

/* The orders the consumer's open transaction settles, whose waiters are woken once
 * it commits (saga_db_after_commit). Only the consumer thread gathers them. They
 * belong to the transaction `serial` of `db`; found under another serial they are
 * left over from a transaction that did not commit, and are dropped. `ids` stays
 * allocated between batches (a file-scope pointer, freed with the process). */
typedef struct settled_orders {
    order_watch *watch;
    const saga_db *db;
    unsigned long long serial;
    char (*ids)[ORDER_ID_MAX + 1];
    size_t n, cap;
} settled_orders;

static settled_orders settled;

static void settled_notify(void *ud)
{
    settled_orders *s = ud;
    for (size_t i = 0; i < s->n; i++)
        order_watch_notify(s->watch, s->ids[i]);
    s->n = 0;
    s->db = NULL;
}

int order_watch_after_commit(order_watch *watch, saga_db *db, const char *order_id)
{
    settled_orders *s = &settled;
    unsigned long long serial = saga_db_tx_serial(db);

    if (s->db != db || s->serial != serial) {
        s->n = 0;
        s->db = db;
        s->serial = serial;
    }
    s->watch = watch;
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 64;
        void *ids = realloc(s->ids, cap * sizeof(*s->ids));
        if (!ids)
            return SAGA_ERR_NOMEM;
        s->ids = ids;
        s->cap = cap;
    }
    snprintf(s->ids[s->n], sizeof(s->ids[s->n]), "%s", order_id);
    s->n++;
    return saga_db_after_commit(db, settled_notify, s);
}
