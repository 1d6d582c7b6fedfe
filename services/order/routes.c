/* routes.c - order-service's HTTP API (see routes.h). */
#include "routes.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <time.h>
#include <unistd.h>

#include "order.h"
#include "order_request.h"
#include "order_service.h"
#include "order_commit.h"
#include "order_events.h"
#include "order_store.h"
#include "saga/backoff.h"
#include "saga/clock.h"
#include "saga/err.h"
#include "saga/fields.h"
#include "saga/log.h"
#include "saga/random.h"
#include "saga/redis.h"
#include "saga/service.h"
#include "saga/text.h"

#define TX_ATTEMPTS 3
#define IDEM_TTL_S (24 * 60 * 60)
#define REDIS_KEY_MAX (32 + ORDER_CUSTOMER_BYTES + ORDER_IDEM_KEY_MAX)
#define WAIT_SLICE_MS 250 /* a waiter re-reads (and checks for shutdown) this often */
#define OUT_OF_STOCK_TYPE "https://saga.example/problems/out-of-stock"

/* The service's state (order_service.h). */
static order_service *route_service(saga_http_req *req)
{
    return saga_service_userdata(saga_service_from_request(req));
}

/* The request's traceparent if well formed, else a new one; also the answer's.
 * Returns SAGA_OK, or an error already answered (500: no random bytes for a new one). */
static int route_traceparent(saga_http_req *req, saga_http_resp *resp,
                             char tp[ORDER_TRACEPARENT_LEN + 1])
{
    const char *in = saga_http_header(req, "traceparent");
    if (in && order_traceparent_valid(in)) {
        snprintf(tp, ORDER_TRACEPARENT_LEN + 1, "%s", in);
    } else {
        uint8_t rnd[24];
        if (saga_random_fill(rnd, sizeof(rnd)) != SAGA_OK) {
            LOG_ERROR("http.random_failed", "getrandom: %s", strerror(errno));
            saga_http_reply_rc(resp, SAGA_ERR_INTERNAL, "no random bytes for a trace id");
            return SAGA_ERR_INTERNAL;
        }
        order_traceparent_format(rnd, tp);
    }
    saga_http_add_header(resp, "traceparent", tp);
    saga_log_trace_set(tp); /* the request's lines carry the trace it starts or continues */
    return SAGA_OK;
}

/* 200/202 with the order JSON; Location when asked. */
static void reply_order(saga_http_resp *resp, int status, const order *o, bool location)
{
    cJSON *j = order_to_json(o);
    if (!j) {
        saga_http_reply_rc(resp, SAGA_ERR_NOMEM, "out of memory");
        return;
    }
    if (location) {
        char loc[64];
        snprintf(loc, sizeof(loc), "/api/orders/%s", o->id);
        saga_http_add_header(resp, "Location", loc);
    }
    saga_http_reply_json(resp, status, j);
}

/* --- POST /api/orders --- */

/* Sorts the lines by sku (the order the database returns them in). */
static int line_cmp(const void *a, const void *b)
{
    return strcmp(((const order_line *)a)->sku, ((const order_line *)b)->sku);
}

static void order_build(order *o, const order_request *r, long timeout_ms, long long now_ms)
{
    memset(o, 0, sizeof(*o));
    saga_uuid_v7(o->id);
    snprintf(o->customer_id, sizeof(o->customer_id), "%s", r->customer_id);
    o->status = ORDER_PENDING;
    snprintf(o->currency, sizeof(o->currency), "%s", r->currency);
    saga_time_format_ms(now_ms, o->created_at);
    saga_time_format_ms(now_ms, o->updated_at);
    saga_time_format_ms(now_ms + timeout_ms, o->deadline);
    o->nlines = r->nlines;
    for (size_t i = 0; i < r->nlines; i++) {
        snprintf(o->lines[i].sku, sizeof(o->lines[i].sku), "%s", r->lines[i].sku);
        o->lines[i].quantity = r->lines[i].quantity;
    }
    qsort(o->lines, o->nlines, sizeof(o->lines[0]), line_cmp);
}

static void idem_redis_key(char *out, size_t outlen, const char *customer, const char *key)
{
    snprintf(out, outlen, "saga:idem:%s:%s", customer, key);
}

