/* routes.c - payment-service's REST API (see routes.h). */
#include "routes.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "saga/err.h"
#include "saga/fields.h"
#include "saga/log.h"
#include "saga/service.h"
#include "saga/text.h"
#include "payment.h"
#include "payment_service.h"
#include "payment_store.h"

/* Transactions that hit a deadlock or lock wait timeout are re-run this often. */
#define TX_ATTEMPTS 3
/* The OpenAPI file is small; refuse anything absurd. */
#define OPENAPI_MAX_BYTES (4L * 1024 * 1024)

/* What a wallet-changing transaction needs and produces. */
typedef struct wallet_tx {
    const char *customer_id;
    payment_put put;       /* PUT */
    long long amount;      /* topup */
    payment_wallet wallet; /* the wallet after the change */
    payment_put_action action;
    long long current; /* PUT conflict: the existing balance */
} wallet_tx;

typedef int (*tx_fn)(saga_db *db, wallet_tx *tx);

typedef struct tx_call {
    tx_fn fn;
    wallet_tx *tx;
} tx_call;

static int tx_call_run(saga_db *db, void *ud)
{
    tx_call *call = ud;
    return call->fn(db, call->tx);
}

/* Runs fn in a transaction (saga_db_transaction: retried when transient). */
static int tx_run(saga_db *db, tx_fn fn, wallet_tx *tx)
{
    tx_call call = {fn, tx};
    return saga_db_transaction(db, TX_ATTEMPTS, tx_call_run, &call);
}

/* The customerId path parameter, or a 400 answered and NULL. */
static const char *customer_param(saga_http_req *req, saga_http_resp *resp)
{
    const char *id = saga_http_param(req, "customerId");
    if (!payment_customer_id_valid(id)) {
        saga_http_reply_field(resp, 400, "customerId", "customerId must be " SAGA_CUSTOMER_ID_RULE);
        return NULL;
    }
    return id;
}

/* Writes "/api/wallets/<id>" with the id percent-encoded (RFC 3986 unreserved kept). */
static void url_path_escape(const char *id, char *out, size_t outlen)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t n = (size_t)snprintf(out, outlen, "/api/wallets/");
    for (const unsigned char *p = (const unsigned char *)id; *p && n + 4 <= outlen; p++) {
        if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
            strchr("-._~", *p)) {
            out[n++] = (char)*p;
        } else {
            out[n++] = '%';
            out[n++] = hex[*p >> 4];
            out[n++] = hex[*p & 15];
        }
    }
    out[n] = '\0';
}

static void reply_wallet(saga_http_resp *resp, int status, const payment_wallet *w)
{
    cJSON *o = payment_wallet_to_json(w);
    if (!o) {
        saga_http_reply_rc(resp, SAGA_ERR_NOMEM, NULL);
        return;
    }
    saga_http_reply_json(resp, status, o);
}

static void route_wallet_get(saga_http_req *req, saga_http_resp *resp)
{
    const char *customer_id = customer_param(req, resp);
    saga_db *db;
    payment_wallet w;
    int rc;

    if (!customer_id || !(db = saga_service_request_db(req, resp)))
        return;
    rc = payment_store_wallet_get(db, customer_id, false, &w);
    if (rc == SAGA_ERR_NOT_FOUND)
        saga_http_reply_problem(resp, saga_http_status_for_rc(rc), "customer %s has no wallet",
                                customer_id);
    else if (rc)
        saga_service_reply_db_error(resp, db, rc, "reading a wallet");
    else
        reply_wallet(resp, 200, &w);
}

static int wallet_put_tx(saga_db *db, wallet_tx *tx)
{
    payment_wallet *w = &tx->wallet;
    int rc = payment_store_wallet_get(db, tx->customer_id, true, w);

    if (rc && rc != SAGA_ERR_NOT_FOUND)
        return rc;
    if (rc == SAGA_OK)
        tx->current = w->balance;
    if ((rc = payment_put_decide(rc == SAGA_OK ? w : NULL, &tx->put, &tx->action)))
        return rc;
    switch (tx->action) {
    case PAYMENT_PUT_CREATE:
        memset(w, 0, sizeof(*w));
        snprintf(w->customer_id, sizeof(w->customer_id), "%s", tx->customer_id);
        w->balance = w->initial_balance = tx->put.has_balance ? tx->put.balance : 0;
        w->blocked = tx->put.has_blocked && tx->put.blocked;
        rc = payment_store_wallet_create(db, tx->customer_id, w->balance, w->blocked);
        /* created by a concurrent request since our read: decide again */
        return rc == SAGA_ERR_CONFLICT ? SAGA_ERR_TRANSIENT : rc;
    case PAYMENT_PUT_UPDATE:
        w->blocked = tx->put.blocked;
        return payment_store_wallet_set_blocked(db, tx->customer_id, w->blocked);
    case PAYMENT_PUT_UNCHANGED:
        break;
    }
    return SAGA_OK;
}

