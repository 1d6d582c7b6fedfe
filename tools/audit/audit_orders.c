/* audit_orders.c - invariants 2, 3, 3a, 5 and 6: every order of order-service
 * against what payment, inventory and notification hold about it (ctx->sides).
 *
 * Orders are read in keyset pages of ORDERS_PAGE with their lines, so memory stays
 * bounded by the other services' data, not by the order database. */
#include "audit_check.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "saga/err.h"

#define ORDERS_PAGE 2000

typedef enum order_status {
    ST_OTHER = 0,
    ST_PENDING,
    ST_AWAITING_PAYMENT,
    ST_CONFIRMED,
    ST_CANCELLED,
} order_status;

typedef struct order_item {
    struct order_item *next;
    const char *sku;
    long long quantity;
    long long unit_price;
    bool unit_price_null;
} order_item;

typedef struct order_rec {
    const char *id;
    const char *customer;
    const char *status_text;
    const char *cancel_reason;
    order_status status;
    long long amount;
    bool amount_null;
    order_item *items, *items_tail;
} order_rec;

typedef struct order_page {
    audit_ctx *ctx;
    audit_arena *arena; /* this page's strings and records */
    audit_map *by_id;   /* id -> order_rec */
    order_rec *orders;
    size_t n;
    bool oom;
} order_page;

static order_status status_parse(const char *s)
{
    if (!s)
        return ST_OTHER;
    if (!strcmp(s, "PENDING"))
        return ST_PENDING;
    if (!strcmp(s, "AWAITING_PAYMENT"))
        return ST_AWAITING_PAYMENT;
    if (!strcmp(s, "CONFIRMED"))
        return ST_CONFIRMED;
    if (!strcmp(s, "CANCELLED"))
        return ST_CANCELLED;
    return ST_OTHER;
}

static bool str_eq(const char *a, const char *b)
{
    return a && b && !strcmp(a, b);
}

static const char *nz(const char *s)
{
    return s ? s : "NULL";
}

/* ---- reading a page ---- */

static int order_row(const saga_row *row, void *ud)
{
    order_page *pg = ud;
    order_rec *o = &pg->orders[pg->n];
    char id[SAGA_TEXT_UUID_LEN + 1];
    void **slot;

    o->id = audit_arena_strdup(pg->arena, audit_row_id(row, 0, id), &pg->oom);
    o->customer = audit_arena_strdup(pg->arena, saga_row_str(row, 1), &pg->oom);
    o->status_text = audit_arena_strdup(pg->arena, saga_row_str(row, 2), &pg->oom);
    o->cancel_reason = audit_arena_strdup(pg->arena, saga_row_str(row, 3), &pg->oom);
    o->amount = saga_row_i64(row, 4);
    o->amount_null = saga_row_is_null(row, 4);
    o->status = status_parse(o->status_text);
    if (pg->oom || !o->id || !(slot = audit_map_slot(pg->by_id, o->id))) {
        snprintf(pg->ctx->err, sizeof(pg->ctx->err), "out of memory reading orders");
        return SAGA_ERR_NOMEM;
    }
    *slot = o;
    pg->n++;
    return 0;
}

static int item_row(const saga_row *row, void *ud)
{
    order_page *pg = ud;
    char id[SAGA_TEXT_UUID_LEN + 1];
    const char *order_id = audit_row_id(row, 0, id);
    order_rec *o = order_id ? audit_map_get(pg->by_id, order_id) : NULL;
    order_item *it;

    if (!o)
        return 0; /* an order outside this page (the range is by id) */
    if (!(it = audit_arena_alloc(pg->arena, sizeof(*it))) ||
        (saga_row_str(row, 1) &&
         !(it->sku = audit_arena_strdup(pg->arena, saga_row_str(row, 1), &pg->oom)))) {
        snprintf(pg->ctx->err, sizeof(pg->ctx->err), "out of memory reading order_items");
        return SAGA_ERR_NOMEM;
    }
    it->quantity = saga_row_i64(row, 2);
    it->unit_price = saga_row_i64(row, 3);
    it->unit_price_null = saga_row_is_null(row, 3);
    if (o->items_tail)
        o->items_tail->next = it;
    else
        o->items = it;
    o->items_tail = it;
    return 0;
}

