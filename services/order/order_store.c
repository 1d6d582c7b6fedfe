/* order_store.c - order-service's SQL (see order_store.h). */
#include "order_store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "saga/err.h"

/* The columns every order query selects, in this order (rows_to_order reads them). */
#define ORDER_COLS                                                                                 \
    "o.id, o.customer_id, o.status, o.cancel_reason, o.currency, o.amount, o.payment_id,"          \
    " o.deadline, o.created_at, o.updated_at"
#define ORDER_NCOLS 10
/* ...followed, in joined queries, by the line's sku, quantity and unit price */
#define LINE_COLS " i.sku, i.quantity, i.unit_price"

const saga_prefetch_query order_lock_query = {
    .table = "orders",
    .point_sql = "SELECT " ORDER_COLS " FROM orders o WHERE o.id = ? FOR UPDATE",
    .batch_head = "SELECT o.id, " ORDER_COLS " FROM orders o FORCE INDEX (PRIMARY) WHERE o.id IN (",
    .batch_tail = ") FOR UPDATE",
    .uuid_key = true,
};

static int time_col(const saga_row *row, size_t col, char out[ORDER_TIME_LEN + 1])
{
    return saga_db_time_to_rfc3339(saga_row_str(row, col), out) == SAGA_OK ? SAGA_OK
                                                                           : SAGA_ERR_INTERNAL;
}

/* Fills the order's own columns from row (the lines are left alone). */
static int row_to_order(const saga_row *row, order *o)
{
    saga_row_uuid(row, 0, o->id);
    saga_row_copy(row, 1, o->customer_id, sizeof(o->customer_id));
    if (order_status_parse(saga_row_str(row, 2), &o->status) != SAGA_OK)
        return SAGA_ERR_INTERNAL;
    o->reason = ORDER_REASON_NONE;
    if (!saga_row_is_null(row, 3) && order_reason_parse(saga_row_str(row, 3), &o->reason))
        return SAGA_ERR_INTERNAL;
    saga_row_copy(row, 4, o->currency, sizeof(o->currency));
    o->has_amount = !saga_row_is_null(row, 5);
    o->amount = saga_row_i64(row, 5);
    saga_row_uuid(row, 6, o->payment_id); /* "" if none */
    if (time_col(row, 7, o->deadline) || time_col(row, 8, o->created_at) ||
        time_col(row, 9, o->updated_at))
        return SAGA_ERR_INTERNAL;
    return SAGA_OK;
}

static void row_to_line(const saga_row *row, size_t col, order *o)
{
    if (saga_row_is_null(row, col) || o->nlines >= ORDER_LINES_MAX)
        return; /* LEFT JOIN without lines */
    order_line *l = &o->lines[o->nlines++];
    saga_row_copy(row, col, l->sku, sizeof(l->sku));
    l->quantity = (int)saga_row_i64(row, col + 1);
    l->has_price = !saga_row_is_null(row, col + 2);
    l->unit_price = saga_row_i64(row, col + 2);
}

/* --- writing an order --- */

int order_store_insert(saga_db *db, const order *o)
{
    char deadline[SAGA_DB_TIME_LEN + 1], created[SAGA_DB_TIME_LEN + 1];
    int rc;

    /* the RFC 3339 strings of o, as DATETIME(3) text */
    snprintf(deadline, sizeof(deadline), "%.10s %.12s", o->deadline, o->deadline + 11);
    snprintf(created, sizeof(created), "%.10s %.12s", o->created_at, o->created_at + 11);
    saga_param p[] = {SAGA_P_UUID(o->id),
                      SAGA_P_STR(o->customer_id),
                      SAGA_P_STR(order_status_str(o->status)),
                      SAGA_P_STR(o->currency),
                      SAGA_P_STR(deadline),
                      SAGA_P_STR(created),
                      SAGA_P_STR(created)};
    rc = saga_db_insert(db,
                        "INSERT INTO orders (id, customer_id, status, currency, deadline,"
                        " created_at, updated_at) VALUES ",
                        "(?,?,?,?,?,?,?)", p, sizeof(p) / sizeof(p[0]));
    for (size_t i = 0; rc == SAGA_OK && i < o->nlines; i++) {
        saga_param line[] = {SAGA_P_UUID(o->id), SAGA_P_STR(o->lines[i].sku),
                             SAGA_P_I64(o->lines[i].quantity)};
        rc = saga_db_insert(db, "INSERT INTO order_items (order_id, sku, quantity) VALUES ",
                            "(?,?,?)", line, 3);
    }
    return rc;
}

