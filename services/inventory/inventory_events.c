/* inventory_events.c - the order-events inventory-service reacts to, the
 * inventory-events it emits, and the sold-out hint (see inventory_events.h).
 *
 * What a handler changes outside MySQL (the sold-out hints in Redis, the counters
 * on /metrics) is gathered while its batch runs and published only once the
 * batch's transaction has committed (saga_db_after_commit): a batch that rolls
 * back, or is retried, publishes nothing of the attempt that did not commit, so a
 * hint never shows a stock change that is not in the database and no order is
 * counted twice. */
#include "inventory_events.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "saga/err.h"
#include "saga/handler.h"
#include "saga/json.h"
#include "saga/log.h"
#include "saga/metrics.h"
#include "saga/outbox.h"
#include "saga/redis.h"
#include "saga/text.h"
#include "inventory.h"
#include "inventory_store.h"

void inventory_events_metrics_init(inventory_service *st)
{
    static const char orders_help[] = "Orders inventory decided on, by outcome";
    static const char lines_help[] = "Reservation lines moved, by new status";
    st->reserved =
        saga_metrics_counter("saga_inventory_orders_total", orders_help, "outcome=\"reserved\"");
    st->shortage =
        saga_metrics_counter("saga_inventory_orders_total", orders_help, "outcome=\"shortage\"");
    st->committed = saga_metrics_counter("saga_inventory_reservation_lines_total", lines_help,
                                         "status=\"COMMITTED\"");
    st->released = saga_metrics_counter("saga_inventory_reservation_lines_total", lines_help,
                                        "status=\"RELEASED\"");
    st->restocked = saga_metrics_counter("saga_inventory_reservation_lines_total", lines_help,
                                         "status=\"RESTOCKED\"");
    st->ignored =
        saga_metrics_counter("saga_inventory_events_ignored_total",
                             "Events with nothing left to do (decided or done before)", "");
}

/* The ids every order event carries: orderId (a UUID, equal to the subject) and
 * customerId (1..64 characters). */
static int order_ids(const saga_event *ev, saga_msg_meta *meta, const char **order_id,
                     const char **customer_id)
{
    *order_id = saga_data_str(ev->data, "orderId");
    *customer_id = saga_data_str(ev->data, "customerId");
    if (!inventory_order_id_valid(*order_id))
        return saga_event_reject(meta, "%s: orderId is not an order id (a UUID)", ev->type);
    if (strcmp(*order_id, ev->subject) != 0)
        return saga_event_reject(meta, "%s: orderId %s differs from the subject %s", ev->type,
                                 *order_id, ev->subject);
    if (!saga_text_is_customer_id(*customer_id))
        return saga_event_reject(meta, "%s: customerId is missing or not a customer id", ev->type);
    return SAGA_OK;
}

/* Builds the event caused by `cause` and adds it to the outbox. Takes over data. */
static int emit(saga_db *db, const saga_event *cause, const saga_msg_meta *meta, const char *type,
                const char *order_id, cJSON *data)
{
    const char *correlation = cause->correlationid ? cause->correlationid : order_id;
    saga_event *out =
        saga_event_new(type, INVENTORY_SOURCE, order_id, correlation, cause->id, data);
    int rc;

    if (!out)
        return SAGA_ERR_NOMEM;
    rc = saga_outbox_add_event(db, INVENTORY_TOPIC, out, meta->traceparent);
    saga_event_free(out);
    return rc;
}

void inventory_hint_update(const inventory_service *ctx, const char *sku, long long available)
{
    char key[sizeof(INVENTORY_SOLDOUT_PREFIX) + INVENTORY_SKU_MAX];
    saga_redis *r;
    int rc;

    if (inventory_soldout_key(sku, key, sizeof(key)) != SAGA_OK)
        return;
    if (!(r = saga_redis_thread(ctx->cfg)))
        return;
    if (inventory_hint_for(available) == INVENTORY_HINT_SET)
        rc = saga_redis_set(r, key, "1", INVENTORY_SOLDOUT_TTL_S, false);
    else
        rc = saga_redis_del(r, key);
    if (rc != SAGA_OK)
        LOG_DEBUG("inventory.hint_skipped", "sold-out hint of %s not %s: %s", sku,
                  available <= 0 ? "set" : "deleted", saga_rc_str(rc));
}