/* Answers a replay of an Idempotency-Key whose row says (stored_hash, order_id). */
static void reply_replay(saga_http_req *req, saga_http_resp *resp, saga_db *db, const char *key,
                         const char *hash, const char *stored_hash, const char *order_id)
{
    order_service *app = route_service(req);
    order *o = NULL;
    int rc;

    if (strcmp(hash, stored_hash) != 0) {
        saga_http_reply_problem(resp, 422,
                                "Idempotency-Key %s was used before with a different request", key);
        return;
    }
    if (!(o = malloc(sizeof(*o)))) {
        saga_http_reply_rc(resp, SAGA_ERR_NOMEM, "out of memory");
        return;
    }
    if ((rc = order_store_get(db, order_id, o)) == SAGA_OK) {
        saga_metric_add(app->replayed, 1);
        reply_order(resp, 200, o, true);
    } else {
        saga_service_reply_db_error(resp, db, rc == SAGA_ERR_NOT_FOUND ? SAGA_ERR_INTERNAL : rc,
                                    "reading the order of an idempotency key");
    }
    free(o);
}

/* Redis fast path: true if it answered (a replay with the same request). A
 * different hash falls through to MySQL, the authority, which answers 422. */
static bool idem_fast_path(saga_http_req *req, saga_http_resp *resp, saga_db *db, saga_redis *redis,
                           const order_request *r, const char *key, const char *hash)
{
    char rkey[REDIS_KEY_MAX], val[128];
    order *o = NULL;
    bool answered = false;

    idem_redis_key(rkey, sizeof(rkey), r->customer_id, key);
    if (saga_redis_get(redis, rkey, val, sizeof(val)) != SAGA_OK)
        return false;
    char *sp = strchr(val, ' ');
    if (!sp || (size_t)(sp - val) != ORDER_HASH_LEN || strncmp(val, hash, ORDER_HASH_LEN) != 0)
        return false;
    if (!(o = malloc(sizeof(*o))))
        return false;
    if (order_store_get(db, sp + 1, o) == SAGA_OK && strcmp(o->customer_id, r->customer_id) == 0) {
        saga_metric_add(route_service(req)->replayed, 1);
        reply_order(resp, 200, o, true);
        answered = true;
    }
    free(o);
    return answered;
}

/* The sold-out hint: 409 with the sold-out skus if Redis flags any of them. One
 * EXISTS for all lines; only when some but not all exist, one more per line to name
 * them (and a replay of an Idempotency-Key used before the sku sold out is still
 * answered as a replay). Returns true if it answered. Redis down: no hint. */
static bool soldout_refuse(saga_http_req *req, saga_http_resp *resp, saga_db *db, saga_redis *redis,
                           const order_request *r, const char *key, const char *hash)
{
    char stored_hash[ORDER_HASH_LEN + 1], stored_id[ORDER_ID_MAX + 1];
    char keys[ORDER_LINES_MAX][16 + ORDER_SKU_MAX];
    const char *kp[ORDER_LINES_MAX];
    cJSON *problem = NULL, *skus = NULL;
    char detail[256] = "out of stock:";
    char *text = NULL;
    size_t dlen = strlen(detail), nsold = 0;

    for (size_t i = 0; i < r->nlines; i++) {
        snprintf(keys[i], sizeof(keys[i]), "saga:soldout:%s", r->lines[i].sku);
        kp[i] = keys[i];
    }
    long flagged = saga_redis_exists(redis, kp, r->nlines);
    if (flagged <= 0)
        return false;
    bool all_flagged = (size_t)flagged == r->nlines; /* EXISTS counts a repeated key twice */
    int rc = key ? order_store_idem_get(db, r->customer_id, key, stored_hash, stored_id)
                 : SAGA_ERR_NOT_FOUND;
    if (rc == SAGA_OK) {
        reply_replay(req, resp, db, key, hash, stored_hash, stored_id);
        return true;
    }
    if (rc != SAGA_ERR_NOT_FOUND) {
        saga_service_reply_db_error(resp, db, rc, "looking up an idempotency key");
        return true;
    }
    if (!(problem = cJSON_CreateObject()) || !(skus = cJSON_CreateArray()))
        goto nomem;
    for (size_t i = 0; i < r->nlines; i++) {
        if (!all_flagged && saga_redis_exists(redis, &kp[i], 1) != 1)
            continue;
        if (!cJSON_AddItemToArray(skus, cJSON_CreateString(r->lines[i].sku)))
            goto nomem;
        if (dlen < sizeof(detail))
            dlen += (size_t)snprintf(detail + dlen, sizeof(detail) - dlen, "%s %s",
                                     nsold ? "," : "", r->lines[i].sku);
        nsold++;
    }
    if (nsold == 0) { /* the hints expired meanwhile */
        cJSON_Delete(skus);
        cJSON_Delete(problem);
        return false;
    }
    if (!cJSON_AddStringToObject(problem, "type", OUT_OF_STOCK_TYPE) ||
        !cJSON_AddStringToObject(problem, "title", "Out of stock") ||
        !cJSON_AddNumberToObject(problem, "status", 409) ||
        !cJSON_AddStringToObject(problem, "detail", detail) ||
        !cJSON_AddStringToObject(problem, "instance", saga_http_path(req)))
        goto nomem;
    cJSON_AddItemToObject(problem, "skus", skus);
    skus = NULL; /* now owned by problem */
    if (!(text = cJSON_PrintUnformatted(problem)))
        goto nomem;
    saga_http_reply_raw(resp, 409, "application/problem+json", text, strlen(text));
    saga_metric_add(route_service(req)->soldout, 1);
    cJSON_free(text);
    cJSON_Delete(problem);
    return true;
nomem:
    cJSON_Delete(skus);
    cJSON_Delete(problem);
    saga_http_reply_rc(resp, SAGA_ERR_NOMEM, "out of memory");
    return true;
}

