/* audit_inventory.c - invariant 1 (stock) and the reservations of every order. */
#include "audit_check.h"

#include <stdio.h>

#include "saga/err.h"

static int product_row(const saga_row *row, void *ud)
{
    audit_ctx *ctx = ud;
    const char *sku = saga_row_str(row, 0);
    long long available = saga_row_i64(row, 1);
    long long reserved = saga_row_i64(row, 2);
    long long sold = saga_row_i64(row, 3);
    long long initial = saga_row_i64(row, 4);
    long long restocked = saga_row_i64(row, 5);
    long long held = saga_row_i64(row, 6);
    long long committed = saga_row_i64(row, 7);

    audit_count_add(ctx->r, AUDIT_C_PRODUCTS, 1);
    if (initial + restocked != available + reserved + sold)
        audit_violation(ctx->r, AUDIT_INV1, "sku", sku, NULL, NULL,
                        "initial_stock %lld + restocked %lld != available %lld + reserved %lld "
                        "+ sold %lld (%+lld)",
                        initial, restocked, available, reserved, sold,
                        available + reserved + sold - initial - restocked);
    if (reserved != held)
        audit_violation(ctx->r, AUDIT_INV1, "sku", sku, NULL, NULL,
                        "reserved %lld != %lld held in reservations", reserved, held);
    if (sold != committed)
        audit_violation(ctx->r, AUDIT_INV1, "sku", sku, NULL, NULL,
                        "sold %lld != %lld committed in reservations", sold, committed);
    if (available < 0 || reserved < 0 || sold < 0 || initial < 0)
        audit_violation(ctx->r, AUDIT_INV1, "sku", sku, NULL, NULL,
                        "negative stock: available %lld, reserved %lld, sold %lld, "
                        "initial_stock %lld",
                        available, reserved, sold, initial);
    return 0;
}

static int unknown_sku_row(const saga_row *row, void *ud)
{
    audit_ctx *ctx = ud;
    char order_id[SAGA_TEXT_UUID_LEN + 1];
    audit_violation(ctx->r, AUDIT_INV1, "sku", saga_row_str(row, 1), "order",
                    audit_row_id(row, 0, order_id),
                    "%s reservation of %lld for a sku with no product row",
                    saga_row_str(row, 2) ? saga_row_str(row, 2) : "NULL", saga_row_i64(row, 3));
    return 0;
}

static int reservation_row(const saga_row *row, void *ud)
{
    audit_ctx *ctx = ud;
    char id[SAGA_TEXT_UUID_LEN + 1];
    const char *order_id = audit_row_id(row, 0, id);
    const char *status = saga_row_str(row, 5);
    audit_side *side;
    audit_resv *v;

    audit_count_add(ctx->r, AUDIT_C_RESERVATIONS, 1);
    if (!order_id)
        return 0;
    if (!(side = audit_side_get(ctx->sides, ctx->arena, order_id)) ||
        !(v = audit_arena_alloc(ctx->arena, sizeof(*v)))) {
        snprintf(ctx->err, sizeof(ctx->err), "out of memory loading reservations");
        return SAGA_ERR_NOMEM;
    }
    v->sku = audit_dup(ctx, saga_row_str(row, 1));
    v->customer = audit_dup(ctx, saga_row_str(row, 2));
    if ((saga_row_str(row, 1) && !v->sku) || (saga_row_str(row, 2) && !v->customer))
        return SAGA_ERR_NOMEM;
    v->quantity = saga_row_i64(row, 3);
    v->unit_price = saga_row_i64(row, 4);
    v->unit_price_null = saga_row_is_null(row, 4);
    v->status = audit_resv_status_parse(status);
    v->next = side->resv;
    side->resv = v;
    if (v->status == AUDIT_RESV_OTHER)
        audit_violation(ctx->r, AUDIT_INV1, "order", order_id, "sku", v->sku,
                        "reservation in unknown status '%s'", status ? status : "NULL");
    if (v->quantity <= 0)
        audit_violation(ctx->r, AUDIT_INV1, "order", order_id, "sku", v->sku,
                        "reservation of quantity %lld (not positive)", v->quantity);
    return 0;
}

int audit_inventory_check(audit_ctx *ctx)
{
    int rc;
    if ((rc = audit_query(ctx, AUDIT_INVENTORY,
                          "SELECT p.sku, p.available, p.reserved, p.sold, p.initial_stock,"
                          " p.restocked, COALESCE(r.held, 0), COALESCE(r.committed, 0)"
                          " FROM products p LEFT JOIN"
                          " (SELECT sku,"
                          "   SUM(CASE WHEN status = 'HELD' THEN quantity ELSE 0 END) AS held,"
                          "   SUM(CASE WHEN status = 'COMMITTED' THEN quantity ELSE 0 END)"
                          "     AS committed"
                          "  FROM reservations GROUP BY sku) r ON r.sku = p.sku",
                          NULL, 0, product_row, ctx)))
        return rc;
    if ((rc = audit_query(ctx, AUDIT_INVENTORY,
                          "SELECT r.order_id, r.sku, r.status, r.quantity FROM reservations r"
                          " LEFT JOIN products p ON p.sku = r.sku WHERE p.sku IS NULL",
                          NULL, 0, unknown_sku_row, ctx)))
        return rc;
    return audit_query(ctx, AUDIT_INVENTORY,
                       "SELECT order_id, sku, customer_id, quantity, unit_price, status"
                       " FROM reservations",
                       NULL, 0, reservation_row, ctx);
}