/* --- what a batch publishes once it commits --- */

/* One sku's hint as the batch leaves it. */
typedef struct hint_change {
    char sku[INVENTORY_SKU_MAX + 1];
    long long available;
} hint_change;

/* The open transaction's effects outside MySQL. Only the consumer thread gathers
 * them (HTTP routes update the hint themselves, after their commit). They belong to
 * the transaction `serial` of `db`; found under another serial they are left over
 * from a transaction that did not commit, and are dropped. `hints` stays allocated
 * between batches (a file-scope pointer, freed at exit with the process). */
typedef struct batch_effects {
    const inventory_service *ctx;
    const saga_db *db;
    unsigned long long serial;
    hint_change *hints; /* one per sku, its last value in the batch */
    size_t nhints, cap;
    double reserved, shortage, committed, released, restocked, ignored;
} batch_effects;

static batch_effects effects;

/* Runs after the commit, in the consumer thread: the hints, then the counters. */
static void effects_publish(void *ud)
{
    batch_effects *e = ud;

    for (size_t i = 0; i < e->nhints; i++)
        inventory_hint_update(e->ctx, e->hints[i].sku, e->hints[i].available);
    saga_metric_add(e->ctx->reserved, e->reserved);
    saga_metric_add(e->ctx->shortage, e->shortage);
    saga_metric_add(e->ctx->committed, e->committed);
    saga_metric_add(e->ctx->released, e->released);
    saga_metric_add(e->ctx->restocked, e->restocked);
    saga_metric_add(e->ctx->ignored, e->ignored);
    e->nhints = 0;
    e->reserved = e->shortage = e->committed = e->released = e->restocked = e->ignored = 0;
    e->db = NULL;
}

/* The effects of db's open transaction, emptied first if left over from another.
 * The caller adds to them, then registers effects_publish (effects_publish_after). */
static batch_effects *effects_of(saga_db *db, const inventory_service *ctx)
{
    batch_effects *e = &effects;
    unsigned long long serial = saga_db_tx_serial(db);

    if (e->db != db || e->serial != serial) {
        e->nhints = 0;
        e->reserved = e->shortage = e->committed = e->released = e->restocked = e->ignored = 0;
        e->db = db;
        e->serial = serial;
    }
    e->ctx = ctx;
    return e;
}

/* Publishes e once db's open transaction commits (registered once per transaction). */
static int effects_publish_after(saga_db *db, batch_effects *e)
{
    return saga_db_after_commit(db, effects_publish, e);
}

enum {
    COUNT_RESERVED,
    COUNT_SHORTAGE,
    COUNT_COMMITTED,
    COUNT_RELEASED,
    COUNT_RESTOCKED,
    COUNT_IGNORED
};

/* Counts `n` in the counter `which` of the open transaction's effects. */
static int effects_count(saga_db *db, const inventory_service *ctx, size_t which, double n)
{
    batch_effects *e = effects_of(db, ctx);
    double *counters[] = {&e->reserved, &e->shortage,  &e->committed,
                          &e->released, &e->restocked, &e->ignored};
    *counters[which] += n;
    return effects_publish_after(db, e);
}

/* Records sku's hint as this transaction leaves it (available units), to be
 * published once it commits. */
