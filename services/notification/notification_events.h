/* notification_events.h - what notification-service consumes and emits.
 *
 * Consumes OrderConfirmed and OrderCancelled (order-events): one PENDING notification per
 * configured channel, in the consumer's batch transaction, then wakes the delivery thread.
 * Emits NotificationSent (notification-events) when a notification has been delivered. */
#ifndef NOTIFICATION_EVENTS_H
#define NOTIFICATION_EVENTS_H

#include <stddef.h>

#include "saga/consumer.h"
#include "saga/db.h"
#include "notification_store.h"

/* The handlers; their ud is the service's notification_delivery (notification_delivery.h). */
extern const saga_handler notification_handlers[];
extern const size_t notification_nhandlers;

/* Writes NotificationSent(orderId, notificationId, channel, trigger) for a delivered row to
 * the outbox, in db's open transaction: caused by the trigger event, with its traceparent. */
int notification_events_add_sent(saga_db *db, const notification_row *row);

#endif