/* The order body as the caller may send it: a customer places orders for itself,
 * so its customerId comes from the token (filled in when absent; another one is
 * 403); an admin names the customer in the body. Returns NULL with the answer
 * set; *owned is a copy to free when the body had to be completed. */
static const cJSON *order_body_for_caller(saga_http_req *req, saga_http_resp *resp, cJSON **owned)
{
    const cJSON *body = saga_http_json(req);
    const saga_principal *who = saga_http_principal(req);
    *owned = NULL;
    if (!who || who->admin || !cJSON_IsObject(body))
        return body;
    const cJSON *cust = cJSON_GetObjectItemCaseSensitive(body, "customerId");
    if (cust) {
        if (cJSON_IsString(cust) && strcmp(cust->valuestring, who->subject) != 0) {
            saga_http_reply_field(resp, 403, "customerId",
                                  "a customer may only place orders for itself");
            return NULL;
        }
        return body;
    }
    if (!(*owned = cJSON_Duplicate(body, true)) ||
        !cJSON_AddStringToObject(*owned, "customerId", who->subject)) {
        cJSON_Delete(*owned);
        *owned = NULL;
        saga_http_reply_rc(resp, SAGA_ERR_NOMEM, "out of memory");
        return NULL;
    }
    return *owned;
}

/* One attempt at committing a creation (saga_backoff_retry). */
typedef struct create_call {
    order_service *app;
    saga_db *db;
    order_creation *job;
    const char *customer_id;
    const char *key;               /* NULL: no Idempotency-Key */
    char *stored_hash, *stored_id; /* the key's row when it was committed by another */
    bool replayed;                 /* ... then SAGA_OK and this: answer as a replay */
} create_call;

static int create_attempt(int attempt, void *ud)
{
    create_call *c = ud;
    /* with the requests creating orders at the same moment; a retry alone */
    int rc = order_commit(&c->app->committer, c->db, c->job, attempt > 0);
    if (rc == SAGA_ERR_CONFLICT && c->key) {
        /* the key exists (perhaps committed by a concurrent request just now) */
        rc = order_store_idem_get(c->db, c->customer_id, c->key, c->stored_hash, c->stored_id);
        if (rc == SAGA_OK)
            c->replayed = true;
        else if (rc == SAGA_ERR_NOT_FOUND)
            rc = SAGA_ERR_TRANSIENT; /* rolled back meanwhile: try again */
    }
    return rc;
}