static int effects_hint(saga_db *db, const inventory_service *ctx, const char *sku,
                        long long available)
{
    batch_effects *e = effects_of(db, ctx);
    size_t i;

    for (i = 0; i < e->nhints && strcmp(e->hints[i].sku, sku) != 0; i++)
        ;
    if (i == e->nhints) {
        if (e->nhints == e->cap) {
            size_t cap = e->cap ? e->cap * 2 : 16;
            hint_change *hints = realloc(e->hints, cap * sizeof(*hints));
            if (!hints)
                return SAGA_ERR_NOMEM;
            e->hints = hints;
            e->cap = cap;
        }
        snprintf(e->hints[i].sku, sizeof(e->hints[i].sku), "%s", sku);
        e->nhints++;
    }
    e->hints[i].available = available;
    return effects_publish_after(db, e);
}

/* Reads the order's lines from the event into a calloc'd array (free with free). */
static int lines_read(const saga_event *ev, saga_msg_meta *meta, inventory_line **out, size_t *n)
{
    const cJSON *items = cJSON_GetObjectItemCaseSensitive(ev->data, "items");
    const cJSON *item;
    inventory_line *lines = NULL;
    size_t i = 0, count;
    char why[256];

    *out = NULL;
    *n = 0;
    if (!cJSON_IsArray(items))
        return saga_event_reject(meta, "OrderCreated: items is not an array");
    count = (size_t)cJSON_GetArraySize(items);
    if (count < 1 || count > INVENTORY_LINES_MAX)
        return saga_event_reject(meta, "OrderCreated: an order has 1 to %d lines, not %zu",
                                 INVENTORY_LINES_MAX, count);
    if (!(lines = calloc(count, sizeof(*lines))))
        return SAGA_ERR_NOMEM;
    cJSON_ArrayForEach(item, items)
    {
        lines[i].sku = saga_data_str(item, "sku");
        if (!saga_data_int(item, "quantity", 1, INVENTORY_QUANTITY_MAX, &lines[i].quantity)) {
            free(lines);
            return saga_event_reject(meta, "OrderCreated: items[%zu].quantity is not 1..%d", i,
                                     INVENTORY_QUANTITY_MAX);
        }
        i++;
    }
    if (inventory_lines_prepare(lines, count, why, sizeof(why)) != SAGA_OK) {
        free(lines);
        return saga_event_reject(meta, "OrderCreated: %s", why);
    }
    *out = lines;
    *n = count;
    return SAGA_OK;
}

static cJSON *reserved_data(const char *order_id, const char *customer_id, long long amount,
                            const char *currency, const inventory_line *lines, size_t n)
{
    cJSON *data = cJSON_CreateObject();
    cJSON *items = NULL;

    if (!data || !cJSON_AddStringToObject(data, "orderId", order_id) ||
        !cJSON_AddStringToObject(data, "customerId", customer_id) ||
        !saga_json_add_int(data, "amount", amount) ||
        !cJSON_AddStringToObject(data, "currency", currency) ||
        !(items = cJSON_AddArrayToObject(data, "items")))
        goto fail;
    for (size_t i = 0; i < n; i++) {
        cJSON *it = cJSON_CreateObject();
        if (!it || !cJSON_AddItemToArray(items, it) ||
            !cJSON_AddStringToObject(it, "sku", lines[i].sku) ||
            !saga_json_add_int(it, "quantity", lines[i].quantity) ||
            !saga_json_add_int(it, "unitPrice", lines[i].price))
            goto fail;
    }
    return data;
fail:
    cJSON_Delete(data);
    return NULL;
}

static cJSON *shortage_data(const char *order_id, const char *customer_id,
                            const inventory_line *lines, size_t n)
{
    cJSON *data = cJSON_CreateObject();
    cJSON *shortages = NULL;

    if (!data || !cJSON_AddStringToObject(data, "orderId", order_id) ||
        !cJSON_AddStringToObject(data, "customerId", customer_id) ||
        !(shortages = cJSON_AddArrayToObject(data, "shortages")))
        goto fail;
    for (size_t i = 0; i < n; i++) {
        if (!inventory_line_short(&lines[i]))
            continue;
        cJSON *it = cJSON_CreateObject();
        if (!it || !cJSON_AddItemToArray(shortages, it) ||
            !cJSON_AddStringToObject(it, "sku", lines[i].sku) ||
            !saga_json_add_int(it, "requested", lines[i].quantity) ||
            !saga_json_add_int(it, "available", (lines[i].found ? lines[i].available : 0)))
            goto fail;
    }
    return data;
fail:
    cJSON_Delete(data);
    return NULL;
}