int order_store_update(saga_db *db, const order *o, long long now_ms)
{
    char now[SAGA_DB_TIME_LEN + 1];
    saga_db_time_from_ms(now_ms, now);
    saga_param p[] = {
        SAGA_P_STR(order_status_str(o->status)),
        SAGA_P_STR(order_reason_str(o->reason)),
        o->has_amount ? SAGA_P_I64(o->amount) : SAGA_P_NULL,
        SAGA_P_UUID(o->payment_id[0] ? o->payment_id : NULL),
        SAGA_P_STR(now),
        SAGA_P_UUID(o->id),
    };
    return saga_db_update(db,
                          "UPDATE orders SET status = ?, cancel_reason = ?, amount = ?,"
                          " payment_id = ?, updated_at = ? WHERE id = ?",
                          p, sizeof(p) / sizeof(p[0]), 5);
}

int order_store_set_price(saga_db *db, const char *order_id, const char *sku, long long price)
{
    saga_param p[] = {SAGA_P_I64(price), SAGA_P_UUID(order_id), SAGA_P_STR(sku)};
    return saga_db_update(
        db, "UPDATE order_items SET unit_price = ? WHERE order_id = ? AND sku = ?", p, 3, 1);
}

/* --- reading orders --- */

typedef struct get_ctx {
    order *o;
    bool found;
    int rc;
} get_ctx;

static int get_row(const saga_row *row, void *ud)
{
    get_ctx *g = ud;
    if (!g->found) {
        g->found = true;
        g->o->nlines = 0;
        if ((g->rc = row_to_order(row, g->o)))
            return g->rc;
    }
    if (saga_row_count(row) > ORDER_NCOLS)
        row_to_line(row, ORDER_NCOLS, g->o);
    return 0;
}

int order_store_get(saga_db *db, const char *id, order *out)
{
    get_ctx g = {.o = out};
    saga_param p[] = {SAGA_P_UUID(id)};
    int rc = saga_db_query(db,
                           "SELECT " ORDER_COLS "," LINE_COLS " FROM orders o"
                           " LEFT JOIN order_items i ON i.order_id = o.id"
                           " WHERE o.id = ? ORDER BY i.sku",
                           p, 1, get_row, &g);
    if (rc)
        return rc;
    return g.found ? SAGA_OK : SAGA_ERR_NOT_FOUND;
}

int order_store_lock(saga_db *db, const char *id, order *out)
{
    get_ctx g = {.o = out};
    int rc = saga_db_query_prefetched(db, &order_lock_query, id, get_row, &g);
    if (rc)
        return rc;
    out->nlines = 0;
    return g.found ? SAGA_OK : SAGA_ERR_NOT_FOUND;
}

typedef struct list_ctx {
    order *cur; /* the order being assembled */
    bool has_cur;
    order_each_fn fn;
    void *ud;
} list_ctx;

static int list_row(const saga_row *row, void *ud)
{
    list_ctx *l = ud;
    char id[ORDER_ID_MAX + 1];
    int rc;

    saga_row_uuid(row, 0, id);
    if (!l->has_cur || strcmp(id, l->cur->id) != 0) {
        if (l->has_cur && (rc = l->fn(l->cur, l->ud)))
            return rc;
        memset(l->cur, 0, sizeof(*l->cur));
        l->has_cur = true;
        if ((rc = row_to_order(row, l->cur)))
            return rc;
    }
    row_to_line(row, ORDER_NCOLS, l->cur);
    return 0;
}