static void create_order(saga_http_req *req, saga_http_resp *resp, const cJSON *body)
{
    saga_service *svc = saga_service_from_request(req);
    order_service *app = saga_service_userdata(svc);
    const char *key = saga_http_header(req, "Idempotency-Key");
    char tp[ORDER_TRACEPARENT_LEN + 1], hash[ORDER_HASH_LEN + 1];
    char stored_hash[ORDER_HASH_LEN + 1], stored_id[ORDER_ID_MAX + 1];
    order_request r;
    order_error e;
    order *o = NULL;
    saga_db *db;
    saga_redis *redis;
    int rc = SAGA_OK;

    if (route_traceparent(req, resp, tp) != SAGA_OK)
        return;
    if (order_request_parse(body, app->currency, &r, &e) != SAGA_OK) {
        saga_http_reply_field(resp, 400, e.field[0] ? e.field : NULL, "%s", e.detail);
        return;
    }
    if (key && !order_idem_key_valid(key)) {
        saga_http_reply_field(
            resp, 400, "Idempotency-Key",
            "Idempotency-Key must be 1 to 128 visible ASCII characters (no spaces)");
        return;
    }
    if (!(db = saga_service_request_db(req, resp)))
        return;
    order_request_hash(&r, hash);
    redis = saga_redis_thread(saga_service_config(svc));

    if (key && idem_fast_path(req, resp, db, redis, &r, key, hash))
        return;
    if (app->soldout_hint && soldout_refuse(req, resp, db, redis, &r, key, hash))
        return;

    if (!(o = malloc(sizeof(*o)))) {
        saga_http_reply_rc(resp, SAGA_ERR_NOMEM, "out of memory");
        return;
    }
    order_build(o, &r, app->timeout_ms, saga_clock_wall_ms());
    order_creation job = {.o = o, .idem_key = key, .hash = hash, .traceparent = tp};
    create_call call = {.app = app,
                        .db = db,
                        .job = &job,
                        .customer_id = r.customer_id,
                        .key = key,
                        .stored_hash = stored_hash,
                        .stored_id = stored_id};
    rc = saga_backoff_retry(TX_ATTEMPTS, create_attempt, &call);
    if (rc == SAGA_OK && call.replayed) {
        reply_replay(req, resp, db, key, hash, stored_hash, stored_id);
        goto redis;
    }
    if (rc != SAGA_OK) {
        saga_service_reply_db_error(resp, db, rc, "creating an order");
        goto out;
    }
    saga_metric_add(app->created, 1);
    snprintf(stored_hash, sizeof(stored_hash), "%s", hash);
    snprintf(stored_id, sizeof(stored_id), "%s", o->id);
    saga_log_ids ids = {.order_id = o->id, .correlation_id = o->id};
    saga_log_ids(SAGA_LOG_DEBUG, "order.created", &ids, "order of %zu lines for %s", o->nlines,
                 o->customer_id);
    reply_order(resp, 202, o, true);
redis:
    if (key && strcmp(stored_hash, hash) == 0) {
        char rkey[REDIS_KEY_MAX], val[ORDER_HASH_LEN + ORDER_ID_MAX + 2];
        idem_redis_key(rkey, sizeof(rkey), r.customer_id, key);
        snprintf(val, sizeof(val), "%s %s", stored_hash, stored_id);
        saga_redis_set(redis, rkey, val, IDEM_TTL_S, false);
    }
out:
    free(o);
}

/* Takes a token from the caller's buckets (per token subject, per client
 * address); answers 429 with Retry-After and returns false when one is empty. A
 * Redis outage never refuses (saga_ratelimit_take counts it instead). */
static bool within_rate_limits(saga_http_req *req, saga_http_resp *resp)
{
    saga_service *svc = saga_service_from_request(req);
    const order_service *app = saga_service_userdata(svc);
    const saga_principal *who = saga_http_principal(req);
    saga_redis *redis = saga_redis_thread(saga_service_config(svc));
    char key[SAGA_AUTH_SUBJECT_MAX + 32];
    long retry_after = 0;
    const char *what = NULL;

    snprintf(key, sizeof(key), "rl:orders:addr:%s", saga_http_client_address(req));
    if (saga_ratelimit_take(redis, key, app->address_limit, &retry_after) == SAGA_RATE_LIMITED)
        what = "this client address";
    if (!what && who) {
        snprintf(key, sizeof(key), "rl:orders:customer:%s", who->subject);
        if (saga_ratelimit_take(redis, key, app->customer_limit, &retry_after) == SAGA_RATE_LIMITED)
            what = "this customer";
    }
    if (!what)
        return true;
    char seconds[24];
    snprintf(seconds, sizeof(seconds), "%ld", retry_after);
    saga_http_reply_problem(resp, 429, "too many orders from %s; retry in %ld s", what,
                            retry_after);
    saga_http_add_header(resp, "Retry-After", seconds);
    return false;
}

