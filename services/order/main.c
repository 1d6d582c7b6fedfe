/* order-service: orders, their items, saga history and API idempotency keys.
 *
 * Wiring only: the runtime in common/ (service.h) does the rest. Its own settings:
 *   SAGA_CURRENCY           the shop's currency, default EUR (^[A-Z]{3}$)
 *   SAGA_TIMEOUT_MS         an order's deadline after its creation, default 30000
 *   SAGA_SWEEP_INTERVAL_MS  how often the deadline sweeper runs, default 500
 *   SAGA_SWEEP_BATCH        orders per sweeper query, default 50
 *   SAGA_SOLDOUT_HINT       refuse orders for skus Redis flags sold out, default true
 * and SAGA_HTTP_THREADS defaults to 16 here (not 2): GET /api/orders/{id}?wait=
 * holds an HTTP thread while it waits.
 *
 * Its parts besides the shape every service has (README.md, "The shape of a
 * service"): order_request.c (the API's request contract), order_sweeper.c (the
 * deadline sweeper thread, started by the start hook), order_commit.c (creations
 * committed together) and order_watch.c (what ?wait= sleeps on). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "order_service.h"
#include "order_events.h"
#include "order_store.h"
#include "order_sweeper.h"
#include "routes.h"
#include "saga/err.h"
#include "saga/log.h"
#include "saga/service.h"
#include "saga/version.h"

#define ORDER_HTTP_THREADS_DEFAULT "16"

static const char *const order_topics[] = {"inventory-events", "payment-events"};

/* Reads the service's own settings; an error names the variable. */
static int order_service_load(order_service *app, char *err, size_t errlen)
{
    int rc;

    if ((rc = saga_config_str("SAGA_CURRENCY", "EUR", app->currency, sizeof(app->currency), err,
                              errlen)))
        return rc;
    for (size_t i = 0; i < 3; i++) {
        if (strlen(app->currency) != 3 || app->currency[i] < 'A' || app->currency[i] > 'Z') {
            snprintf(err, errlen, "SAGA_CURRENCY: '%s' is not three capital letters (EUR)",
                     app->currency);
            return SAGA_ERR_INVALID;
        }
    }
    if ((rc = saga_config_int("SAGA_TIMEOUT_MS", 30000, 100, 7L * 24 * 3600 * 1000,
                              &app->timeout_ms, err, errlen)) ||
        (rc = saga_config_int("SAGA_SWEEP_INTERVAL_MS", 500, 10, 3600L * 1000,
                              &app->sweep_interval_ms, err, errlen)) ||
        (rc = saga_config_int("SAGA_SWEEP_BATCH", 50, 1, 1000, &app->sweep_batch, err, errlen)) ||
        (rc = saga_config_bool("SAGA_SOLDOUT_HINT", true, &app->soldout_hint, err, errlen)))
        return rc;
    long customer_rate, customer_burst, address_rate, address_burst;
    if ((rc = saga_config_int("SAGA_RATE_LIMIT_CUSTOMER_PER_S", 5, 0, 1000000, &customer_rate, err,
                              errlen)) ||
        (rc = saga_config_int("SAGA_RATE_LIMIT_CUSTOMER_BURST", 20, 1, 1000000, &customer_burst,
                              err, errlen)) ||
        (rc = saga_config_int("SAGA_RATE_LIMIT_ADDRESS_PER_S", 100, 0, 1000000, &address_rate, err,
                              errlen)) ||
        (rc = saga_config_int("SAGA_RATE_LIMIT_ADDRESS_BURST", 200, 1, 1000000, &address_burst, err,
                              errlen)))
        return rc;
    app->customer_limit = (saga_rate){.rate = (double)customer_rate, .burst = customer_burst};
    app->address_limit = (saga_rate){.rate = (double)address_rate, .burst = address_burst};
    return SAGA_OK;
}

static int order_start(saga_service *svc)
{
    order_service *app = saga_service_userdata(svc);

    app->created = saga_metrics_counter("saga_orders_created_total", "Orders created", "");
    app->replayed = saga_metrics_counter("saga_orders_idempotent_replays_total",
                                         "POST /api/orders answered from an Idempotency-Key", "");
    app->soldout = saga_metrics_counter("saga_orders_soldout_refused_total",
                                        "Orders refused by the sold-out hint", "");
    if (!(app->sweeper = order_sweeper_start(svc, app))) {
        LOG_ERROR("order.start_failed", "cannot start the deadline sweeper");
        return SAGA_ERR_INTERNAL;
    }
    return SAGA_OK;
}

static void order_stop(saga_service *svc)
{
    order_service *app = saga_service_userdata(svc);
    order_sweeper_stop(app->sweeper);
    app->sweeper = NULL;
}

int main(int argc, char **argv)
{
    static order_service app;
    char err[512];
    int rc;

    if (saga_version_requested(argc, argv, "order-service"))
        return 0;
    /* ?wait= holds an HTTP thread: more of them than the library's default 2 */
    setenv("SAGA_HTTP_THREADS", ORDER_HTTP_THREADS_DEFAULT, 0);
    if (order_service_load(&app, err, sizeof(err))) {
        fprintf(stderr, "order-service: invalid configuration: %s\n", err);
        return 2;
    }
    if (order_watch_init(&app.watch) != 0 ||
        order_committer_init(&app.committer, order_events_create) != 0) {
        fprintf(stderr, "order-service: cannot initialise its locks (order watch, committer)\n");
        return 1;
    }
    saga_service_def def = {
        .name = "order",
        .default_port = 8081,
        .topics = order_topics,
        .ntopics = sizeof(order_topics) / sizeof(order_topics[0]),
        .handlers = order_handlers,
        .nhandlers = order_nhandlers,
        .routes = order_routes,
        .nroutes = order_nroutes,
        .start = order_start,
        .stop = order_stop,
        .ud = &app,
    };
    rc = saga_service_main(&def);
    order_sweeper_stop(app.sweeper); /* start-up failed after the sweeper started */
    order_watch_destroy(&app.watch);
    order_committer_destroy(&app.committer);
    return rc;
}
