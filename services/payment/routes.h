/* routes.h - payment-service's REST API (see docs/DOMAIN.md and openapi.json).
 *
 * GET/PUT /api/wallets/{customerId}, POST /api/wallets/{customerId}/topup,
 * GET /api/payments/{orderId}, GET /openapi.json. Each handler takes the calling
 * thread's own MySQL connection and runs its own transaction. */
#ifndef PAYMENT_ROUTES_H
#define PAYMENT_ROUTES_H

#include <stddef.h>

#include "saga/http.h"
#include "payment_events.h"

/* The route table for saga_service_def (userdata: the service, whose own userdata
 * is a payment_ctx). */
extern const saga_http_route payment_routes[];
extern const size_t payment_nroutes;

/* Reads ctx->openapi_path into ctx->openapi (freed by payment_openapi_free). On
 * failure logs a warning and leaves it NULL: GET /openapi.json then answers 404.
 * Returns SAGA_OK or the failure's code. */
int payment_openapi_load(payment_ctx *ctx);
void payment_openapi_free(payment_ctx *ctx);

#endif