static void route_create(saga_http_req *req, saga_http_resp *resp)
{
    if (!within_rate_limits(req, resp))
        return;
    cJSON *own_body = NULL;
    const cJSON *body = order_body_for_caller(req, resp, &own_body);
    if (body)
        create_order(req, resp, body);
    cJSON_Delete(own_body); /* after: the parsed request borrows from it */
}

/* --- GET /api/orders/{id} --- */

/* Re-reads o until it is settled, wait_s pass, or the service stops. It sleeps on
 * the order watch between reads: a notify about this order comes after the commit
 * that settled it, so the read it wakes sees the outcome. It also re-reads every
 * WAIT_SLICE_MS (a notify lost to a full ring, the service stopping). */
static int wait_settled(saga_http_req *req, saga_db *db, order *o, unsigned long long seen,
                        long wait_s)
{
    saga_service *svc = saga_service_from_request(req);
    order_watch *w = &route_service(req)->watch;
    long long until = saga_clock_mono_ms() + wait_s * 1000;
    char id[ORDER_ID_MAX + 1];
    int rc;

    snprintf(id, sizeof(id), "%s", o->id);
    for (;;) {
        long long now = saga_clock_mono_ms();
        if (order_status_settled(o->status) || !saga_service_running(svc) || now >= until)
            return SAGA_OK;
        long long slice = now + WAIT_SLICE_MS;
        order_watch_wait(w, id, &seen, slice < until ? slice : until);
        if ((rc = order_store_get(db, id, o)))
            return rc;
    }
}

/* The {id} path parameter, or NULL after answering 400: an order id has one spelling,
 * the canonical UUID text the service made. */
static const char *route_order_id(saga_http_req *req, saga_http_resp *resp)
{
    const char *id = saga_http_param(req, "id");
    if (saga_text_is_uuid(id))
        return id;
    saga_http_reply_field(resp, 400, "id", "id must be an order id: a UUID in lowercase hex");
    return NULL;
}

/* Reads order id for the caller: SAGA_ERR_NOT_FOUND also for another customer's
 * order, so that ids cannot be probed. */
static int own_order_get(saga_http_req *req, saga_db *db, const char *id, order *o)
{
    int rc = order_store_get(db, id, o);
    if (rc == SAGA_OK && !saga_http_may_act_for(req, o->customer_id))
        rc = SAGA_ERR_NOT_FOUND;
    return rc;
}

static void route_get(saga_http_req *req, saga_http_resp *resp)
{
    const char *id = route_order_id(req, resp);
    const char *wait = saga_http_query(req, "wait");
    long wait_s = 0;
    order *o = NULL;
    saga_db *db;
    int rc;

    if (!id)
        return;
    if (wait && order_parse_int(wait, 0, ORDER_WAIT_MAX_S, &wait_s) != SAGA_OK) {
        saga_http_reply_field(resp, 400, "wait", "wait must be an integer from 0 to %d (seconds)",
                              ORDER_WAIT_MAX_S);
        return;
    }
    if (!(db = saga_service_request_db(req, resp)))
        return;
    if (!(o = malloc(sizeof(*o)))) {
        saga_http_reply_rc(resp, SAGA_ERR_NOMEM, "out of memory");
        return;
    }
    /* the generation before the read: a notify after it wakes the wait */
    unsigned long long seen = order_watch_snapshot(&route_service(req)->watch);
    rc = own_order_get(req, db, id, o);
    if (rc == SAGA_OK && wait_s > 0 && !order_status_settled(o->status))
        rc = wait_settled(req, db, o, seen, wait_s);
    if (rc == SAGA_ERR_NOT_FOUND)
        saga_http_reply_problem(resp, saga_http_status_for_rc(rc), "no order %s", id);
    else if (rc)
        saga_service_reply_db_error(resp, db, rc, "reading an order");
    else
        reply_order(resp, 200, o, false);
    free(o);
}

/* --- GET /api/orders --- */

typedef struct list_page {
    cJSON *items;
    long limit;
    long n;
    char last[ORDER_ID_MAX + 1];
    bool more;
} list_page;

static int list_add(const order *o, void *ud)
{
    list_page *p = ud;
    if (p->n >= p->limit) {
        p->more = true; /* the one extra row asked for */
        return 0;
    }
    cJSON *j = order_to_json(o);
    if (!j || !cJSON_AddItemToArray(p->items, j)) {
        cJSON_Delete(j);
        return SAGA_ERR_NOMEM;
    }
    snprintf(p->last, sizeof(p->last), "%s", o->id);
    p->n++;
    return 0;
}

