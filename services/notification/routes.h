/* routes.h - notification-service's HTTP routes (besides /health, /ready, /metrics, /openapi.json).
 *
 * GET /api/notifications?orderId=  -> {"items":[...]} (notification_store_list); 400
 *                                      naming orderId when it is missing or too long */
#ifndef NOTIFICATION_ROUTES_H
#define NOTIFICATION_ROUTES_H

#include <stddef.h>

#include "saga/http.h"

extern const saga_http_route notification_routes[];
extern const size_t notification_nroutes;


#endif
