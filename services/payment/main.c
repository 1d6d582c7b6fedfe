/* payment-service: customer wallets and payments.
 *
 * Wiring only: the runtime in common/ (service.h) does the rest. The service's
 * own settings (besides the common SAGA_* ones):
 *   SAGA_PAYMENT_LIMIT    largest amount charged, minor units (default 1000000)
 *   PAYMENT_FAILURE_RATE  share of charges failing with GATEWAY_ERROR, 0.0..1.0
 *                         (default 0)
 *   PAYMENT_LATENCY_MS    sleep before each charge decision, 0..60000 (default 0);
 *                         it runs in the consumer, so it slows the whole consumer */
#include <stdio.h>

#include "saga/config.h"
#include "saga/err.h"
#include "saga/log.h"
#include "saga/metrics.h"
#include "saga/service.h"
#include "saga/version.h"
#include "payment_events.h"
#include "payment_service.h"
#include "routes.h"

static const char *const payment_topics[] = {"inventory-events", "order-events"};

static payment_service state;

/* Reads the service's own settings. Returns SAGA_OK or SAGA_ERR_INVALID (err names
 * the variable). */
static int payment_service_load(payment_service *c, char *err, size_t errlen)
{
    char rate[64];
    long limit = 0;
    int rc;

    if ((rc = saga_config_int("SAGA_PAYMENT_LIMIT", PAYMENT_LIMIT_DEFAULT, 0, PAYMENT_MONEY_MAX,
                              &limit, err, errlen)) ||
        (rc = saga_config_int("PAYMENT_LATENCY_MS", 0, 0, 60000, &c->latency_ms, err, errlen)) ||
        (rc = saga_config_str("PAYMENT_FAILURE_RATE", "0", rate, sizeof(rate), err, errlen)))
        return rc;
    c->rules.limit = limit;
    if (payment_rate_parse(rate, &c->rules.failure_rate) != 0) {
        snprintf(err, errlen, "PAYMENT_FAILURE_RATE=%s: expected a number from 0.0 to 1.0", rate);
        return SAGA_ERR_INVALID;
    }
    return SAGA_OK;
}

static int payment_start(saga_service *svc)
{
    payment_service *c = saga_service_userdata(svc);
    LOG_INFO("payment.config", "limit %lld, failure rate %g, latency %ld ms", c->rules.limit,
             c->rules.failure_rate, c->latency_ms);
    c->parked = saga_metrics_gauge("saga_payment_parked_reservations",
                                   "InventoryReserved events parked until their order's "
                                   "OrderCreated arrives",
                                   "");
    saga_metrics_on_render(payment_parked_gauge_refresh, svc);
    return 0;
}

int main(int argc, char **argv)
{
    char err[512];

    if (saga_version_requested(argc, argv, "payment-service"))
        return 0;
    if (payment_service_load(&state, err, sizeof(err))) {
        fprintf(stderr, "payment-service: invalid configuration: %s\n", err);
        return 2;
    }
    saga_service_def def = {
        .name = "payment",
        .default_port = 8082,
        .topics = payment_topics,
        .ntopics = sizeof(payment_topics) / sizeof(payment_topics[0]),
        .handlers = payment_handlers,
        .nhandlers = payment_nhandlers,
        .routes = payment_routes,
        .nroutes = payment_nroutes,
        .start = payment_start,
        .ud = &state,
    };
    return saga_service_main(&def);
}