static void route_list(saga_http_req *req, saga_http_resp *resp)
{
    const char *customer = saga_http_query(req, "customerId");
    const char *status = saga_http_query(req, "status");
    const char *limit = saga_http_query(req, "limit");
    const char *after = saga_http_query(req, "after");
    order_filter f = {.limit = ORDER_LIST_LIMIT_DEFAULT};
    list_page page = {0};
    cJSON *body = NULL;
    saga_db *db;
    int rc;

    if (customer) {
        if (!saga_text_is_customer_id(customer)) {
            saga_http_reply_field(resp, 400, "customerId",
                                  "customerId must be " SAGA_CUSTOMER_ID_RULE);
            return;
        }
        f.customer_id = customer;
    }
    /* a customer lists its own orders only */
    const saga_principal *who = saga_http_principal(req);
    if (who && !who->admin) {
        if (customer && strcmp(customer, who->subject) != 0) {
            saga_http_reply_problem(resp, 403, "a customer may only list its own orders");
            return;
        }
        f.customer_id = who->subject;
    }
    if (status) {
        if (order_status_parse(status, &f.status) != SAGA_OK) {
            saga_http_reply_field(
                resp, 400, "status",
                "status must be PENDING, AWAITING_PAYMENT, CONFIRMED or CANCELLED");
            return;
        }
        f.has_status = true;
    }
    if (limit && order_parse_int(limit, 1, ORDER_LIST_LIMIT_MAX, &f.limit) != SAGA_OK) {
        saga_http_reply_field(resp, 400, "limit", "limit must be an integer from 1 to %d",
                              ORDER_LIST_LIMIT_MAX);
        return;
    }
    if (after && !saga_text_is_uuid(after)) {
        saga_http_reply_field(resp, 400, "after",
                              "after must be an order id (the previous page's next)");
        return;
    }
    f.after = after;
    if (!(db = saga_service_request_db(req, resp)))
        return;

    page.limit = f.limit;
    f.limit++; /* one more tells whether there is a next page */
    if (!(body = cJSON_CreateObject()) || !(page.items = cJSON_AddArrayToObject(body, "items"))) {
        rc = SAGA_ERR_NOMEM;
        goto fail;
    }
    if ((rc = order_store_list(db, &f, list_add, &page)))
        goto fail;
    if (!(page.more ? cJSON_AddStringToObject(body, "next", page.last)
                    : cJSON_AddNullToObject(body, "next"))) {
        rc = SAGA_ERR_NOMEM;
        goto fail;
    }
    saga_http_reply_json(resp, 200, body);
    return;
fail:
    cJSON_Delete(body);
    saga_service_reply_db_error(resp, db, rc, "listing orders");
}

/* --- GET /api/orders/{id}/events --- */

static int events_add(const order_history_row *row, void *ud)
{
    cJSON *events = ud;
    cJSON *e = cJSON_CreateObject();
    cJSON *detail = row->detail ? cJSON_Parse(row->detail) : NULL;
    bool ok = e && cJSON_AddItemToArray(events, e);

    if (!ok) {
        cJSON_Delete(e);
        cJSON_Delete(detail);
        return SAGA_ERR_NOMEM;
    }
    if (detail && !cJSON_IsObject(detail)) {
        cJSON_Delete(detail);
        detail = NULL;
    }
    ok = (row->event_id ? cJSON_AddStringToObject(e, "eventId", row->event_id)
                        : cJSON_AddNullToObject(e, "eventId")) &&
         cJSON_AddStringToObject(e, "type", row->event_type) &&
         cJSON_AddStringToObject(e, "kind", row->kind) &&
         cJSON_AddStringToObject(e, "status", row->status) &&
         cJSON_AddStringToObject(e, "at", row->at);
    if (ok && detail) {
        cJSON_AddItemToObject(e, "detail", detail);
        detail = NULL; /* now owned by e */
    } else if (ok) {
        ok = cJSON_AddNullToObject(e, "detail") != NULL;
    }
    cJSON_Delete(detail);
    return ok ? 0 : SAGA_ERR_NOMEM;
}

