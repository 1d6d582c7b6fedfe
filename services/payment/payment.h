/* payment.h - payment-service's domain rules: no I/O, unit-tested.
 *
 * The simulated gateway decides a charge from the wallet's state, the amount, the
 * configured limit and a random draw, in one documented, deterministic order
 * (docs/DOMAIN.md): no wallet, blocked, over the limit, insufficient funds, then
 * an optional random gateway error. Also here: the statuses and decline reasons
 * as text, the wallet PUT and top-up rules, and the checks of ids and settings. */
#ifndef PAYMENT_H
#define PAYMENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <cjson/cJSON.h>

#include "saga/envelope.h"

/* Money is an integer number of minor units; JSON carries it exactly up to 2^53-1. */
#define PAYMENT_MONEY_MAX 9007199254740991LL
/* A wallet's balance given with PUT (create) and one top-up: 0..1e12 and 1..1e12. */
#define PAYMENT_BALANCE_MAX 1000000000000LL
#define PAYMENT_TOPUP_MAX 1000000000000LL
/* SAGA_PAYMENT_LIMIT's default: 10,000.00. */
#define PAYMENT_LIMIT_DEFAULT 1000000LL

/* customerId: 1..64 characters (code points); longest in UTF-8 bytes, with NUL. */
#define PAYMENT_CUSTOMER_ID_MAX 64
#define PAYMENT_CUSTOMER_ID_BYTES (PAYMENT_CUSTOMER_ID_MAX * 4 + 1)
/* Order and payment ids: canonical UUIDs. */
#define PAYMENT_ID_LEN 36

typedef enum payment_status {
    PAYMENT_CAPTURED = 0,
    PAYMENT_REFUNDED,
    PAYMENT_DECLINED,
} payment_status;

/* Why a charge was declined, in the order the rules are applied. */
typedef enum payment_decline {
    PAYMENT_DECLINE_NONE = 0, /* not declined: capture */
    PAYMENT_DECLINE_WALLET_NOT_FOUND,
    PAYMENT_DECLINE_CUSTOMER_BLOCKED,
    PAYMENT_DECLINE_LIMIT_EXCEEDED,
    PAYMENT_DECLINE_INSUFFICIENT_FUNDS,
    PAYMENT_DECLINE_GATEWAY_ERROR,
} payment_decline;

/* What the rules need to know about a wallet. */
typedef struct payment_wallet {
    char customer_id[PAYMENT_CUSTOMER_ID_BYTES];
    long long balance;
    long long initial_balance;
    long long topped_up;
    bool blocked;
} payment_wallet;

/* The gateway's settings. */
typedef struct payment_rules {
    long long limit;     /* SAGA_PAYMENT_LIMIT: larger amounts are declined */
    double failure_rate; /* PAYMENT_FAILURE_RATE, 0.0..1.0 */
} payment_rules;

/* "CAPTURED", "REFUNDED", "DECLINED"; "UNKNOWN" for anything else. Static. */
const char *payment_status_str(payment_status s);
/* Parses a status; returns 0, or -1 if s is none of them (or NULL). */
int payment_status_parse(const char *s, payment_status *out);

/* "WALLET_NOT_FOUND", ... as in the PaymentFailed schema; NULL for NONE. Static. */
const char *payment_decline_str(payment_decline d);
/* Parses a decline reason; returns 0, or -1 if unknown (or NULL). */
int payment_decline_parse(const char *s, payment_decline *out);

/* The decision for charging `amount` (0..PAYMENT_MONEY_MAX) to `wallet` (NULL when
 * the customer has none). `draw` is a uniform random number in [0, 1): a gateway
 * error happens when failure_rate > 0 and draw < failure_rate, and only after every
 * deterministic rule has let the charge through. */
payment_decline payment_decide(const payment_wallet *wallet, long long amount,
                               const payment_rules *rules, double draw);

/* A refund is due only for a captured payment (exactly once: it becomes REFUNDED). */
bool payment_refund_due(payment_status s);

/* Whether an event about an order may be applied, from what payment knows of the
 * order: known_customer is the customer recorded with its OrderCreated (known_orders),
 * NULL if payment has never seen the order created; customer is the event's. Returns
 * SAGA_OK, SAGA_ERR_NOT_FOUND (an order nobody created, as far as payment knows) or
 * SAGA_ERR_CONFLICT (the order belongs to another customer). */
int payment_order_check(const char *known_customer, const char *customer);

/* What InventoryReserved (or a parked one, when its OrderCreated arrives) does. */
typedef enum payment_reserved_action {
    PAYMENT_RESERVED_CHARGE = 0,     /* apply the decline rules: capture or decline */
    PAYMENT_RESERVED_PARK,           /* order not seen created yet: park, do nothing else */
    PAYMENT_RESERVED_SKIP_CANCELLED, /* the order was seen cancelled: no charge, no event */
    PAYMENT_RESERVED_SKIP_DECIDED,   /* the order has a payment already: nothing again */
    PAYMENT_RESERVED_OTHER_CUSTOMER, /* the order is another customer's: never charge */
} payment_reserved_action;