/* ---- the checks of one order ---- */

/* 3a: captured payments and held or committed stock belong to this order's
 * customer and amount. */
static void check_ownership(audit_ctx *ctx, const order_rec *o, const audit_side *side)
{
    bool in_flight = ctx->opts->allow_in_flight;
    long long total = 0;
    size_t active = 0;
    bool price_missing = false;

    for (const audit_payment *p = side->payments; p; p = p->next) {
        if (p->status != AUDIT_PAY_CAPTURED)
            continue;
        if (!str_eq(p->customer, o->customer))
            audit_violation(ctx->r, AUDIT_INV3A, "order", o->id, "payment", p->id,
                            "CAPTURED payment of customer %s, the order's customer is %s",
                            nz(p->customer), nz(o->customer));
        if (o->status == ST_CONFIRMED)
            continue; /* its amount is inv2's */
        if (o->amount_null) {
            if (!in_flight)
                audit_violation(ctx->r, AUDIT_INV3A, "order", o->id, "payment", p->id,
                                "CAPTURED payment of %lld for an order with no amount (%s)",
                                p->amount, nz(o->status_text));
        } else if (p->amount != o->amount) {
            audit_violation(ctx->r, AUDIT_INV3A, "order", o->id, "payment", p->id,
                            "CAPTURED payment of %lld != order amount %lld", p->amount, o->amount);
        }
    }

    for (const audit_resv *v = side->resv; v; v = v->next) {
        if (v->status != AUDIT_RESV_HELD && v->status != AUDIT_RESV_COMMITTED)
            continue;
        active++;
        if (v->unit_price_null)
            price_missing = true;
        total += v->quantity * v->unit_price;
        if (!str_eq(v->customer, o->customer))
            audit_violation(ctx->r, AUDIT_INV3A, "order", o->id, "sku", v->sku,
                            "%s reservation of customer %s, the order's customer is %s",
                            audit_resv_status_str(v->status), nz(v->customer), nz(o->customer));
    }
    if (!active)
        return;
    if (price_missing) {
        audit_violation(ctx->r, AUDIT_INV3A, "order", o->id, NULL, NULL,
                        "held or committed reservations without a unit price");
    } else if (o->amount_null) {
        if (!in_flight)
            audit_violation(ctx->r, AUDIT_INV3A, "order", o->id, NULL, NULL,
                            "%zu held or committed reservations worth %lld for an order with "
                            "no amount (%s)",
                            active, total, nz(o->status_text));
    } else if (total != o->amount) {
        audit_violation(ctx->r, AUDIT_INV3A, "order", o->id, NULL, NULL,
                        "held or committed reservations worth %lld != order amount %lld", total,
                        o->amount);
    }
}

static audit_resv *resv_find(const audit_side *side, const char *sku)
{
    for (audit_resv *v = side ? side->resv : NULL; v; v = v->next) {
        if (str_eq(v->sku, sku))
            return v;
    }
    return NULL;
}

