/* routes.c - inventory-service's HTTP API (see routes.h).
 *
 * Each handler uses the thread's own MySQL connection and its own transaction,
 * retried on a deadlock; the sold-out hint is updated after the commit. */
#include "routes.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "saga/db.h"
#include "saga/err.h"
#include "saga/fields.h"
#include "saga/json.h"
#include "saga/log.h"
#include "saga/service.h"
#include "inventory.h"
#include "inventory_events.h"
#include "inventory_service.h"
#include "inventory_store.h"

#define TX_ATTEMPTS 3

/* A transaction body: runs in db's open transaction; may fill the answer's
 * status, field and detail for an error it returns. */
typedef struct tx_err {
    int status; /* 0: the one mapping of the rc (saga_http_status_for_rc) */
    const char *field;
    char detail[256];
} tx_err;

typedef int (*tx_fn)(saga_db *db, void *arg, tx_err *err);

typedef struct tx_call {
    tx_fn fn;
    void *arg;
    tx_err *err;
} tx_call;

static int tx_call_run(saga_db *db, void *ud)
{
    tx_call *call = ud;
    memset(call->err, 0, sizeof(*call->err));
    return call->fn(db, call->arg, call->err);
}

/* Runs fn in a transaction (saga_db_transaction: retried when transient). */
static int tx_run(saga_db *db, tx_fn fn, void *arg, tx_err *err)
{
    tx_call call = {fn, arg, err};
    return saga_db_transaction(db, TX_ATTEMPTS, tx_call_run, &call);
}

/* Answers a failed transaction or query: its own detail if it set one, a database
 * failure through saga_service_reply_db_error, any other rc by its status. */
static void reply_error(saga_http_resp *resp, saga_db *db, int rc, const tx_err *err,
                        const char *what)
{
    if (err && err->detail[0]) {
        int status = err->status ? err->status : saga_http_status_for_rc(rc);
        if (err->field)
            saga_http_reply_field(resp, status, err->field, "%s", err->detail);
        else
            saga_http_reply_problem(resp, status, "%s", err->detail);
        return;
    }
    if (saga_http_status_for_rc(rc) >= 500)
        saga_service_reply_db_error(resp, db, rc, what);
    else
        saga_http_reply_rc(resp, rc, "the request could not be completed");
}

/* The service's state (inventory_service.h). */
static const inventory_service *route_service(saga_http_req *req)
{
    return saga_service_userdata(saga_service_from_request(req));
}

/* The {sku} path parameter, or a 400 naming "sku" and NULL. */
static const char *path_sku(saga_http_req *req, saga_http_resp *resp)
{
    const char *sku = saga_http_param(req, "sku");
    if (!inventory_sku_valid(sku)) {
        saga_http_reply_field(resp, 400, "sku", "sku must match ^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$");
        return NULL;
    }
    return sku;
}

