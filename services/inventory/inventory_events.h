/* inventory_events.h - what inventory-service consumes (order-events) and emits
 * (inventory-events), and the sold-out hint it keeps in Redis.
 *
 * - OrderCreated: lock the lines' products in sku order; hold every line or none;
 *   InventoryReserved (priced) or InventoryShortage.
 * - OrderConfirmed: HELD -> COMMITTED (reserved -> sold); no event.
 * - OrderCancelled: HELD -> RELEASED, COMMITTED -> RESTOCKED; InventoryReleased if
 *   anything moved.
 * - OrderConfirmed or OrderCancelled for an order with no order_outcomes row (never
 *   seen created) or of another customer: rejected, "unknown order <id>" (dead letter).
 * Each runs in the consumer's batch transaction (ud: the inventory_service) and locks
 * the order's outcome row or its products first; status guards and the inbox make
 * every effect happen once. The sold-out hints a handler changes and the counters
 * it adds to are published only after the batch commits (nothing of an attempt
 * that rolls back); only the consumer thread may run them. */
#ifndef INVENTORY_EVENTS_H
#define INVENTORY_EVENTS_H

#include <stddef.h>

#include "saga/consumer.h"
#include "inventory_service.h"

/* Registers the handlers' counters in st (the service's init hook, before the consumer
 * starts). */
void inventory_events_metrics_init(inventory_service *st);

/* The handler table for saga_service_def (ud: the inventory_service). */
extern const saga_handler inventory_handlers[];
extern const size_t inventory_nhandlers;

/* Sets (available 0: SET saga:soldout:<sku> EX 60) or deletes (available > 0) the
 * sold-out hint of sku now, through the calling thread's own Redis handle: call it
 * after the commit that changed the stock. Never fails:
 * Redis being down is logged at debug level and counted by the Redis module. */
void inventory_hint_update(const inventory_service *ctx, const char *sku, long long available);

#endif