static void check_confirmed(audit_ctx *ctx, const order_rec *o, const audit_side *side)
{
    bool in_flight = ctx->opts->allow_in_flight;
    const audit_payment *captured = NULL, *other = NULL;
    size_t ncaptured = 0;

    for (const audit_payment *p = side ? side->payments : NULL; p; p = p->next) {
        if (p->status == AUDIT_PAY_CAPTURED) {
            captured = p;
            ncaptured++;
        } else {
            other = p;
        }
    }
    if (o->amount_null)
        audit_violation(ctx->r, AUDIT_INV2, "order", o->id, NULL, NULL,
                        "CONFIRMED without an amount");
    if (ncaptured == 0) {
        if (other)
            audit_violation(ctx->r, AUDIT_INV2, "order", o->id, "payment", other->id,
                            "CONFIRMED but no captured payment (the payment is %s)",
                            other->status == AUDIT_PAY_REFUNDED   ? "REFUNDED"
                            : other->status == AUDIT_PAY_DECLINED ? "DECLINED"
                                                                  : "in an unknown status");
        else
            audit_violation(ctx->r, AUDIT_INV2, "order", o->id, NULL, NULL,
                            "CONFIRMED but no captured payment");
    } else if (ncaptured > 1) {
        audit_violation(ctx->r, AUDIT_INV2, "order", o->id, NULL, NULL,
                        "CONFIRMED with %zu captured payments (expected one)", ncaptured);
    } else if (!o->amount_null && captured->amount != o->amount) {
        audit_violation(ctx->r, AUDIT_INV2, "order", o->id, "payment", captured->id,
                        "captured payment of %lld != order amount %lld", captured->amount,
                        o->amount);
    }

    if (!o->items)
        audit_violation(ctx->r, AUDIT_INV2, "order", o->id, NULL, NULL,
                        "CONFIRMED order without order_items lines");
    for (audit_resv *v = side ? side->resv : NULL; v; v = v->next)
        v->matched = false;
    for (const order_item *it = o->items; it; it = it->next) {
        audit_resv *v = resv_find(side, it->sku);
        if (!v) {
            audit_violation(ctx->r, AUDIT_INV2, "order", o->id, "sku", it->sku,
                            "CONFIRMED but no reservation for the line (quantity %lld)",
                            it->quantity);
            continue;
        }
        v->matched = true;
        if (v->status != AUDIT_RESV_COMMITTED && !(in_flight && v->status == AUDIT_RESV_HELD))
            audit_violation(ctx->r, AUDIT_INV2, "order", o->id, "sku", it->sku,
                            "CONFIRMED but the reservation is %s, not COMMITTED",
                            audit_resv_status_str(v->status));
        if (v->quantity != it->quantity)
            audit_violation(ctx->r, AUDIT_INV2, "order", o->id, "sku", it->sku,
                            "reserved quantity %lld != line quantity %lld", v->quantity,
                            it->quantity);
        if (!it->unit_price_null && !v->unit_price_null && v->unit_price != it->unit_price)
            audit_violation(ctx->r, AUDIT_INV2, "order", o->id, "sku", it->sku,
                            "reserved unit price %lld != line unit price %lld", v->unit_price,
                            it->unit_price);
    }
    for (audit_resv *v = side ? side->resv : NULL; v; v = v->next) {
        if (!v->matched)
            audit_violation(ctx->r, AUDIT_INV2, "order", o->id, "sku", v->sku,
                            "%s reservation for a sku that is not a line of the order",
                            audit_resv_status_str(v->status));
    }
}

static void check_cancelled(audit_ctx *ctx, const order_rec *o, const audit_side *side)
{
    bool in_flight = ctx->opts->allow_in_flight;
    if (!side)
        return;
    for (const audit_payment *p = side->payments; p; p = p->next) {
        if (p->status != AUDIT_PAY_CAPTURED)
            continue;
        /* in flight: payment has not applied the OrderCancelled yet (it refunds in the
         * transaction that records the cancellation) */
        if (in_flight && !side->payment_saw_cancel)
            continue;
        audit_violation(ctx->r, AUDIT_INV3, "order", o->id, "payment", p->id,
                        "CANCELLED but payment of %lld is CAPTURED%s", p->amount,
                        side->payment_saw_cancel ? " although payment recorded the cancellation"
                                                 : "");
    }
    if (in_flight)
        return; /* inventory has not applied the OrderCancelled yet */
    for (const audit_resv *v = side->resv; v; v = v->next) {
        if (v->status == AUDIT_RESV_HELD || v->status == AUDIT_RESV_COMMITTED)
            audit_violation(ctx->r, AUDIT_INV3, "order", o->id, "sku", v->sku,
                            "CANCELLED but the reservation of %lld is %s", v->quantity,
                            audit_resv_status_str(v->status));
    }
}

