/* order_events.h - what order-service consumes and emits.
 *
 * - order_events_handle: the consumer's handler for InventoryReserved,
 *   InventoryShortage, InventoryReleased, PaymentCompleted, PaymentFailed and
 *   PaymentRefunded (rules in order.h, order_step_decide).
 * - order_events_create / order_events_cancel: the API's and the sweeper's
 *   transitions, which emit OrderCreated and OrderCancelled.
 * Every function runs in the caller's open transaction on db: the state change,
 * its saga history rows and its outbox rows commit together.
 *
 * Whoever settles an order notifies the watch (order_watch.h) after the commit. */
#ifndef ORDER_EVENTS_H
#define ORDER_EVENTS_H

#include <stdbool.h>

#include "order.h"
#include "order_commit.h"
#include "saga/consumer.h"
#include "saga/db.h"
#include "saga/envelope.h"

#define ORDER_TOPIC "order-events"
#define ORDER_SOURCE "/order-service"

/* The handler table for saga_service_def (ud: the order_service): every event type
 * order-service consumes, each locking its order first (the consumer locks the
 * batch's orders at once). */
extern const saga_handler order_handlers[];
extern const size_t order_nhandlers;

/* The consumer's handler for every event type order-service consumes; ud is the
 * service's order_service (order_service.h), whose watch it notifies after the batch
 * commits; only the consumer thread may call it. Locks the order row first. Returns
 * SAGA_ERR_INVALID, with the reason in meta->err, for an event that can never be applied (dead
 * letter): about an unknown order ("unknown order <id>"), a subject other than its orderId, a
 * customerId or currency other than the order's, or a PaymentCompleted whose amount differs from
 * the amount inventory reserved. Database errors are returned as they are. */
int order_events_handle(saga_db *db, const saga_event *ev, saga_msg_meta *meta, void *ud);

/* Inserts the creation's idempotency key (when it has one), the new order job->o
 * (PENDING, its lines and times filled in), its history (api CreateOrder, then emitted
 * OrderCreated) and OrderCreated into the outbox. The traceparent goes with the event
 * and into the api row's detail; the idempotency key into the detail too. The
 * committer's order_creation_write_fn (order_commit.h). */
int order_events_create(saga_db *db, const order_creation *job);

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
