/* routes.h - notification-service's HTTP routes (besides /health, /ready, /metrics).
 *
 * GET /api/notifications?orderId=  -> {"items":[...]} (notification_store_list); 400
 *                                      naming orderId when it is missing or too long
 * GET /openapi.json                -> the OpenAPI description (SAGA_OPENAPI_FILE) */
#ifndef NOTIFICATION_ROUTES_H
#define NOTIFICATION_ROUTES_H

#include <stddef.h>

#include "saga/http.h"

extern const saga_http_route notification_routes[];
extern const size_t notification_nroutes;

/* Reads the OpenAPI file (SAGA_OPENAPI_FILE, default services/notification/openapi.json,
 * relative to the working directory) into memory. A missing or unreadable file is logged;
 * GET /openapi.json then answers 404. Call once before the HTTP server starts. */
void notification_routes_init(void);
/* Frees what notification_routes_init read. */
void notification_routes_free(void);

#endif
