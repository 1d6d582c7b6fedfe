/* routes.h - order-service's HTTP API (docs/DOMAIN.md, services/order/openapi.json):
 *
 *   POST /api/orders                 create (Idempotency-Key, sold-out hint)
 *   GET  /api/orders                 list: ?customerId=&status=&limit=&after=
 *   GET  /api/orders/{id}            one order; ?wait=0..30 s for its outcome
 *   GET  /api/orders/{id}/events     its saga history
 *   POST /api/orders/{id}/cancel     the customer's cancel
 *
 * The handlers find the service with saga_service_from_request and their state
 * (order_service) with saga_service_userdata. */
#ifndef ORDER_ROUTES_H
#define ORDER_ROUTES_H

#include <stddef.h>

#include "saga/http.h"

extern const saga_http_route order_routes[];
extern const size_t order_nroutes;

#endif
