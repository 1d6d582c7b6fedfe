/* order_service.h - order-service's own state, shared by its routes, its event handlers
 * and its deadline sweeper (saga_service_def.ud). Filled in by main.c from the
 * environment before the service starts; read-only afterwards except for the
 * members with their own locks. */
#ifndef ORDER_SERVICE_H
#define ORDER_SERVICE_H

#include <stdbool.h>
#include <stddef.h>

#include "order_commit.h"
#include "order_watch.h"
#include "saga/metrics.h"
#include "saga/ratelimit.h"

typedef struct order_sweeper order_sweeper;

typedef struct order_service {
    char currency[4];       /* SAGA_CURRENCY, default EUR */
    long timeout_ms;        /* SAGA_TIMEOUT_MS, default 30000 */
    long sweep_interval_ms; /* SAGA_SWEEP_INTERVAL_MS, default 500 */
    long sweep_batch;       /* SAGA_SWEEP_BATCH, default 50 */
    bool soldout_hint;      /* SAGA_SOLDOUT_HINT, default true */
    /* POST /api/orders limits (Redis token buckets), rate 0 = off:
     * SAGA_RATE_LIMIT_CUSTOMER_PER_S (5) / _BURST (20), per token subject;
     * SAGA_RATE_LIMIT_ADDRESS_PER_S (100) / _BURST (200), per client address */
    saga_rate customer_limit;
    saga_rate address_limit;
    order_watch watch;         /* GET ?wait= sleeps on it */
    order_committer committer; /* POST /api/orders: creations committed together */
    order_sweeper *sweeper;    /* started by the service's start hook */
    saga_metric *created;      /* saga_orders_created_total */
    saga_metric *replayed;     /* saga_orders_idempotent_replays_total */
    saga_metric *soldout;      /* saga_orders_soldout_refused_total */
} order_service;

#endif
