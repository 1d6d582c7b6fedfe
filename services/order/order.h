/* order.h - order-service's pure domain rules: no I/O.
 *
 * - the order states and cancel reasons, and the state machine: which input
 *   (a consumed event, the deadline, a customer's cancel) moves which state where
 *   and what is emitted (order_step_decide);
 * - the JSON of an order (the API's) and of the events order-service emits;
 * - the check of a SKU.
 * What a request to the API must be is in order_request.h.
 *
 * Everything here is unit-tested in tests/unit/check_order.c. */
#ifndef ORDER_H
#define ORDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <cjson/cJSON.h>

#define ORDER_ID_MAX 36          /* a UUID */
#define ORDER_CUSTOMER_CHARS 64  /* customerId: 1..64 characters */
#define ORDER_CUSTOMER_BYTES 256 /* ... of up to 4 bytes each in UTF-8 */
#define ORDER_SKU_MAX 64
#define ORDER_PAYMENT_ID_MAX 64
#define ORDER_LINES_MAX 50
#define ORDER_QUANTITY_MAX 1000
#define ORDER_IDEM_KEY_MAX 128
#define ORDER_HASH_LEN 16        /* hex digits of the request hash */
#define ORDER_TRACEPARENT_LEN 55 /* "00-<32 hex>-<16 hex>-01" */
#define ORDER_TIME_LEN 24        /* "2026-11-22T10:00:00.123Z" */
#define ORDER_WAIT_MAX_S 30
#define ORDER_LIST_LIMIT_MAX 100
#define ORDER_LIST_LIMIT_DEFAULT 20

/* --- states and reasons --- */

typedef enum order_status {
    ORDER_PENDING = 0,
    ORDER_AWAITING_PAYMENT,
    ORDER_CONFIRMED,
    ORDER_CANCELLED,
    ORDER_STATUS_COUNT
} order_status;

typedef enum order_reason {
    ORDER_REASON_NONE = 0,
    ORDER_REASON_OUT_OF_STOCK,
    ORDER_REASON_PAYMENT_DECLINED,
    ORDER_REASON_TIMEOUT,
    ORDER_REASON_CUSTOMER_REQUEST,
    ORDER_REASON_COUNT
} order_reason;

/* "PENDING", ...; static, never NULL ("?" out of range). */
const char *order_status_str(order_status s);
/* SAGA_OK and *out, or SAGA_ERR_INVALID for anything else (exact, case-sensitive). */
int order_status_parse(const char *s, order_status *out);
/* "OUT_OF_STOCK", ...; NULL for ORDER_REASON_NONE or out of range. */
const char *order_reason_str(order_reason r);
/* SAGA_OK and *out, or SAGA_ERR_INVALID. */
int order_reason_parse(const char *s, order_reason *out);
/* True for CONFIRMED and CANCELLED: the saga has an outcome (what ?wait waits for). */
bool order_status_settled(order_status s);

/* --- the state machine --- */

typedef enum order_input {
    ORDER_IN_INVENTORY_RESERVED = 0,
    ORDER_IN_INVENTORY_SHORTAGE,
    ORDER_IN_INVENTORY_RELEASED,
    ORDER_IN_PAYMENT_COMPLETED,
    ORDER_IN_PAYMENT_FAILED,
    ORDER_IN_PAYMENT_REFUNDED,
    ORDER_IN_TIMEOUT,         /* the deadline sweeper */
    ORDER_IN_CUSTOMER_CANCEL, /* POST /api/orders/{id}/cancel */
    ORDER_INPUT_COUNT
} order_input;

/* The input for a consumed event type; SAGA_ERR_NOT_FOUND if order-service does not
 * consume it. */
int order_input_from_type(const char *event_type, order_input *out);

typedef enum order_emit {
    ORDER_EMIT_NONE = 0,
    ORDER_EMIT_CONFIRMED, /* OrderConfirmed */
    ORDER_EMIT_CANCELLED, /* OrderCancelled with step.reason */
} order_emit;

