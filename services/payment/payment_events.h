/* payment_events.h - what payment-service consumes and emits.
 *
 * Consumes OrderCreated and OrderCancelled (order-events) and InventoryReserved
 * (inventory-events); emits PaymentCompleted, PaymentFailed and PaymentRefunded on
 * payment-events
 * through the outbox, in the consumer's batch transaction. The handlers follow
 * consumer.h: SAGA_OK, SAGA_ERR_INVALID (with meta->err) for an event that can
 * never be applied, database errors as they are. */
#ifndef PAYMENT_EVENTS_H
#define PAYMENT_EVENTS_H

#include <stddef.h>

#include "saga/consumer.h"
#include "payment.h"

#define PAYMENT_TOPIC "payment-events"
#define PAYMENT_SOURCE "/payment-service"

/* The handler table for saga_service_def (ud: the payment_service, payment_service.h). */
extern const saga_handler payment_handlers[];
extern const size_t payment_nhandlers;

/* OrderCreated: record the order in known_orders (once; a second OrderCreated of the
 * order for another customer is rejected). If a reservation of the order is parked,
 * decide it now as InventoryReserved would, caused by the parked event, and delete
 * it; a parked reservation of another customer is dropped without a charge. */
int payment_on_order_created(saga_db *db, const saga_event *ev, saga_msg_meta *meta, void *ud);

/* InventoryReserved: for an order not in known_orders (its OrderCreated, on another
 * topic, not consumed yet), park it in pending_reservations and do nothing else.
 * Otherwise reject it if the order is another customer's; unless the order was seen
 * cancelled or already has a payment, apply the decline rules under the wallet's row
 * lock: a DECLINED row and PaymentFailed, or balance -= amount, a CAPTURED row and
 * PaymentCompleted. PAYMENT_LATENCY_MS is slept before a charge decision: it slows
 * the whole consumer, on purpose. */
int payment_on_inventory_reserved(saga_db *db, const saga_event *ev, saga_msg_meta *meta, void *ud);

/* OrderCancelled: rejected ("unknown order <id>") for an order not in known_orders,
 * or of another customer. Else record the cancellation (once); refund a CAPTURED
 * payment (balance += amount, REFUNDED, PaymentRefunded), exactly once. */
int payment_on_order_cancelled(saga_db *db, const saga_event *ev, saga_msg_meta *meta, void *ud);

/* A saga_metrics_on_render function (ud: the saga_service): sets the gauge
 * saga_payment_parked_reservations (payment_service.parked) to the number of parked reservations,
 * read with the rendering thread's connection. Leaves it as it was if MySQL cannot be read. */
void payment_parked_gauge_refresh(void *ud);

#endif