static void route_events(saga_http_req *req, saga_http_resp *resp)
{
    const char *id = route_order_id(req, resp);
    cJSON *body = NULL, *events = NULL;
    order *o = NULL;
    saga_db *db;
    int rc;

    if (!id)
        return;
    if (!(db = saga_service_request_db(req, resp)))
        return;
    if (!(o = malloc(sizeof(*o))) || !(body = cJSON_CreateObject())) {
        rc = SAGA_ERR_NOMEM;
        goto fail;
    }
    rc = own_order_get(req, db, id, o);
    if (rc == SAGA_ERR_NOT_FOUND) {
        saga_http_reply_problem(resp, saga_http_status_for_rc(rc), "no order %s", id);
        goto out;
    }
    if (rc)
        goto fail;
    if (!cJSON_AddStringToObject(body, "orderId", o->id) ||
        !(events = cJSON_AddArrayToObject(body, "events"))) {
        rc = SAGA_ERR_NOMEM;
        goto fail;
    }
    if ((rc = order_store_history(db, o->id, events_add, events)))
        goto fail;
    saga_http_reply_json(resp, 200, body);
    body = NULL; /* now owned by the answer */
    goto out;
fail:
    saga_service_reply_db_error(resp, db, rc, "reading the saga history");
out:
    cJSON_Delete(body);
    free(o);
}

/* --- POST /api/orders/{id}/cancel --- */

typedef struct cancel_call {
    const char *id;
    const char *traceparent;
    order *o;
    bool changed;
} cancel_call;

static int cancel_tx(saga_db *db, void *ud)
{
    cancel_call *call = ud;
    return order_events_cancel(db, call->id, ORDER_IN_CUSTOMER_CANCEL, call->traceparent, call->o,
                               &call->changed);
}

static void route_cancel(saga_http_req *req, saga_http_resp *resp)
{
    const char *id = route_order_id(req, resp);
    char tp[ORDER_TRACEPARENT_LEN + 1];
    order *o = NULL;
    bool changed = false;
    saga_db *db;
    int rc = SAGA_OK;

    if (!id)
        return;
    if (route_traceparent(req, resp, tp) != SAGA_OK)
        return;
    if (!(db = saga_service_request_db(req, resp)))
        return;
    if (!(o = malloc(sizeof(*o)))) {
        saga_http_reply_rc(resp, SAGA_ERR_NOMEM, "out of memory");
        return;
    }
    /* the owner never changes, so checking it before the transaction is enough */
    rc = own_order_get(req, db, id, o);
    if (rc == SAGA_ERR_NOT_FOUND) {
        saga_http_reply_problem(resp, saga_http_status_for_rc(rc), "no order %s", id);
        goto out;
    }
    if (rc) {
        saga_service_reply_db_error(resp, db, rc, "reading an order");
        goto out;
    }
    cancel_call call = {.id = id, .traceparent = tp, .o = o};
    rc = saga_db_transaction(db, TX_ATTEMPTS, cancel_tx, &call);
    changed = call.changed;
    if (rc == SAGA_ERR_NOT_FOUND) {
        saga_http_reply_problem(resp, saga_http_status_for_rc(rc), "no order %s", id);
        goto out;
    }
    if (rc == SAGA_ERR_CONFLICT) {
        saga_http_reply_problem(resp, saga_http_status_for_rc(rc), "order %s is already cancelled",
                                id);
        goto out;
    }
    if (rc) {
        saga_service_reply_db_error(resp, db, rc, "cancelling an order");
        goto out;
    }
    if (changed)
        order_watch_notify(&route_service(req)->watch, o->id);
    saga_log_ids ids = {.order_id = o->id, .correlation_id = o->id};
    saga_log_ids(SAGA_LOG_INFO, "order.cancelled", &ids, "cancelled at the customer's request");
    if ((rc = order_store_get(db, o->id, o)))
        saga_service_reply_db_error(resp, db, rc, "reading the cancelled order");
    else
        reply_order(resp, 200, o, false);
out:
    free(o);
}

const saga_http_route order_routes[] = {
    /* who may call what: the authorization table in README.md, "Security"; the
     * owner of an order is checked inside each handler (404 for another's) */
    {"POST", "/api/orders", route_create, SAGA_ROUTE_JSON, NULL},
    {"GET", "/api/orders", route_list, 0, NULL},
    {"GET", "/api/orders/{id}", route_get, 0, NULL},
    {"GET", "/api/orders/{id}/events", route_events, 0, NULL},
    {"POST", "/api/orders/{id}/cancel", route_cancel, 0, NULL},
};
const size_t order_nroutes = sizeof(order_routes) / sizeof(order_routes[0]);
