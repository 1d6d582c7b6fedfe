/* inventory_service.h - inventory-service's own state (saga_service_def.ud), shared
 * by its routes and its event handlers. Filled in by main.c (SAGA_CURRENCY) and by
 * the runtime's init hook (cfg) before any thread starts; read-only afterwards. */
#ifndef INVENTORY_SERVICE_H
#define INVENTORY_SERVICE_H

#include "saga/config.h"

#define INVENTORY_SOURCE "/inventory-service"
#define INVENTORY_TOPIC "inventory-events"

typedef struct inventory_service {
    const saga_config *cfg; /* the runtime's (saga_service_config): Redis for the hints */
    char currency[4];       /* SAGA_CURRENCY: the shop currency prices are in */
} inventory_service;

#endif
