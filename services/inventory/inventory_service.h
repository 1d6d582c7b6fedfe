/* inventory_service.h - inventory-service's own state (saga_service_def.ud), shared
 * by its routes and its event handlers. Filled in by main.c (SAGA_CURRENCY) and by
 * the runtime's init hook (cfg) before any thread starts; read-only afterwards. */
#ifndef INVENTORY_SERVICE_H
#define INVENTORY_SERVICE_H

#include "saga/config.h"
#include "saga/metrics.h"

#define INVENTORY_SOURCE "/inventory-service"
#define INVENTORY_TOPIC "inventory-events"

typedef struct inventory_service {
    const saga_config *cfg; /* the runtime's (saga_service_config): Redis for the hints */
    char currency[4];       /* SAGA_CURRENCY: the shop currency prices are in */
    /* added to after a batch commits (inventory_events_metrics_init registers them):
     * saga_inventory_orders_total{outcome}, saga_inventory_reservation_lines_total{status},
     * saga_inventory_events_ignored_total */
    saga_metric *reserved, *shortage;
    saga_metric *committed, *released, *restocked;
    saga_metric *ignored;
} inventory_service;

#endif