static void route_wallet_put(saga_http_req *req, saga_http_resp *resp)
{
    static const char *const allowed[] = {"balance", "blocked", NULL};
    const cJSON *body = saga_http_json(req);
    wallet_tx tx = {0};
    char location[16 + PAYMENT_CUSTOMER_ID_BYTES * 3];
    saga_db *db;
    int rc;

    if (!(tx.customer_id = customer_param(req, resp)) || !saga_field_object(body, allowed, resp))
        return;
    tx.put.balance = -1;
    tx.put.blocked = false;
    if (!saga_field_int(body, "balance", false, 0, PAYMENT_BALANCE_MAX, &tx.put.balance, resp) ||
        !saga_field_bool(body, "blocked", false, &tx.put.blocked, resp))
        return;
    tx.put.has_balance = tx.put.balance >= 0;
    tx.put.has_blocked = cJSON_IsBool(cJSON_GetObjectItemCaseSensitive(body, "blocked"));
    if (!(db = saga_service_request_db(req, resp)))
        return;

    rc = tx_run(db, wallet_put_tx, &tx);
    if (rc == SAGA_ERR_CONFLICT) {
        saga_http_reply_field(
            resp, saga_http_status_for_rc(rc), "balance",
            "the balance of an existing wallet cannot be set with PUT (it is %lld);"
            " add money with POST /api/wallets/{customerId}/topup",
            tx.current);
        return;
    }
    if (rc) {
        saga_service_reply_db_error(resp, db, rc, "setting a wallet");
        return;
    }
    if (tx.action == PAYMENT_PUT_CREATE) {
        LOG_INFO("wallet.created", "wallet of %s created with %lld%s", tx.customer_id,
                 tx.wallet.balance, tx.wallet.blocked ? " (blocked)" : "");
        url_path_escape(tx.customer_id, location, sizeof(location));
        saga_http_add_header(resp, "Location", location);
    } else if (tx.action == PAYMENT_PUT_UPDATE) {
        LOG_INFO("wallet.updated", "wallet of %s %s", tx.customer_id,
                 tx.wallet.blocked ? "blocked" : "unblocked");
    }
    reply_wallet(resp, tx.action == PAYMENT_PUT_CREATE ? 201 : 200, &tx.wallet);
}

static int wallet_topup_tx(saga_db *db, wallet_tx *tx)
{
    payment_wallet *w = &tx->wallet;
    int rc = payment_store_wallet_get(db, tx->customer_id, true, w);

    if (rc)
        return rc;
    if ((rc = payment_topup_check(w, tx->amount)))
        return rc;
    if ((rc = payment_store_wallet_topup(db, tx->customer_id, tx->amount)))
        return rc;
    w->balance += tx->amount;
    w->topped_up += tx->amount;
    return SAGA_OK;
}

static void route_wallet_topup(saga_http_req *req, saga_http_resp *resp)
{
    static const char *const allowed[] = {"amount", NULL};
    const cJSON *body = saga_http_json(req);
    wallet_tx tx = {0};
    saga_db *db;
    int rc;

    if (!(tx.customer_id = customer_param(req, resp)) || !saga_field_object(body, allowed, resp) ||
        !saga_field_int(body, "amount", true, 1, PAYMENT_TOPUP_MAX, &tx.amount, resp) ||
        !(db = saga_service_request_db(req, resp)))
        return;

    rc = tx_run(db, wallet_topup_tx, &tx);
    if (rc == SAGA_ERR_NOT_FOUND) {
        saga_http_reply_problem(resp, saga_http_status_for_rc(rc), "customer %s has no wallet",
                                tx.customer_id);
        return;
    }
    if (rc == SAGA_ERR_CONFLICT || rc == SAGA_ERR_INVALID) {
        saga_http_reply_field(resp, saga_http_status_for_rc(SAGA_ERR_CONFLICT), "amount",
                              "a top-up of %lld would take the balance past %lld", tx.amount,
                              PAYMENT_MONEY_MAX);
        return;
    }
    if (rc) {
        saga_service_reply_db_error(resp, db, rc, "topping up a wallet");
        return;
    }
    LOG_INFO("wallet.topped_up", "wallet of %s topped up by %lld to %lld", tx.customer_id,
             tx.amount, tx.wallet.balance);
    reply_wallet(resp, 200, &tx.wallet);
}

static void route_payment_get(saga_http_req *req, saga_http_resp *resp)
{
    const char *order_id = saga_http_param(req, "orderId");
    payment_record p;
    saga_db *db;
    cJSON *o = NULL;
    int rc;

    if (!payment_uuid_valid(order_id)) {
        saga_http_reply_field(resp, 400, "orderId",
                              "orderId must be an order id: a UUID in lowercase hex");
        return;
    }
    if (!(db = saga_service_request_db(req, resp)))
        return;
    rc = payment_store_payment_get(db, order_id, false, &p);
    if (rc == SAGA_OK && !saga_http_may_act_for(req, p.customer_id))
        rc = SAGA_ERR_NOT_FOUND; /* another customer's payment looks like a missing one */
    if (rc == SAGA_ERR_NOT_FOUND) {
        saga_http_reply_problem(resp, saga_http_status_for_rc(rc), "order %s has no payment",
                                order_id);
        return;
    }
    if (rc) {
        saga_service_reply_db_error(resp, db, rc, "reading a payment");
        return;
    }
    if (!(o = payment_record_to_json(&p))) {
        saga_http_reply_rc(resp, SAGA_ERR_NOMEM, NULL);
        return;
    }
    saga_http_reply_json(resp, 200, o);
}

const saga_http_route payment_routes[] = {
    /* who may call what: the authorization table in README.md, "Security" */
    {"GET", "/api/wallets/{customerId}", route_wallet_get, 0, "customerId"},
    {"PUT", "/api/wallets/{customerId}", route_wallet_put, SAGA_ROUTE_JSON | SAGA_ROUTE_ADMIN,
     NULL},
    {"POST", "/api/wallets/{customerId}/topup", route_wallet_topup,
     SAGA_ROUTE_JSON | SAGA_ROUTE_ADMIN, NULL},
    {"GET", "/api/payments/{orderId}", route_payment_get, 0, NULL}, /* owner checked inside */
};
const size_t payment_nroutes = sizeof(payment_routes) / sizeof(payment_routes[0]);
