/* inventory_service.h - the service's state, shared by main.c, routes.c and the
 * event handlers, and the HTTP routes (routes.c). */
#ifndef INVENTORY_SERVICE_H
#define INVENTORY_SERVICE_H

#include <stddef.h>

#include "saga/config.h"
#include "saga/http.h"

#define INVENTORY_SOURCE "/inventory-service"
#define INVENTORY_TOPIC "inventory-events"

/* The service's own state (saga_service_def.ud); filled by main before the runtime
 * starts, read-only afterwards. */
typedef struct inventory_ctx {
    saga_config cfg;  /* the runtime's settings, loaded again here for Redis */
    char currency[4]; /* SAGA_CURRENCY: the shop currency prices are in */
} inventory_ctx;

/* Routes besides /health, /ready, /metrics; the server's ud is the saga_service. */
extern const saga_http_route inventory_routes[];
extern const size_t inventory_nroutes;

#endif