/* OrderCreated: hold every line or none, priced; InventoryReserved | InventoryShortage. */
static int on_order_created(saga_db *db, const saga_event *ev, saga_msg_meta *meta, void *ud)
{
    const inventory_service *ctx = ud;
    const char *order_id, *customer_id, *currency;
    inventory_line *lines = NULL;
    size_t n = 0, i;
    inventory_decision decision = INVENTORY_SHORTAGE;
    long long amount = 0;
    cJSON *data = NULL;
    saga_log_ids ids = {.event_id = ev->id, .correlation_id = ev->correlationid};
    int rc;

    if ((rc = order_ids(ev, meta, &order_id, &customer_id)))
        goto out;
    ids.order_id = order_id;
    currency = saga_data_str(ev->data, "currency");
    if (!currency || strcmp(currency, ctx->currency) != 0) {
        rc = saga_event_reject(meta, "OrderCreated: currency %s is not the shop currency %s",
                               currency ? currency : "(none)", ctx->currency);
        goto out;
    }
    if ((rc = lines_read(ev, meta, &lines, &n)))
        goto out;

    /* lock the products in sku order, so that two orders never deadlock on each
     * other's products (batches holding several orders still can: InnoDB picks a
     * victim and the consumer retries its batch) */
    for (i = 0; i < n; i++) {
        if ((rc = inventory_store_stock_lock(db, &lines[i]))) {
            rc = saga_event_db_failed(db, meta, rc, "locking the stock");
            goto out;
        }
    }
    rc = inventory_decide(lines, n, &decision, &amount);
    if (rc == SAGA_ERR_TOO_LARGE) {
        rc = saga_event_reject(meta, "OrderCreated: the order's total is over %lld minor units",
                               INVENTORY_AMOUNT_MAX);
        goto out;
    }
    if (rc)
        goto out;

    /* the order's aggregate row: a second OrderCreated for it (another event id)
     * finds it and changes nothing */
    rc = inventory_store_outcome_insert(db, order_id, customer_id,
                                        decision == INVENTORY_RESERVE ? "RESERVED" : "SHORTAGE",
                                        decision == INVENTORY_RESERVE ? amount : -1);
    if (rc == SAGA_ERR_CONFLICT) {
        saga_log_ids(SAGA_LOG_WARN, "inventory.order_seen", &ids,
                     "order %s was decided on before: OrderCreated ignored", order_id);
        rc = effects_count(db, ctx, COUNT_IGNORED, 1);
        goto out;
    }
    if (rc) {
        rc = saga_event_db_failed(db, meta, rc, "recording the outcome");
        goto out;
    }

    if (decision == INVENTORY_RESERVE) {
        for (i = 0; i < n; i++) {
            inventory_delta d = {.available = -lines[i].quantity, .reserved = lines[i].quantity};
            rc = inventory_store_stock_move(db, lines[i].sku, &d);
            if (rc == SAGA_ERR_CONFLICT) { /* the row is locked: cannot happen */
                rc = saga_event_reject(meta, "OrderCreated: stock of %s changed under its lock",
                                       lines[i].sku);
                goto out;
            }
            if (rc) {
                rc = saga_event_db_failed(db, meta, rc, "holding stock");
                goto out;
            }
        }
        if ((rc = inventory_store_reservations_insert(db, order_id, customer_id, lines, n))) {
            rc = saga_event_db_failed(db, meta, rc, "inserting reservations");
            goto out;
        }
        data = reserved_data(order_id, customer_id, amount, currency, lines, n);
    } else {
        data = shortage_data(order_id, customer_id, lines, n);
    }
    if (!data) {
        rc = SAGA_ERR_NOMEM;
        goto out;
    }
    rc = emit(db, ev, meta,
              decision == INVENTORY_RESERVE ? "InventoryReserved" : "InventoryShortage", order_id,
              data);
    data = NULL; /* taken over by emit */
    if (rc) {
        rc = saga_event_db_failed(db, meta, rc, "writing the outbox");
        goto out;
    }

    /* the hint: every known sku this order leaves (or found) at 0 */
    for (i = 0; i < n; i++) {
        long long left =
            lines[i].available - (decision == INVENTORY_RESERVE ? lines[i].quantity : 0);
        if (lines[i].found && left <= 0 && (rc = effects_hint(db, ctx, lines[i].sku, left)))
            goto out;
    }
    if ((rc = effects_count(db, ctx,
                            decision == INVENTORY_RESERVE ? COUNT_RESERVED : COUNT_SHORTAGE, 1)))
        goto out;
    if (decision == INVENTORY_RESERVE) {
        saga_log_ids(SAGA_LOG_INFO, "inventory.reserved", &ids,
                     "held %zu line(s) of order %s, amount %lld %s", n, order_id, amount, currency);
    } else {
        saga_log_ids(SAGA_LOG_INFO, "inventory.shortage", &ids,
                     "order %s cannot be held: nothing reserved", order_id);
    }
out:
    cJSON_Delete(data);
    free(lines);
    return rc;
}