int order_store_list(saga_db *db, const order_filter *f, order_each_fn fn, void *ud)
{
    static const char *const sql[4] = {
        /* neither */
        "SELECT " ORDER_COLS "," LINE_COLS " FROM (SELECT * FROM orders WHERE id > ?"
        " ORDER BY id LIMIT ?) o LEFT JOIN order_items i ON i.order_id = o.id"
        " ORDER BY o.id, i.sku",
        /* customer */
        "SELECT " ORDER_COLS "," LINE_COLS " FROM (SELECT * FROM orders WHERE customer_id = ?"
        " AND id > ? ORDER BY id LIMIT ?) o LEFT JOIN order_items i ON i.order_id = o.id"
        " ORDER BY o.id, i.sku",
        /* status */
        "SELECT " ORDER_COLS "," LINE_COLS " FROM (SELECT * FROM orders WHERE status = ?"
        " AND id > ? ORDER BY id LIMIT ?) o LEFT JOIN order_items i ON i.order_id = o.id"
        " ORDER BY o.id, i.sku",
        /* both */
        "SELECT " ORDER_COLS "," LINE_COLS " FROM (SELECT * FROM orders WHERE customer_id = ?"
        " AND status = ? AND id > ? ORDER BY id LIMIT ?) o"
        " LEFT JOIN order_items i ON i.order_id = o.id ORDER BY o.id, i.sku",
    };
    saga_param p[4];
    size_t np = 0;
    int which = (f->customer_id ? 1 : 0) + (f->has_status ? 2 : 0);
    list_ctx l = {.fn = fn, .ud = ud};
    int rc;

    if (f->customer_id)
        p[np++] = SAGA_P_STR(f->customer_id);
    if (f->has_status)
        p[np++] = SAGA_P_STR(order_status_str(f->status));
    p[np++] = SAGA_P_UUID(f->after ? f->after : SAGA_TEXT_UUID_NIL); /* the first page */
    p[np++] = SAGA_P_I64(f->limit);
    if (!(l.cur = calloc(1, sizeof(*l.cur))))
        return SAGA_ERR_NOMEM;
    rc = saga_db_query(db, sql[which], p, np, list_row, &l);
    if (rc == SAGA_OK && l.has_cur)
        rc = fn(l.cur, ud);
    free(l.cur);
    return rc;
}

/* --- history --- */

int order_store_history_add(saga_db *db, const char *order_id, const char *event_id,
                            const char *event_type, const char *kind, order_status status,
                            const char *detail, long long at_ms)
{
    char at[SAGA_DB_TIME_LEN + 1];
    saga_db_time_from_ms(at_ms, at);
    saga_param p[] = {SAGA_P_UUID(order_id),
                      SAGA_P_UUID(event_id),
                      SAGA_P_STR(event_type),
                      SAGA_P_STR(kind),
                      SAGA_P_STR(order_status_str(status)),
                      SAGA_P_STR(detail),
                      SAGA_P_STR(at)};
    /* kept for the consumer batch's multi-row INSERT: only the API and a later
     * cancellation read the history, never an event handler of the same batch */
    return saga_db_insert(db,
                          "INSERT INTO order_history (order_id, event_id, event_type, kind, status,"
                          " detail, occurred_at) VALUES ",
                          "(?,?,?,?,?,?,?)", p, sizeof(p) / sizeof(p[0]));
}

typedef struct history_ctx {
    order_history_fn fn;
    void *ud;
} history_ctx;

static int history_row(const saga_row *row, void *ud)
{
    history_ctx *h = ud;
    char event_id[SAGA_TEXT_UUID_LEN + 1];
    order_history_row r = {
        .event_id = saga_row_uuid(row, 0, event_id) ? event_id : NULL,
        .event_type = saga_row_str(row, 1),
        .kind = saga_row_str(row, 2),
        .status = saga_row_str(row, 3),
        .detail = saga_row_str(row, 4),
    };
    if (!r.event_type || !r.kind || !r.status || time_col(row, 5, r.at))
        return SAGA_ERR_INTERNAL;
    return h->fn(&r, h->ud);
}

