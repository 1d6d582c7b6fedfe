/* notification_events.h - what notification-service consumes and emits.
 *
 * Consumes order-events: OrderCreated records the order and its customer (known_orders);
 * OrderConfirmed and OrderCancelled add one PENDING notification per configured channel,
 * in the consumer's batch transaction, then wake the delivery thread. A terminal event
 * about an order never seen created ("unknown order <id>") or naming another customer
 * is rejected (dead letter): order-events keeps one order's events in order, so its
 * OrderCreated would have come first.
 * NotificationSent (notification-events) is written by the delivery threads
 * (notification_delivery.h) when a notification has been delivered. */
#ifndef NOTIFICATION_EVENTS_H
#define NOTIFICATION_EVENTS_H

#include <stddef.h>

#include "saga/consumer.h"
#include "saga/db.h"
#include "notification_store.h"

/* The handler table for saga_service_def (ud: the notification_service,
 * notification_service.h). */
extern const saga_handler notification_handlers[];
extern const size_t notification_nhandlers;

#endif
