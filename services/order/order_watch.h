/* order_watch.h - who waits for an order's outcome.
 *
 * A process-wide generation counter and condition variable that
 * GET /api/orders/{id}?wait= sleeps on. Whoever settles an order (CONFIRMED or
 * CANCELLED) notifies it with the order id, always after the commit that settled
 * it: the consumer's handlers gather the ids of their batch and notify once it has
 * committed (order_watch_after_commit; nothing for an attempt that rolls back), the
 * API and the sweeper after their own commit. So a woken waiter re-reads the settled
 * order. */
#ifndef ORDER_WATCH_H
#define ORDER_WATCH_H

#include <pthread.h>
#include <stdbool.h>

#include "order.h"
#include "saga/db.h"

#define ORDER_WATCH_RING 4096

typedef struct order_watch {
    pthread_mutex_t mu;
    pthread_cond_t cv; /* on CLOCK_MONOTONIC */
    unsigned long long gen;
    char ring[ORDER_WATCH_RING][ORDER_ID_MAX + 1]; /* ring[g % size]: the id of notify g */
} order_watch;

/* Initialises w; 0 or an errno value. Destroy with order_watch_destroy. */
int order_watch_init(order_watch *w);
void order_watch_destroy(order_watch *w);

/* The current generation: take it before reading the order, then wait from it (a
 * notify after it is of a commit the read may have missed). */
unsigned long long order_watch_snapshot(order_watch *w);

/* Records that order_id changed (settled) and wakes every waiter. */
void order_watch_notify(order_watch *w, const char *order_id);

/* Sleeps until a notify for order_id later than *seen, or until until_ms
 * (CLOCK_MONOTONIC milliseconds, see saga_clock_mono_ms). Returns true if there
 * was such a notify (or too many notifies to tell); *seen advances to the
 * generation it saw. */
bool order_watch_wait(order_watch *w, const char *order_id, unsigned long long *seen,
                      long long until_ms);

/* Notes that db's open transaction settles order_id: w is notified of it once that
 * transaction commits (saga_db_after_commit), never for an attempt that rolls back.
 * Only the consumer thread calls it. SAGA_OK or SAGA_ERR_NOMEM. */
int order_watch_after_commit(order_watch *w, saga_db *db, const char *order_id);

#endif
