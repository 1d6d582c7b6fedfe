/* notification_service.h - notification-service's own state (saga_service_def.ud),
 * shared by its routes and its event handlers. Filled in by main.c before the
 * service starts; the delivery threads (notification_delivery.h) keep their own
 * metrics, per channel. */
#ifndef NOTIFICATION_SERVICE_H
#define NOTIFICATION_SERVICE_H

#include "notification_delivery.h"

typedef struct notification_service {
    notification_settings settings;  /* SAGA_NOTIFY_*, SAGA_WEBHOOK_*, SAGA_SMTP_* */
    notification_delivery *delivery; /* the delivery threads: started by the start hook */
} notification_service;

#endif