static void check_notifications(audit_ctx *ctx, const order_rec *o, const audit_side *side)
{
    audit_trigger need = o->status == ST_CONFIRMED   ? AUDIT_TRIGGER_CONFIRMED
                         : o->status == ST_CANCELLED ? AUDIT_TRIGGER_CANCELLED
                                                     : AUDIT_TRIGGER_OTHER;

    if (need != AUDIT_TRIGGER_OTHER && !ctx->opts->allow_in_flight) {
        for (size_t c = 0; c < ctx->nchannels; c++) {
            bool found = false;
            for (const audit_notif *n = side ? side->notifs : NULL; n && !found; n = n->next)
                found = n->trigger == need && str_eq(n->channel, ctx->channels[c]);
            if (!found)
                audit_violation(ctx->r, AUDIT_INV6, "order", o->id, NULL, NULL,
                                "%s but no %s notification on channel %s", o->status_text,
                                need == AUDIT_TRIGGER_CONFIRMED ? "OrderConfirmed"
                                                                : "OrderCancelled",
                                ctx->channels[c]);
        }
    }
    for (const audit_notif *n = side ? side->notifs : NULL; n; n = n->next) {
        if (!str_eq(n->customer, o->customer))
            audit_violation(ctx->r, AUDIT_INV6, "order", o->id, "notification", n->id,
                            "notification to customer %s, the order's customer is %s",
                            nz(n->customer), nz(o->customer));
        if (n->trigger == AUDIT_TRIGGER_CANCELLED && o->status != ST_CANCELLED)
            audit_violation(ctx->r, AUDIT_INV6, "order", o->id, "notification", n->id,
                            "OrderCancelled notification but the order is %s", nz(o->status_text));
        /* only a CONFIRMED order is ever cancelled after it was confirmed, and only by
         * its customer */
        if (n->trigger == AUDIT_TRIGGER_CONFIRMED && o->status != ST_CONFIRMED &&
            !(o->status == ST_CANCELLED && str_eq(o->cancel_reason, "CUSTOMER_REQUEST")))
            audit_violation(ctx->r, AUDIT_INV6, "order", o->id, "notification", n->id,
                            "OrderConfirmed notification but the order is %s%s%s",
                            nz(o->status_text), o->cancel_reason ? " " : "",
                            o->cancel_reason ? o->cancel_reason : "");
    }
}

static void check_order(audit_ctx *ctx, const order_rec *o)
{
    audit_side *side = audit_map_get(ctx->sides, o->id);

    audit_count_add(ctx->r, AUDIT_C_ORDERS, 1);
    switch (o->status) {
    case ST_CONFIRMED:
        audit_count_add(ctx->r, AUDIT_C_CONFIRMED, 1);
        break;
    case ST_CANCELLED:
        audit_count_add(ctx->r, AUDIT_C_CANCELLED, 1);
        break;
    case ST_PENDING:
    case ST_AWAITING_PAYMENT:
        audit_count_add(ctx->r, AUDIT_C_IN_FLIGHT, 1);
        break;
    default:
        audit_violation(ctx->r, AUDIT_INV5, "order", o->id, NULL, NULL,
                        "order in unknown status '%s'", nz(o->status_text));
    }
    if (side) {
        side->order_known = true;
        check_ownership(ctx, o, side);
    }
    if (o->status == ST_CONFIRMED)
        check_confirmed(ctx, o, side);
    else if (o->status == ST_CANCELLED)
        check_cancelled(ctx, o, side);
    check_notifications(ctx, o, side);
}

/* ---- what nobody's order ---- */

static int unknown_order(const char *order_id, void *val, void *ud)
{
    audit_ctx *ctx = ud;
    const audit_side *side = val;
    long long held = 0, committed = 0;

    if (!side || side->order_known)
        return 0;
    for (const audit_payment *p = side->payments; p; p = p->next) {
        if (p->status == AUDIT_PAY_CAPTURED)
            audit_violation(ctx->r, AUDIT_INV3A, "order", order_id, "payment", p->id,
                            "CAPTURED payment of %lld (customer %s) for an order order-service "
                            "does not know",
                            p->amount, nz(p->customer));
    }
    for (const audit_resv *v = side->resv; v; v = v->next) {
        if (v->status == AUDIT_RESV_HELD)
            held += v->quantity;
        else if (v->status == AUDIT_RESV_COMMITTED)
            committed += v->quantity;
    }
    if (held || committed)
        audit_violation(ctx->r, AUDIT_INV3A, "order", order_id, NULL, NULL,
                        "%lld units HELD and %lld COMMITTED for an order order-service does "
                        "not know",
                        held, committed);
    for (const audit_notif *n = side->notifs; n; n = n->next)
        audit_violation(ctx->r, AUDIT_INV6, "order", order_id, "notification", n->id,
                        "%s notification for an order order-service does not know",
                        nz(n->trigger_text));
    return 0;
}