/* Locks the order's outcome row and checks that the event is about that order.
 * SAGA_ERR_NOT_FOUND for an order inventory never saw created (the caller rejects
 * it: order-events keeps one order's events in order, so its OrderCreated would have
 * come first); another customer is rejected here (dead letter). */
static int outcome_check(saga_db *db, const saga_event *ev, saga_msg_meta *meta,
                         const char *order_id, const char *customer_id, inventory_outcome *o)
{
    int rc = inventory_store_outcome_lock(db, order_id, o);
    if (rc == SAGA_ERR_NOT_FOUND)
        return rc;
    if (rc)
        return saga_event_db_failed(db, meta, rc, "locking the order");
    rc = inventory_order_check(o->customer_id, customer_id);
    if (rc == SAGA_ERR_CONFLICT)
        return saga_event_reject(meta, "%s: order %s belongs to another customer", ev->type,
                                 order_id);
    return rc;
}

/* Applies `action` to every reservation of the order the status guard lets through.
 * For each line moved, calls moved (if not NULL) with the old status. */
typedef int (*moved_fn)(const inventory_reservation *r, const char *old_status, void *arg);

static int reservations_apply(saga_db *db, saga_msg_meta *meta, const char *order_id,
                              inventory_action action, moved_fn moved, void *arg, size_t *nmoved)
{
    inventory_reservation *res = NULL;
    size_t n = 0, i;
    int rc;

    *nmoved = 0;
    if ((rc = inventory_store_reservations_lock(db, order_id, &res, &n))) {
        rc = saga_event_db_failed(db, meta, rc, "locking reservations");
        goto out;
    }
    /* in sku order, as OrderCreated locks them */
    for (i = 0; i < n; i++) {
        inventory_delta d;
        const char *next = inventory_reservation_next(res[i].status, action, res[i].quantity, &d);
        if (!next)
            continue;
        rc = inventory_store_stock_move(db, res[i].sku, &d);
        if (rc == SAGA_ERR_CONFLICT)
            rc = saga_event_reject(
                meta, "order %s: product %s cannot take back %lld (counters out of step)", order_id,
                res[i].sku, res[i].quantity);
        if (rc) {
            if (rc != SAGA_ERR_INVALID)
                rc = saga_event_db_failed(db, meta, rc, "moving stock");
            goto out;
        }
        if ((rc = inventory_store_reservation_set_status(db, order_id, res[i].sku, res[i].status,
                                                         next))) {
            rc = saga_event_db_failed(db, meta, rc, "updating a reservation");
            goto out;
        }
        if (moved && (rc = moved(&res[i], res[i].status, arg)))
            goto out;
        (*nmoved)++;
    }
out:
    free(res);
    return rc;
}