int order_store_history(saga_db *db, const char *order_id, order_history_fn fn, void *ud)
{
    history_ctx h = {.fn = fn, .ud = ud};
    saga_param p[] = {SAGA_P_UUID(order_id)};
    return saga_db_query(db,
                         "SELECT event_id, event_type, kind, status, detail, occurred_at"
                         " FROM order_history WHERE order_id = ? ORDER BY id",
                         p, 1, history_row, &h);
}

/* --- idempotency keys --- */

int order_store_idem_insert(saga_db *db, const char *customer_id, const char *key, const char *hash,
                            const char *order_id, long long now_ms)
{
    char now[SAGA_DB_TIME_LEN + 1];
    saga_db_time_from_ms(now_ms, now);
    saga_param p[] = {SAGA_P_STR(customer_id), SAGA_P_STR(key), SAGA_P_STR(hash),
                      SAGA_P_UUID(order_id), SAGA_P_STR(now)};
    return saga_db_insert(db,
                          "INSERT INTO idempotency_keys (customer_id, idem_key, request_hash,"
                          " order_id, created_at) VALUES ",
                          "(?,?,?,?,?)", p, sizeof(p) / sizeof(p[0]));
}

typedef struct idem_ctx {
    char *hash;
    char *order_id;
    bool found;
} idem_ctx;

static int idem_row(const saga_row *row, void *ud)
{
    idem_ctx *c = ud;
    saga_row_copy(row, 0, c->hash, ORDER_HASH_LEN + 1);
    saga_row_uuid(row, 1, c->order_id);
    c->found = true;
    return 0;
}

int order_store_idem_get(saga_db *db, const char *customer_id, const char *key,
                         char hash[ORDER_HASH_LEN + 1], char order_id[ORDER_ID_MAX + 1])
{
    idem_ctx c = {.hash = hash, .order_id = order_id};
    saga_param p[] = {SAGA_P_STR(customer_id), SAGA_P_STR(key)};
    int rc = saga_db_query(db,
                           "SELECT request_hash, order_id FROM idempotency_keys"
                           " WHERE customer_id = ? AND idem_key = ?",
                           p, 2, idem_row, &c);
    if (rc)
        return rc;
    return c.found ? SAGA_OK : SAGA_ERR_NOT_FOUND;
}

/* --- the deadline --- */

typedef struct due_ctx {
    char (*ids)[ORDER_ID_MAX + 1];
    size_t max;
    size_t n;
} due_ctx;

static int due_row(const saga_row *row, void *ud)
{
    due_ctx *d = ud;
    if (d->n < d->max)
        saga_row_uuid(row, 0, d->ids[d->n++]);
    return 0;
}

int order_store_due(saga_db *db, long long now_ms, size_t max, char (*ids)[ORDER_ID_MAX + 1],
                    size_t *n)
{
    char now[SAGA_DB_TIME_LEN + 1];
    due_ctx d = {.ids = ids, .max = max};
    int rc;

    saga_db_time_from_ms(now_ms, now);
    /* two ranges of KEY(status, deadline) */
    saga_param p[] = {SAGA_P_STR(now), SAGA_P_I64(max)};
    rc = saga_db_query(db,
                       "SELECT id FROM orders WHERE status IN ('PENDING', 'AWAITING_PAYMENT')"
                       " AND deadline <= ? LIMIT ?",
                       p, 2, due_row, &d);
    *n = d.n;
    return rc;
}

int order_store_count_due(saga_db *db, long long now_ms, long long *n)
{
    char now[SAGA_DB_TIME_LEN + 1];
    saga_db_time_from_ms(now_ms, now);
    saga_param p[] = {SAGA_P_STR(now)};
    return saga_db_query_i64(db,
                             "SELECT COUNT(*) FROM orders WHERE status IN"
                             " ('PENDING', 'AWAITING_PAYMENT') AND deadline <= ?",
                             p, 1, n);
}