/* What one input does to an order in a given state. */
typedef struct order_step {
    order_status next;   /* the state after the step (== current when nothing changes) */
    bool changed;        /* next != current */
    bool record_amount;  /* InventoryReserved on PENDING: store amount (and unit prices) */
    bool record_prices;  /* InventoryReserved: store the unit prices of the lines */
    bool record_payment; /* PaymentCompleted confirming: store payment id (and the
                            amount if the reservation has not been seen yet) */
    order_emit emit;
    order_reason reason; /* with ORDER_EMIT_CANCELLED */
} order_step;

/* Decides the step for `in` on an order in state `cur`:
 *   InventoryReserved  PENDING -> AWAITING_PAYMENT (amount, prices); CONFIRMED (the
 *                      payment came first): prices only; otherwise recorded only.
 *   PaymentCompleted   PENDING or AWAITING_PAYMENT -> CONFIRMED + OrderConfirmed;
 *                      CONFIRMED or CANCELLED: recorded only (a cancelled order stays
 *                      cancelled; payment refunds on OrderCancelled).
 *   InventoryShortage  PENDING or AWAITING_PAYMENT -> CANCELLED(OUT_OF_STOCK) + OrderCancelled.
 *   PaymentFailed      PENDING or AWAITING_PAYMENT -> CANCELLED(PAYMENT_DECLINED) + OrderCancelled.
 *   InventoryReleased, PaymentRefunded: recorded only.
 *   Timeout            PENDING or AWAITING_PAYMENT -> CANCELLED(TIMEOUT) + OrderCancelled.
 *   Customer cancel    PENDING, AWAITING_PAYMENT or CONFIRMED -> CANCELLED(CUSTOMER_REQUEST)
 *                      + OrderCancelled; on CANCELLED: SAGA_ERR_CONFLICT.
 * Returns SAGA_OK (also when nothing changes), SAGA_ERR_CONFLICT as above, or
 * SAGA_ERR_INVALID for an input or state out of range. */
int order_step_decide(order_status cur, order_input in, order_step *out);

/* --- orders --- */

typedef struct order_line {
    char sku[ORDER_SKU_MAX + 1];
    int quantity;
    bool has_price;
    long long unit_price;
} order_line;

typedef struct order {
    char id[ORDER_ID_MAX + 1];
    char customer_id[ORDER_CUSTOMER_BYTES + 1];
    order_status status;
    order_reason reason; /* ORDER_REASON_NONE unless CANCELLED */
    char currency[4];
    bool has_amount;
    long long amount;
    char payment_id[ORDER_PAYMENT_ID_MAX + 1]; /* "" if none */
    char deadline[ORDER_TIME_LEN + 1];         /* RFC 3339 UTC with milliseconds */
    char created_at[ORDER_TIME_LEN + 1];
    char updated_at[ORDER_TIME_LEN + 1];
    size_t nlines;
    order_line lines[ORDER_LINES_MAX];
} order;

/* The order JSON of the API: {"id","customerId","status","cancelReason"|null,
 * "currency","amount"|null,"items":[{"sku","quantity","unitPrice"|null}],"deadline",
 * "createdAt","updatedAt"}. NULL on no memory. Caller frees with cJSON_Delete. */
cJSON *order_to_json(const order *o);

/* True if s is a valid SKU: ^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$. */
bool order_sku_valid(const char *s);

/* --- the events order-service emits (their `data`) --- */

/* OrderCreated: {orderId, customerId, items:[{sku,quantity}], currency, deadline}.
 * NULL on no memory; caller frees with cJSON_Delete. */
cJSON *order_created_data(const order *o);
/* OrderConfirmed: {orderId, customerId, amount, currency}. */
cJSON *order_confirmed_data(const order *o);
/* OrderCancelled: {orderId, customerId, reason, previousStatus}. */
cJSON *order_cancelled_data(const order *o, order_reason reason, order_status previous);

#endif