/* What payment knows of the order a reservation is about. */
typedef struct payment_order_view {
    const char *known_customer; /* from known_orders; NULL if not seen created */
    bool cancelled;             /* in cancelled_orders */
    bool has_payment;           /* a payments row exists */
} payment_order_view;

/* The decision for a reservation of `customer`, in this order: unknown order -> PARK;
 * another customer -> OTHER_CUSTOMER; cancelled -> SKIP_CANCELLED; a payment exists ->
 * SKIP_DECIDED; else CHARGE. */
payment_reserved_action payment_reserved_decide(const payment_order_view *v, const char *customer);

/* "CHARGE", "PARK", ... for logs. Static; "UNKNOWN" for anything else. */
const char *payment_reserved_action_str(payment_reserved_action a);

/* What PUT /api/wallets/{customerId} does. */
typedef enum payment_put_action {
    PAYMENT_PUT_CREATE = 0, /* no wallet: create it (201) */
    PAYMENT_PUT_UPDATE,     /* set `blocked` on the existing wallet (200) */
    PAYMENT_PUT_UNCHANGED,  /* nothing to change (200) */
} payment_put_action;

typedef struct payment_put {
    bool has_balance;
    long long balance; /* 0..PAYMENT_BALANCE_MAX (checked by the caller) */
    bool has_blocked;
    bool blocked;
} payment_put;

/* A row of `payments`. Times are RFC 3339 UTC with milliseconds. */
typedef struct payment_record {
    char id[PAYMENT_ID_LEN + 1];
    char order_id[PAYMENT_ID_LEN + 1];
    char customer_id[PAYMENT_CUSTOMER_ID_BYTES];
    long long amount;
    char currency[4];
    payment_status status;
    payment_decline decline; /* PAYMENT_DECLINE_NONE unless DECLINED */
    char created_at[SAGA_TIME_LEN + 1];
    char updated_at[SAGA_TIME_LEN + 1];
} payment_record;

/* --- the API's and the events' JSON --- */

/* A wallet as the API shows it: {"customerId","balance","blocked"}. NULL on no memory;
 * caller frees with cJSON_Delete. */
cJSON *payment_wallet_to_json(const payment_wallet *w);

/* A payment as the API shows it: {"id","orderId","customerId","amount","currency",
 * "status","declineReason"|null,"createdAt","updatedAt"}. NULL on no memory; caller
 * frees with cJSON_Delete. */
cJSON *payment_record_to_json(const payment_record *p);

/* The data of the event about p (PaymentCompleted, PaymentRefunded: {orderId,
 * customerId, amount, currency, paymentId}; PaymentFailed: reason instead of
 * paymentId). NULL on no memory; caller frees with cJSON_Delete. */
cJSON *payment_event_data(const payment_record *p);

/* Decides a PUT against the existing wallet (NULL if none). A new wallet gets the
 * given balance (0 when absent) and blocked (false when absent). On an existing
 * wallet the balance cannot change: a given balance must equal the current one
 * (SAGA_ERR_CONFLICT otherwise: top-ups go through POST .../topup). Returns SAGA_OK
 * with *action set, or SAGA_ERR_CONFLICT. */
int payment_put_decide(const payment_wallet *existing, const payment_put *put,
                       payment_put_action *action);

/* Checks a top-up of `amount` (1..PAYMENT_TOPUP_MAX) on a wallet: SAGA_OK;
 * SAGA_ERR_INVALID for an amount out of range; SAGA_ERR_CONFLICT when the balance, or
 * initial_balance + topped_up (the balance once every capture is refunded), would
 * pass PAYMENT_MONEY_MAX. */
int payment_topup_check(const payment_wallet *wallet, long long amount);

/* True if s is a customer id in its canonical form (saga_text_is_customer_id). */
bool payment_customer_id_valid(const char *s);

/* True if s is a canonical UUID: 8-4-4-4-12 lowercase hexadecimal digits. */
bool payment_uuid_valid(const char *s);

/* True if d is an integral amount of money in 0..PAYMENT_MONEY_MAX; sets *out. */
bool payment_amount_from_double(double d, long long *out);

/* Parses PAYMENT_FAILURE_RATE: a decimal number from 0.0 to 1.0, nothing after it.
 * NULL or "" is 0. Returns 0, or -1 if the text is not such a number. */
int payment_rate_parse(const char *s, double *out);

/* A uniform random number in [0, 1) from a 64-bit state (splitmix64); advances it.
 * Deterministic for a given state: seed it once per thread. */
double payment_draw(uint64_t *state);

#endif