/* The product's JSON; NULL on no memory. */
static cJSON *product_json(const inventory_product *p, const char *currency)
{
    cJSON *o = cJSON_CreateObject();
    if (!o || !cJSON_AddStringToObject(o, "sku", p->sku) ||
        !cJSON_AddStringToObject(o, "name", p->name) || !saga_json_add_int(o, "price", p->price) ||
        !cJSON_AddStringToObject(o, "currency", currency) ||
        !saga_json_add_int(o, "available", p->available) ||
        !saga_json_add_int(o, "reserved", p->reserved) || !saga_json_add_int(o, "sold", p->sold) ||
        !saga_json_add_int(o, "initialStock", p->initial_stock) ||
        !saga_json_add_int(o, "restocked", p->restocked) ||
        !cJSON_AddStringToObject(o, "createdAt", p->created_at) ||
        !cJSON_AddStringToObject(o, "updatedAt", p->updated_at)) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

static void reply_product(saga_http_resp *resp, int status, const inventory_product *p,
                          const char *currency)
{
    cJSON *o = product_json(p, currency);
    if (!o || saga_http_reply_json(resp, status, o) != SAGA_OK)
        saga_http_reply_rc(resp, SAGA_ERR_NOMEM, "out of memory");
}

/* GET /api/products?limit=&after= */
static void products_list(saga_http_req *req, saga_http_resp *resp)
{
    const inventory_service *ctx = route_service(req);
    const char *after = saga_http_query(req, "after");
    inventory_product *items = NULL;
    cJSON *body = NULL, *arr = NULL;
    size_t n = 0;
    int limit, rc;
    saga_db *db;

    if (inventory_page_limit_parse(saga_http_query(req, "limit"), &limit) != SAGA_OK) {
        saga_http_reply_field(resp, 400, "limit", "limit must be an integer from 1 to %d",
                              INVENTORY_PAGE_MAX);
        return;
    }
    if (after && !inventory_sku_valid(after)) {
        saga_http_reply_field(resp, 400, "after",
                              "after must be a sku (^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$)");
        return;
    }
    if (!(db = saga_service_request_db(req, resp)))
        return;
    /* one more than the page: whether there is a next page */
    if (!(items = calloc((size_t)limit + 1, sizeof(*items)))) {
        saga_http_reply_rc(resp, SAGA_ERR_NOMEM, "out of memory");
        return;
    }
    if ((rc = inventory_store_products_list(db, after, limit + 1, items, &n))) {
        reply_error(resp, db, rc, NULL, "listing products");
        goto out;
    }
    bool more = n > (size_t)limit;
    if (more)
        n = (size_t)limit;
    if (!(body = cJSON_CreateObject()) || !(arr = cJSON_AddArrayToObject(body, "items")))
        goto nomem;
    for (size_t i = 0; i < n; i++) {
        cJSON *o = product_json(&items[i], ctx->currency);
        if (!o || !cJSON_AddItemToArray(arr, o)) {
            cJSON_Delete(o);
            goto nomem;
        }
    }
    if (!(more ? cJSON_AddStringToObject(body, "next", items[n - 1].sku)
               : cJSON_AddNullToObject(body, "next")))
        goto nomem;
    saga_http_reply_json(resp, 200, body);
    body = NULL;
    goto out;
nomem:
    saga_http_reply_rc(resp, SAGA_ERR_NOMEM, "out of memory");
out:
    cJSON_Delete(body);
    free(items);
}

/* Reads the product named by the path into *p, or answers (400, 503, 404, 500)
 * and returns false. */
static bool read_path_product(saga_http_req *req, saga_http_resp *resp, inventory_product *p)
{
    const char *sku = path_sku(req, resp);
    saga_db *db;
    if (!sku || !(db = saga_service_request_db(req, resp)))
        return false;
    int rc = inventory_store_product_get(db, sku, false, p);
    if (rc == SAGA_ERR_NOT_FOUND)
        saga_http_reply_problem(resp, saga_http_status_for_rc(rc), "no product with sku %s", sku);
    else if (rc)
        reply_error(resp, db, rc, NULL, "reading a product");
    return rc == SAGA_OK;
}

/* GET /api/products/{sku} */
static void product_get(saga_http_req *req, saga_http_resp *resp)
{
    inventory_product p;
    if (read_path_product(req, resp, &p))
        reply_product(resp, 200, &p, route_service(req)->currency);
}

/* GET /api/inventory/{sku} */
static void inventory_get(saga_http_req *req, saga_http_resp *resp)
{
    inventory_product p;
    cJSON *o = NULL;

    if (!read_path_product(req, resp, &p))
        return;
    if (!(o = cJSON_CreateObject()) || !cJSON_AddStringToObject(o, "sku", p.sku) ||
        !saga_json_add_int(o, "available", p.available) ||
        !saga_json_add_int(o, "reserved", p.reserved) || !saga_json_add_int(o, "sold", p.sold)) {
        cJSON_Delete(o);
        saga_http_reply_rc(resp, SAGA_ERR_NOMEM, "out of memory");
        return;
    }
    saga_http_reply_json(resp, 200, o);
}

/* PUT /api/products/{sku} */
typedef struct put_args {
    const char *sku, *name;
    long long price, stock;
    bool has_stock;
    bool created;
    inventory_product p;
} put_args;

static int put_tx(saga_db *db, void *arg, tx_err *err)
{
    put_args *a = arg;
    long long delta = 0;
    int rc;

    a->created = false;
    rc = inventory_store_product_get(db, a->sku, true, &a->p);
    if (rc == SAGA_ERR_NOT_FOUND) {
        rc = inventory_store_product_insert(db, a->sku, a->name, a->price,
                                            a->has_stock ? a->stock : 0);
        if (rc == SAGA_ERR_CONFLICT)
            return SAGA_ERR_TRANSIENT; /* created meanwhile: run again as an update */
        if (rc)
            return rc;
        a->created = true;
    } else if (rc) {
        return rc;
    } else {
        if (a->has_stock) {
            rc = inventory_stock_set(a->p.available, a->p.reserved, a->p.sold, a->stock, &delta);
            if (rc) {
                err->field = "stock";
                snprintf(err->detail, sizeof(err->detail),
                         "stock %lld with %lld reserved and %lld sold is over the limit", a->stock,
                         a->p.reserved, a->p.sold);
                return rc;
            }
        }
        if ((rc = inventory_store_product_update(db, a->sku, a->name, a->price, a->has_stock,
                                                 a->stock, delta)))
            return rc;
    }
    return inventory_store_product_get(db, a->sku, false, &a->p);
}

static void product_put(saga_http_req *req, saga_http_resp *resp)
{
    static const char *const allowed[] = {"name", "price", "stock", NULL};
    const cJSON *body = saga_http_json(req);
    const inventory_service *ctx = route_service(req);
    put_args a = {0};
    tx_err err;
    saga_db *db;
    int rc;

    if (!(a.sku = path_sku(req, resp)))
        return;
    if (!saga_field_object(body, allowed, resp) ||
        !saga_field_string(body, "name", true, 0, (size_t)-1, &a.name, resp) ||
        !saga_field_int(body, "price", true, 0, INVENTORY_PRICE_MAX, &a.price, resp) ||
        !saga_field_int(body, "stock", false, 0, INVENTORY_STOCK_MAX, &a.stock, resp))
        return;
    if (!inventory_name_valid(a.name)) {
        saga_http_reply_field(resp, 400, "name",
                              "name must be 1 to %d characters of UTF-8 text without control "
                              "characters",
                              INVENTORY_NAME_MAX);
        return;
    }
    const cJSON *stock = cJSON_GetObjectItemCaseSensitive(body, "stock");
    a.has_stock = stock && !cJSON_IsNull(stock);
    if (!(db = saga_service_request_db(req, resp)))
        return;
    if ((rc = tx_run(db, put_tx, &a, &err))) {
        reply_error(resp, db, rc, &err, "writing a product");
        return;
    }
    if (a.created || a.has_stock)
        inventory_hint_update(ctx, a.sku, a.p.available);
    LOG_INFO("inventory.product_saved", "product %s %s (price %lld, available %lld)", a.sku,
             a.created ? "created" : "updated", a.p.price, a.p.available);
    if (a.created) {
        char location[128];
        snprintf(location, sizeof(location), "/api/products/%s", a.sku);
        reply_product(resp, 201, &a.p, ctx->currency);
        saga_http_add_header(resp, "Location", location);
        return;
    }
    reply_product(resp, 200, &a.p, ctx->currency);
}

/* POST /api/products/{sku}/restock */
typedef struct restock_args {
    const char *sku;
    long long quantity;
    inventory_product p;
} restock_args;

static int restock_tx(saga_db *db, void *arg, tx_err *err)
{
    restock_args *a = arg;
    int rc = inventory_store_product_get(db, a->sku, true, &a->p);

    if (rc == SAGA_ERR_NOT_FOUND) {
        snprintf(err->detail, sizeof(err->detail), "no product with sku %s", a->sku);
        return rc;
    }
    if (rc)
        return rc;
    rc = inventory_restock_check(a->p.available, a->p.reserved, a->p.sold, a->quantity);
    if (rc) {
        err->field = "quantity";
        snprintf(err->detail, sizeof(err->detail),
                 "restocking %lld would take the stock of %s over its limit (available %lld,"
                 " at most %lld)",
                 a->quantity, a->sku, a->p.available, INVENTORY_STOCK_MAX);
        return rc;
    }
    if ((rc = inventory_store_product_restock(db, a->sku, a->quantity)))
        return rc;
    return inventory_store_product_get(db, a->sku, false, &a->p);
}

static void product_restock(saga_http_req *req, saga_http_resp *resp)
{
    static const char *const allowed[] = {"quantity", NULL};
    const cJSON *body = saga_http_json(req);
    restock_args a = {0};
    tx_err err;
    saga_db *db;
    int rc;

    if (!(a.sku = path_sku(req, resp)))
        return;
    if (!saga_field_object(body, allowed, resp) ||
        !saga_field_int(body, "quantity", true, 1, INVENTORY_RESTOCK_MAX, &a.quantity, resp))
        return;
    if (!(db = saga_service_request_db(req, resp)))
        return;
    if ((rc = tx_run(db, restock_tx, &a, &err))) {
        reply_error(resp, db, rc, &err, "restocking a product");
        return;
    }
    inventory_hint_update(route_service(req), a.sku, a.p.available);
    LOG_INFO("inventory.restocked", "product %s restocked by %lld (available %lld)", a.sku,
             a.quantity, a.p.available);
    reply_product(resp, 200, &a.p, route_service(req)->currency);
}

const saga_http_route inventory_routes[] = {
    /* who may call what: the authorization table in README.md, "Security" */
    {"GET", "/api/products", products_list, 0, NULL},
    {"GET", "/api/products/{sku}", product_get, 0, NULL},
    {"PUT", "/api/products/{sku}", product_put, SAGA_ROUTE_JSON | SAGA_ROUTE_ADMIN, NULL},
    {"POST", "/api/products/{sku}/restock", product_restock, SAGA_ROUTE_JSON | SAGA_ROUTE_ADMIN,
     NULL},
    {"GET", "/api/inventory/{sku}", inventory_get, 0, NULL},
};
const size_t inventory_nroutes = sizeof(inventory_routes) / sizeof(inventory_routes[0]);
