/* load_orders.h - the orders saga-load placed, and the outcome events matched to them.
 *
 * An outcome event can be read before the 202 that placed its order has been handled
 * (the consumer runs in its own thread), so either side may come first: an event for
 * an id not (yet) placed is kept, and placing that id later completes it. Events for
 * ids that are never placed are someone else's orders ("foreign").
 *
 * When an order is complete: an OrderCancelled completes any order; an OrderConfirmed
 * completes it unless it is waiting for its customer cancel (kind cancel), in which
 * case the OrderCancelled that follows completes it, or the cancel request failing.
 * Pure and single-threaded: the run loop owns it. */
#ifndef LOAD_ORDERS_H
#define LOAD_ORDERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "load_opts.h"

typedef enum load_outcome {
    LOAD_OUTCOME_NONE = 0,
    LOAD_OUTCOME_CONFIRMED,
    LOAD_OUTCOME_OUT_OF_STOCK,
    LOAD_OUTCOME_PAYMENT_DECLINED,
    LOAD_OUTCOME_CUSTOMER_REQUEST,
    LOAD_OUTCOME_TIMEOUT,
    LOAD_OUTCOME_OTHER, /* an OrderCancelled reason this tool does not know */
    LOAD_OUTCOME_COUNT
} load_outcome;

/* "CONFIRMED", "OUT_OF_STOCK", ..., "OTHER"; "NONE" for none. Never NULL. */
const char *load_outcome_name(int outcome);

/* The outcome of an OrderCancelled with this reason (not NUL-terminated);
 * LOAD_OUTCOME_OTHER for an unknown or missing one. */
load_outcome load_outcome_from_reason(const char *reason, size_t len);

/* Whether an order of this kind is meant to end so. */
bool load_outcome_expected(int kind, int outcome);

#define LOAD_ORDER_ID_LEN 36 /* a UUID; events with other keys are ignored */

typedef struct load_order {
    char id[LOAD_ORDER_ID_LEN + 1];
    uint8_t kind;
    uint8_t flags;
    uint8_t outcome;
    int64_t sched_us;     /* when its POST was scheduled */
    int64_t confirmed_us; /* when its OrderConfirmed was read; 0: not yet */
    int64_t cancelled_us; /* when its OrderCancelled was read; 0: not yet */
} load_order;

typedef struct load_orders {
    load_order *orders; /* dense, in arrival order */
    size_t n, cap;
    uint32_t *slots; /* open addressing: index + 1 into orders, 0 = empty */
    size_t nslots;   /* a power of two */
    size_t placed;
    size_t done;
} load_orders;

/* What completing an order tells the run. */
typedef struct load_completion {
    load_kind kind;
    load_outcome outcome;
    int64_t latency_us;   /* outcome read - POST scheduled */
    int64_t at_us;        /* when the outcome was read */
    bool after_confirmed; /* an OrderCancelled that came after an OrderConfirmed */
} load_completion;

/* expected: a size hint. Returns 0, or -1 when memory runs out. */
int load_orders_init(load_orders *t, size_t expected);
void load_orders_free(load_orders *t); /* frees what init allocated; t itself is the caller's */

/* Returns from the three calls below: 1 the order is now complete (*done filled),
 * 0 not (yet), -1 the id is not a UUID's length or memory ran out. */

/* Our POST got its 202 for order id. awaits_cancel: a cancel request is on its way. */
int load_orders_placed(load_orders *t, const char *id, size_t idlen, load_kind kind,
                       int64_t sched_us, bool awaits_cancel, load_completion *done);

/* An outcome event: OrderConfirmed (confirmed true) or OrderCancelled with reason. */
int load_orders_event(load_orders *t, const char *id, size_t idlen, bool confirmed,
                      load_outcome reason, int64_t seen_us, load_completion *done);

/* The cancel request for a placed order failed: its OrderConfirmed now completes it. */
int load_orders_cancel_failed(load_orders *t, const char *id, size_t idlen, load_completion *done);

/* Placed orders without an outcome: their number, per kind added into by_kind
 * (may be NULL), and up to nsample of their ids (borrowed from t) into sample. */
size_t load_orders_missing(const load_orders *t, size_t *by_kind, const char **sample,
                           size_t nsample);

/* Ids we read events for but never placed. */
size_t load_orders_foreign(const load_orders *t);

#endif