/* ---- inv5 ---- */

static int overdue_row(const saga_row *row, void *ud)
{
    audit_ctx *ctx = ud;
    char id[SAGA_TEXT_UUID_LEN + 1];
    audit_violation(ctx->r, AUDIT_INV5, "order", audit_row_id(row, 0, id), NULL, NULL,
                    "%s with deadline %s, %lld ms ago", nz(saga_row_str(row, 1)),
                    nz(saga_row_str(row, 2)), saga_row_i64(row, 3));
    return 0;
}

int audit_orders_check(audit_ctx *ctx)
{
    order_page pg = {.ctx = ctx};
    char last[SAGA_TEXT_UUID_LEN + 1] = SAGA_TEXT_UUID_NIL; /* the first page starts after it */
    int rc = SAGA_OK;

    if (!(pg.orders = calloc(ORDERS_PAGE, sizeof(*pg.orders)))) {
        snprintf(ctx->err, sizeof(ctx->err), "out of memory");
        return SAGA_ERR_NOMEM;
    }
    for (;;) {
        saga_param p[] = {SAGA_P_UUID(last), SAGA_P_I64(ORDERS_PAGE)};
        audit_arena_free(pg.arena);
        audit_map_free(pg.by_id);
        pg.by_id = NULL;
        pg.n = 0;
        if (!(pg.arena = audit_arena_new()) || !(pg.by_id = audit_map_new(pg.arena))) {
            snprintf(ctx->err, sizeof(ctx->err), "out of memory");
            rc = SAGA_ERR_NOMEM;
            goto out;
        }
        memset(pg.orders, 0, ORDERS_PAGE * sizeof(*pg.orders));
        if ((rc = audit_query(ctx, AUDIT_ORDER,
                              "SELECT id, customer_id, status, cancel_reason, amount FROM orders"
                              " WHERE id > ? ORDER BY id LIMIT ?",
                              p, 2, order_row, &pg)))
            goto out;
        if (pg.n == 0)
            break;
        saga_param range[] = {SAGA_P_UUID(pg.orders[0].id), SAGA_P_UUID(pg.orders[pg.n - 1].id)};
        if ((rc = audit_query(ctx, AUDIT_ORDER,
                              "SELECT order_id, sku, quantity, unit_price FROM order_items"
                              " WHERE order_id >= ? AND order_id <= ? ORDER BY order_id, sku",
                              range, 2, item_row, &pg)))
            goto out;
        for (size_t i = 0; i < pg.n; i++)
            check_order(ctx, &pg.orders[i]);
        snprintf(last, sizeof(last), "%s", pg.orders[pg.n - 1].id);
        if (pg.n < ORDERS_PAGE)
            break;
    }
    audit_map_each(ctx->sides, unknown_order, ctx);

    saga_param grace[] = {SAGA_P_I64(ctx->opts->grace_ms * 1000)};
    rc = audit_query(ctx, AUDIT_ORDER,
                     "SELECT id, status, CAST(deadline AS CHAR),"
                     " TIMESTAMPDIFF(MICROSECOND, deadline, UTC_TIMESTAMP(3)) DIV 1000"
                     " FROM orders WHERE status IN ('PENDING', 'AWAITING_PAYMENT')"
                     " AND deadline < UTC_TIMESTAMP(3) - INTERVAL ? MICROSECOND ORDER BY id",
                     grace, 1, overdue_row, ctx);
out:
    audit_map_free(pg.by_id);
    audit_arena_free(pg.arena);
    free(pg.orders);
    return rc;
}
