/* order_events.h - what order-service consumes and emits, and who waits for it.
 *
 * - order_events_handle: the consumer's handler for InventoryReserved,
 *   InventoryShortage, InventoryReleased, PaymentCompleted, PaymentFailed and
 *   PaymentRefunded (rules in order.h, order_step_decide).
 * - order_events_create / order_events_cancel: the API's and the sweeper's
 *   transitions, which emit OrderCreated and OrderCancelled.
 * Every function runs in the caller's open transaction on db: the state change,
 * its saga history rows and its outbox rows commit together.
 *
 * - order_watch: a process-wide generation counter and condition variable that
 *   GET /api/orders/{id}?wait= sleeps on. Whoever settles an order (CONFIRMED or
 *   CANCELLED) notifies it with the order id, always after the commit that
 *   settled it: the consumer's handlers gather the ids of their batch and notify
 *   once it has committed (saga_db_after_commit; nothing for an attempt that rolls
 *   back), the API and the sweeper after their own commit. So a woken waiter
 *   re-reads the settled order. */
#ifndef ORDER_EVENTS_H
#define ORDER_EVENTS_H

#include <pthread.h>
#include <stdbool.h>

#include "order.h"
#include "saga/consumer.h"
#include "saga/db.h"
#include "saga/envelope.h"

#define ORDER_TOPIC "order-events"
#define ORDER_SOURCE "/order-service"
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

/* The consumer's handler for every event type order-service consumes; ud is the
 * service's order_app (order_app.h), whose watch it notifies after the batch commits;
 * only the consumer thread may call it. Locks the order row first. Returns
 * SAGA_ERR_INVALID, with the reason in meta->err, for an event that can never be applied (dead
 * letter): about an unknown order ("unknown order <id>"), a subject other than its orderId, a
 * customerId or currency other than the order's, or a PaymentCompleted whose amount differs from
 * the amount inventory reserved. Database errors are returned as they are. */
int order_events_handle(saga_db *db, const saga_event *ev, saga_msg_meta *meta, void *ud);

/* Inserts the new order o (PENDING, its lines and times filled in), its history
 * (api CreateOrder, then emitted OrderCreated) and OrderCreated into the outbox.
 * traceparent goes with the event and into the api row's detail; idem_key (may be
 * NULL) into the detail too. */
int order_events_create(saga_db *db, const order *o, const char *idem_key, const char *traceparent);

/* Applies ORDER_IN_TIMEOUT or ORDER_IN_CUSTOMER_CANCEL to the order: locks it,
 * re-checks its state, and when the rules allow, cancels it (history, outbox
 * OrderCancelled) and sets *changed. traceparent NULL: the one the order was
 * created with is reused. Returns SAGA_ERR_NOT_FOUND for an unknown order,
 * SAGA_ERR_CONFLICT for a customer's cancel of a cancelled order, SAGA_OK with
 * *changed false when the order no longer qualifies (a timeout of a settled
 * order). *out gets the order row after the step (without its lines). */
int order_events_cancel(saga_db *db, const char *order_id, order_input in, const char *traceparent,
                        order *out, bool *changed);

#endif
