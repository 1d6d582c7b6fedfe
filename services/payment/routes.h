/* routes.h - payment-service's REST API (see docs/DOMAIN.md and openapi.json).
 *
 * GET/PUT /api/wallets/{customerId}, POST /api/wallets/{customerId}/topup,
 * GET /api/payments/{orderId}. Each handler takes the calling
 * thread's own MySQL connection and runs its own transaction. */
#ifndef PAYMENT_ROUTES_H
#define PAYMENT_ROUTES_H

#include <stddef.h>

#include "saga/http.h"

/* The route table for saga_service_def (userdata: the service, whose own userdata
 * is the payment_service). */
extern const saga_http_route payment_routes[];
extern const size_t payment_nroutes;


#endif
