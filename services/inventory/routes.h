/* routes.h - inventory-service's HTTP API (docs/DOMAIN.md, openapi.json).
 *
 *   GET  /api/products?limit=&after=     keyset page by sku
 *   GET  /api/products/{sku}
 *   PUT  /api/products/{sku}             {"name","price","stock"?}: 201 created, 200 updated
 *   POST /api/products/{sku}/restock     {"quantity": 1..1000000}
 *   GET  /api/inventory/{sku}            {"sku","available","reserved","sold"}
 *
 * The handlers find the service with saga_service_from_request and its state
 * (inventory_service) with saga_service_userdata. */
#ifndef INVENTORY_ROUTES_H
#define INVENTORY_ROUTES_H

#include <stddef.h>

#include "saga/http.h"

/* Routes besides /health, /ready, /metrics; the server's ud is the saga_service. */
extern const saga_http_route inventory_routes[];
extern const size_t inventory_nroutes;

#endif