/* OrderConfirmed: the held stock is sold (HELD -> COMMITTED). No event. */
static int on_order_confirmed(saga_db *db, const saga_event *ev, saga_msg_meta *meta, void *ud)
{
    const inventory_service *ctx = ud;
    const char *order_id, *customer_id;
    inventory_outcome o;
    long long amount = -1;
    size_t moved = 0;
    int rc;

    if ((rc = order_ids(ev, meta, &order_id, &customer_id)))
        return rc;
    saga_log_ids ids = {
        .order_id = order_id, .event_id = ev->id, .correlation_id = ev->correlationid};
    saga_data_int(ev->data, "amount", 0, INVENTORY_AMOUNT_MAX, &amount);
    rc = outcome_check(db, ev, meta, order_id, customer_id, &o);
    if (rc == SAGA_ERR_NOT_FOUND)
        return saga_event_reject(meta, "unknown order %s", order_id);
    if (rc)
        return rc;
    if (strcmp(o.outcome, "RESERVED") != 0)
        return saga_event_reject(meta, "OrderConfirmed: order %s was never reserved (%s)", order_id,
                                 o.outcome);
    if (!o.has_amount || o.amount != amount)
        return saga_event_reject(
            meta, "OrderConfirmed: amount %lld is not the reserved amount %lld", amount, o.amount);
    if ((rc = reservations_apply(db, meta, order_id, INVENTORY_CONFIRM, NULL, NULL, &moved)))
        return rc;
    if (moved == 0) {
        saga_log_ids(SAGA_LOG_INFO, "inventory.nothing_held", &ids,
                     "order %s holds nothing: OrderConfirmed changes nothing", order_id);
        return effects_count(db, ctx, COUNT_IGNORED, 1);
    }
    if ((rc = effects_count(db, ctx, COUNT_COMMITTED, (double)moved)))
        return rc;
    saga_log_ids(SAGA_LOG_INFO, "inventory.committed", &ids, "sold %zu line(s) of order %s", moved,
                 order_id);
    return SAGA_OK;
}

/* What OrderCancelled gave back: the InventoryReleased items, skus for the hint. */
typedef struct release_acc {
    cJSON *items;
    bool restocked;
    size_t released, restocked_lines;
    char (*skus)[INVENTORY_SKU_MAX + 1];
    long long *quantities;
    size_t n, cap;
} release_acc;

static int release_moved(const inventory_reservation *r, const char *old_status, void *arg)
{
    release_acc *acc = arg;
    cJSON *it = cJSON_CreateObject();

    if (!it || !cJSON_AddItemToArray(acc->items, it) ||
        !cJSON_AddStringToObject(it, "sku", r->sku) ||
        !saga_json_add_int(it, "quantity", r->quantity))
        return SAGA_ERR_NOMEM;
    if (strcmp(old_status, "COMMITTED") == 0) {
        acc->restocked = true;
        acc->restocked_lines++;
    } else {
        acc->released++;
    }
    if (acc->n == acc->cap) {
        size_t cap = acc->cap ? acc->cap * 2 : 8;
        void *skus = realloc(acc->skus, cap * sizeof(*acc->skus));
        if (!skus)
            return SAGA_ERR_NOMEM;
        acc->skus = skus;
        void *q = realloc(acc->quantities, cap * sizeof(*acc->quantities));
        if (!q)
            return SAGA_ERR_NOMEM;
        acc->quantities = q;
        acc->cap = cap;
    }
    snprintf(acc->skus[acc->n], sizeof(acc->skus[acc->n]), "%s", r->sku);
    acc->quantities[acc->n] = r->quantity;
    acc->n++;
    return SAGA_OK;
}

