/* payment_service.h - payment-service's own state (saga_service_def.ud), shared by
 * its routes and its event handlers, and its metrics. Filled in by main.c from the
 * environment before the service starts; read-only afterwards. */
#ifndef PAYMENT_SERVICE_H
#define PAYMENT_SERVICE_H

#include "saga/metrics.h"
#include "payment.h"

typedef struct payment_service {
    payment_rules rules; /* SAGA_PAYMENT_LIMIT, PAYMENT_FAILURE_RATE */
    long latency_ms;     /* PAYMENT_LATENCY_MS: sleep before each charge decision */
    saga_metric *parked; /* saga_payment_parked_reservations (payment_parked_gauge_refresh) */
} payment_service;

#endif
