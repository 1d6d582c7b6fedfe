/* audit_payment.c - invariant 4 (wallets) and the payments of every order. */
#include "audit_check.h"

#include <stdio.h>

#include "saga/err.h"

static int wallet_row(const saga_row *row, void *ud)
{
    audit_ctx *ctx = ud;
    const char *customer = saga_row_str(row, 0);
    long long balance = saga_row_i64(row, 1);
    long long initial = saga_row_i64(row, 2);
    long long topped_up = saga_row_i64(row, 3);
    long long captured = saga_row_i64(row, 4);

    audit_count_add(ctx->r, AUDIT_C_WALLETS, 1);
    if (initial + topped_up != balance + captured)
        audit_violation(ctx->r, AUDIT_INV4, "customer", customer, NULL, NULL,
                        "initial_balance %lld + topped_up %lld != balance %lld + captured %lld "
                        "(%+lld)",
                        initial, topped_up, balance, captured,
                        balance + captured - initial - topped_up);
    if (balance < 0 || initial < 0 || topped_up < 0)
        audit_violation(ctx->r, AUDIT_INV4, "customer", customer, NULL, NULL,
                        "negative amount: balance %lld, initial_balance %lld, topped_up %lld",
                        balance, initial, topped_up);
    return 0;
}

static int orphan_capture_row(const saga_row *row, void *ud)
{
    audit_ctx *ctx = ud;
    char order_id[SAGA_TEXT_UUID_LEN + 1];
    audit_violation(ctx->r, AUDIT_INV4, "customer", saga_row_str(row, 1), "order",
                    audit_row_id(row, 0, order_id),
                    "CAPTURED payment of %lld but the customer has no wallet",
                    saga_row_i64(row, 2));
    return 0;
}

static int payment_row(const saga_row *row, void *ud)
{
    audit_ctx *ctx = ud;
    char id_text[SAGA_TEXT_UUID_LEN + 1], order_text[SAGA_TEXT_UUID_LEN + 1];
    const char *id = audit_row_id(row, 0, id_text);
    const char *order_id = audit_row_id(row, 1, order_text);
    const char *status = saga_row_str(row, 4);
    audit_side *side;
    audit_payment *p;

    audit_count_add(ctx->r, AUDIT_C_PAYMENTS, 1);
    if (!order_id) {
        audit_violation(ctx->r, AUDIT_INV3A, "payment", id, NULL, NULL,
                        "payment without an order id");
        return 0;
    }
    if (!(side = audit_side_get(ctx->sides, ctx->arena, order_id)) ||
        !(p = audit_arena_alloc(ctx->arena, sizeof(*p)))) {
        snprintf(ctx->err, sizeof(ctx->err), "out of memory loading payments");
        return SAGA_ERR_NOMEM;
    }
    p->id = audit_dup(ctx, id);
    p->customer = audit_dup(ctx, saga_row_str(row, 2));
    p->amount = saga_row_i64(row, 3);
    p->status = audit_pay_status_parse(status);
    if ((id && !p->id) || (saga_row_str(row, 2) && !p->customer))
        return SAGA_ERR_NOMEM;
    p->next = side->payments;
    side->payments = p;
    if (p->status == AUDIT_PAY_OTHER)
        audit_violation(ctx->r, AUDIT_INV4, "order", order_id, "payment", p->id,
                        "payment in unknown status '%s'", status ? status : "NULL");
    if (p->status == AUDIT_PAY_CAPTURED && p->amount < 0)
        audit_violation(ctx->r, AUDIT_INV4, "order", order_id, "payment", p->id,
                        "CAPTURED payment of %lld (not positive)", p->amount);
    return 0;
}

static int cancelled_row(const saga_row *row, void *ud)
{
    audit_ctx *ctx = ud;
    char id[SAGA_TEXT_UUID_LEN + 1];
    const char *order_id = audit_row_id(row, 0, id);
    audit_side *side;
    if (!order_id)
        return 0;
    if (!(side = audit_side_get(ctx->sides, ctx->arena, order_id))) {
        snprintf(ctx->err, sizeof(ctx->err), "out of memory loading cancelled_orders");
        return SAGA_ERR_NOMEM;
    }
    side->payment_saw_cancel = true;
    return 0;
}

int audit_payment_check(audit_ctx *ctx)
{
    int rc;
    if ((rc = audit_query(ctx, AUDIT_PAYMENT,
                          "SELECT w.customer_id, w.balance, w.initial_balance, w.topped_up,"
                          " COALESCE(c.captured, 0)"
                          " FROM wallets w LEFT JOIN"
                          " (SELECT customer_id, SUM(amount) AS captured FROM payments"
                          "  WHERE status = 'CAPTURED' GROUP BY customer_id) c"
                          " ON c.customer_id = w.customer_id",
                          NULL, 0, wallet_row, ctx)))
        return rc;
    if ((rc = audit_query(ctx, AUDIT_PAYMENT,
                          "SELECT p.order_id, p.customer_id, p.amount FROM payments p"
                          " LEFT JOIN wallets w ON w.customer_id = p.customer_id"
                          " WHERE p.status = 'CAPTURED' AND w.customer_id IS NULL",
                          NULL, 0, orphan_capture_row, ctx)))
        return rc;
    if ((rc = audit_query(ctx, AUDIT_PAYMENT,
                          "SELECT id, order_id, customer_id, amount, status FROM payments", NULL, 0,
                          payment_row, ctx)))
        return rc;
    return audit_query(ctx, AUDIT_PAYMENT, "SELECT order_id FROM cancelled_orders", NULL, 0,
                       cancelled_row, ctx);
}