/* OrderCancelled: HELD -> RELEASED, COMMITTED -> RESTOCKED; InventoryReleased. */
static int on_order_cancelled(saga_db *db, const saga_event *ev, saga_msg_meta *meta, void *ud)
{
    const inventory_service *ctx = ud;
    const char *order_id, *customer_id;
    inventory_outcome o;
    release_acc acc = {0};
    cJSON *data = NULL;
    size_t moved = 0;
    saga_log_ids ids = {.event_id = ev->id, .correlation_id = ev->correlationid};
    int rc;

    if ((rc = order_ids(ev, meta, &order_id, &customer_id)))
        goto out;
    ids.order_id = order_id;
    rc = outcome_check(db, ev, meta, order_id, customer_id, &o);
    if (rc == SAGA_ERR_NOT_FOUND) {
        rc = saga_event_reject(meta, "unknown order %s", order_id);
        goto out;
    }
    if (rc)
        goto out;
    if (!(data = cJSON_CreateObject()) || !cJSON_AddStringToObject(data, "orderId", order_id) ||
        !(acc.items = cJSON_AddArrayToObject(data, "items"))) {
        rc = SAGA_ERR_NOMEM;
        goto out;
    }
    if ((rc =
             reservations_apply(db, meta, order_id, INVENTORY_CANCEL, release_moved, &acc, &moved)))
        goto out;
    if (moved == 0) {
        saga_log_ids(SAGA_LOG_INFO, "inventory.nothing_held", &ids,
                     "order %s holds nothing (%s): no InventoryReleased", order_id, o.outcome);
        rc = effects_count(db, ctx, COUNT_IGNORED, 1);
        goto out;
    }
    if (!cJSON_AddBoolToObject(data, "restocked", acc.restocked)) {
        rc = SAGA_ERR_NOMEM;
        goto out;
    }
    rc = emit(db, ev, meta, "InventoryReleased", order_id, data);
    data = NULL; /* taken over by emit */
    if (rc) {
        rc = saga_event_db_failed(db, meta, rc, "writing the outbox");
        goto out;
    }
    /* stock is back: each of these skus has at least the quantity returned */
    for (size_t i = 0; i < acc.n; i++)
        if ((rc = effects_hint(db, ctx, acc.skus[i], acc.quantities[i])))
            goto out;
    if ((rc = effects_count(db, ctx, COUNT_RELEASED, (double)acc.released)) ||
        (rc = effects_count(db, ctx, COUNT_RESTOCKED, (double)acc.restocked_lines)))
        goto out;
    saga_log_ids(SAGA_LOG_INFO, "inventory.released", &ids,
                 "order %s: %zu line(s) released, %zu restocked", order_id, acc.released,
                 acc.restocked_lines);
out:
    cJSON_Delete(data);
    free(acc.skus);
    free(acc.quantities);
    return rc;
}

const saga_handler inventory_handlers[] = {
    /* in the order the handlers lock: the order's outcome, its reservations, then
     * the products (OrderCreated's only locks) */
    {"OrderConfirmed",
     on_order_confirmed,
     {{&inventory_outcome_lock_query, "orderId", NULL},
      {&inventory_reservations_lock_query, "orderId", NULL}}},
    {"OrderCancelled",
     on_order_cancelled,
     {{&inventory_outcome_lock_query, "orderId", NULL},
      {&inventory_reservations_lock_query, "orderId", NULL}}},
    {"OrderCreated", on_order_created, {{&inventory_stock_lock_query, "items", "sku"}}},
};
const size_t inventory_nhandlers = sizeof(inventory_handlers) / sizeof(inventory_handlers[0]);
