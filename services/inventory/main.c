/* inventory-service: products (price and stock) and reservations.
 *
 * Wiring only: the runtime in common/ (service.h) does the rest. Its own settings:
 *   SAGA_CURRENCY      (default EUR)  the shop currency prices are in; an order in
 *                                     another currency is dead-lettered */
#include <stdio.h>
#include <stdlib.h>

#include "saga/err.h"
#include "saga/log.h"
#include "saga/service.h"
#include "saga/version.h"
#include "inventory.h"
#include "inventory_events.h"
#include "inventory_service.h"
#include "routes.h"

static const char *const inventory_topics[] = {"order-events"};

static inventory_service state;

/* The handlers reach the runtime's configuration (Redis) and their counters through
 * the state. */
static int inventory_init(saga_service *svc)
{
    inventory_service *st = saga_service_userdata(svc);
    st->cfg = saga_service_config(svc);
    inventory_events_metrics_init(st);
    return SAGA_OK;
}

int main(int argc, char **argv)
{
    char err[512];

    if (saga_version_requested(argc, argv, "inventory-service"))
        return 0;
    if (saga_config_str("SAGA_CURRENCY", "EUR", state.currency, sizeof(state.currency), err,
                        sizeof(err)) != SAGA_OK ||
        !inventory_currency_valid(state.currency)) {
        fprintf(stderr, "inventory-service: invalid configuration: SAGA_CURRENCY must be three "
                        "upper-case letters (ISO 4217), like EUR\n");
        return 2;
    }

    saga_service_def def = {
        .name = "inventory",
        .default_port = 8083,
        .topics = inventory_topics,
        .ntopics = sizeof(inventory_topics) / sizeof(inventory_topics[0]),
        .handlers = inventory_handlers,
        .nhandlers = inventory_nhandlers,
        .routes = inventory_routes,
        .nroutes = inventory_nroutes,
        .init = inventory_init,
        .ud = &state,
    };
    return saga_service_main(&def);
}
