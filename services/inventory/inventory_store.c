/* inventory_store.c - inventory-service's SQL (see inventory_store.h). */
#include "inventory_store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "saga/err.h"

#define TIME_COL(c) "CONCAT(LEFT(DATE_FORMAT(" c ", '%Y-%m-%dT%H:%i:%s.%f'), 23), 'Z')"

#define PRODUCT_COLS                                                                               \
    "sku, name, price, available, reserved, sold, initial_stock, restocked, " TIME_COL(            \
        "created_at") ", " TIME_COL("updated_at")

const saga_prefetch_query inventory_outcome_lock_query = {
    .table = "order_outcomes",
    .point_sql = "SELECT customer_id, outcome, amount FROM order_outcomes WHERE order_id = ?"
                 " FOR UPDATE",
    .batch_head = "SELECT order_id, customer_id, outcome, amount FROM order_outcomes"
                  " FORCE INDEX (PRIMARY) WHERE order_id IN (",
    .batch_tail = ") FOR UPDATE",
    .uuid_key = true,
};

const saga_prefetch_query inventory_reservations_lock_query = {
    .table = "reservations",
    .point_sql = "SELECT sku, quantity, unit_price, status FROM reservations WHERE order_id = ?"
                 " ORDER BY sku FOR UPDATE",
    .batch_head = "SELECT order_id, sku, quantity, unit_price, status FROM reservations"
                  " FORCE INDEX (PRIMARY) WHERE order_id IN (",
    .batch_tail = ") ORDER BY order_id, sku FOR UPDATE",
    .uuid_key = true,
};

const saga_prefetch_query inventory_stock_lock_query = {
    .table = "products",
    .point_sql = "SELECT available, price FROM products WHERE sku = ? FOR UPDATE",
    .batch_head = "SELECT sku, available, price FROM products FORCE INDEX (PRIMARY)"
                  " WHERE sku IN (",
    .batch_tail = ") FOR UPDATE",
};

static void product_from_row(const saga_row *row, inventory_product *p)
{
    saga_row_copy(row, 0, p->sku, sizeof(p->sku));
    saga_row_copy(row, 1, p->name, sizeof(p->name));
    p->price = saga_row_i64(row, 2);
    p->available = saga_row_i64(row, 3);
    p->reserved = saga_row_i64(row, 4);
    p->sold = saga_row_i64(row, 5);
    p->initial_stock = saga_row_i64(row, 6);
    p->restocked = saga_row_i64(row, 7);
    saga_row_copy(row, 8, p->created_at, sizeof(p->created_at));
    saga_row_copy(row, 9, p->updated_at, sizeof(p->updated_at));
}

/* Row callback (saga_db_query_one): the row into a product. */
static int product_row_one(const saga_row *row, void *ud)
{
    product_from_row(row, ud);
    return 0;
}

int inventory_store_product_get(saga_db *db, const char *sku, bool lock, inventory_product *out)
{
    saga_param p[] = {SAGA_P_STR(sku)};
    return saga_db_query_one(db,
                             lock ? "SELECT " PRODUCT_COLS " FROM products WHERE sku = ? FOR UPDATE"
                                  : "SELECT " PRODUCT_COLS " FROM products WHERE sku = ?",
                             p, 1, product_row_one, out);
}

int inventory_store_product_insert(saga_db *db, const char *sku, const char *name, long long price,
                                   long long stock)
{
    saga_param p[] = {SAGA_P_STR(sku), SAGA_P_STR(name), SAGA_P_I64(price), SAGA_P_I64(stock),
                      SAGA_P_I64(stock)};
    return saga_db_exec(db,
                        "INSERT INTO products (sku, name, price, available, reserved, sold,"
                        " initial_stock, restocked, created_at, updated_at)"
                        " VALUES (?, ?, ?, ?, 0, 0, ?, 0, UTC_TIMESTAMP(3), UTC_TIMESTAMP(3))",
                        p, 5, NULL, NULL);
}

int inventory_store_product_update(saga_db *db, const char *sku, const char *name, long long price,
                                   bool set_stock, long long stock, long long restocked_delta)
{
    if (set_stock) {
        saga_param p[] = {SAGA_P_STR(name), SAGA_P_I64(price), SAGA_P_I64(stock),
                          SAGA_P_I64(restocked_delta), SAGA_P_STR(sku)};
        return saga_db_exec(db,
                            "UPDATE products SET name = ?, price = ?, available = ?,"
                            " restocked = restocked + ?, updated_at = UTC_TIMESTAMP(3)"
                            " WHERE sku = ?",
                            p, 5, NULL, NULL);
    }
    saga_param p[] = {SAGA_P_STR(name), SAGA_P_I64(price), SAGA_P_STR(sku)};
    return saga_db_exec(db,
                        "UPDATE products SET name = ?, price = ?, updated_at = UTC_TIMESTAMP(3)"
                        " WHERE sku = ?",
                        p, 3, NULL, NULL);
}

int inventory_store_product_restock(saga_db *db, const char *sku, long long quantity)
{
    uint64_t affected = 0;
    saga_param p[] = {SAGA_P_I64(quantity), SAGA_P_I64(quantity), SAGA_P_STR(sku)};
    int rc = saga_db_exec(db,
                          "UPDATE products SET available = available + ?,"
                          " restocked = restocked + ?, updated_at = UTC_TIMESTAMP(3)"
                          " WHERE sku = ?",
                          p, 3, &affected, NULL);
    if (rc == SAGA_OK && affected == 0)
        return SAGA_ERR_NOT_FOUND;
    return rc;
}

typedef struct product_list {
    inventory_product *items;
    size_t n, max;
} product_list;

static int product_row_list(const saga_row *row, void *ud)
{
    product_list *l = ud;
    if (l->n >= l->max)
        return -1;
    product_from_row(row, &l->items[l->n++]);
    return 0;
}

int inventory_store_products_list(saga_db *db, const char *after, int limit, inventory_product *out,
                                  size_t *n)
{
    product_list l = {.items = out, .n = 0, .max = limit > 0 ? (size_t)limit : 0};
    int rc;

    if (after) {
        saga_param p[] = {SAGA_P_STR(after), SAGA_P_I64(limit)};
        rc = saga_db_query(db,
                           "SELECT " PRODUCT_COLS " FROM products WHERE sku > ?"
                           " ORDER BY sku LIMIT ?",
                           p, 2, product_row_list, &l);
    } else {
        saga_param p[] = {SAGA_P_I64(limit)};
        rc = saga_db_query(db, "SELECT " PRODUCT_COLS " FROM products ORDER BY sku LIMIT ?", p, 1,
                           product_row_list, &l);
    }
    *n = l.n;
    return rc == -1 ? SAGA_OK : rc;
}

static int stock_row(const saga_row *row, void *ud)
{
    inventory_line *line = ud;
    line->found = true;
    line->available = saga_row_i64(row, 0);
    line->price = saga_row_i64(row, 1);
    return 0;
}

int inventory_store_stock_lock(saga_db *db, inventory_line *line)
{
    int rc;

    line->found = false;
    line->available = 0;
    line->price = 0;
    rc = saga_db_query_one_prefetched(db, &inventory_stock_lock_query, line->sku, stock_row, line);
    return rc == SAGA_ERR_NOT_FOUND ? SAGA_OK : rc; /* an unknown sku: line->found false */
}

int inventory_store_stock_move(saga_db *db, const char *sku, const inventory_delta *d)
{
    saga_param p[] = {SAGA_P_I64(d->available), SAGA_P_I64(d->reserved),  SAGA_P_I64(d->sold),
                      SAGA_P_STR(sku),          SAGA_P_I64(d->available), SAGA_P_I64(d->reserved),
                      SAGA_P_I64(d->sold)};
    return saga_db_update_one(db,
                              "UPDATE products SET available = available + ?,"
                              " reserved = reserved + ?, sold = sold + ?,"
                              " updated_at = UTC_TIMESTAMP(3)"
                              " WHERE sku = ? AND available + ? >= 0 AND reserved + ? >= 0"
                              " AND sold + ? >= 0",
                              p, 7, 3);
}

int inventory_store_outcome_insert(saga_db *db, const char *order_id, const char *customer_id,
                                   const char *outcome, long long amount)
{
    saga_param p[] = {SAGA_P_UUID(order_id), SAGA_P_STR(customer_id), SAGA_P_STR(outcome),
                      amount < 0 ? SAGA_P_NULL : SAGA_P_I64(amount)};
    return saga_db_insert(db,
                          "INSERT INTO order_outcomes (order_id, customer_id, outcome, amount,"
                          " created_at) VALUES ",
                          "(?, ?, ?, ?, UTC_TIMESTAMP(3))", p, 4);
}

static int outcome_row(const saga_row *row, void *ud)
{
    inventory_outcome *o = ud;
    saga_row_copy(row, 0, o->customer_id, sizeof(o->customer_id));
    saga_row_copy(row, 1, o->outcome, sizeof(o->outcome));
    o->has_amount = !saga_row_is_null(row, 2);
    o->amount = saga_row_i64(row, 2);
    return 0;
}

int inventory_store_outcome_lock(saga_db *db, const char *order_id, inventory_outcome *out)
{
    return saga_db_query_one_prefetched(db, &inventory_outcome_lock_query, order_id, outcome_row,
                                        out);
}

int inventory_store_reservations_insert(saga_db *db, const char *order_id, const char *customer_id,
                                        const inventory_line *lines, size_t n)
{
    int rc = SAGA_OK;

    if (n == 0 || n > INVENTORY_LINES_MAX)
        return SAGA_ERR_INVALID;
    for (size_t i = 0; rc == SAGA_OK && i < n; i++) {
        saga_param p[] = {SAGA_P_UUID(order_id), SAGA_P_STR(lines[i].sku), SAGA_P_STR(customer_id),
                          SAGA_P_I64(lines[i].quantity), SAGA_P_I64(lines[i].price)};
        rc = saga_db_insert(db,
                            "INSERT INTO reservations (order_id, sku, customer_id, quantity,"
                            " unit_price, status, created_at, updated_at) VALUES ",
                            "(?, ?, ?, ?, ?, 'HELD', UTC_TIMESTAMP(3), UTC_TIMESTAMP(3))", p,
                            sizeof(p) / sizeof(p[0]));
    }
    return rc;
}

typedef struct reservation_list {
    inventory_reservation *items;
    size_t n, cap;
    bool nomem;
} reservation_list;

static int reservation_row(const saga_row *row, void *ud)
{
    reservation_list *l = ud;
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 8;
        inventory_reservation *items = realloc(l->items, cap * sizeof(*items));
        if (!items) {
            l->nomem = true;
            return SAGA_ERR_NOMEM;
        }
        l->items = items;
        l->cap = cap;
    }
    inventory_reservation *r = &l->items[l->n++];
    saga_row_copy(row, 0, r->sku, sizeof(r->sku));
    r->quantity = saga_row_i64(row, 1);
    r->unit_price = saga_row_i64(row, 2);
    saga_row_copy(row, 3, r->status, sizeof(r->status));
    return 0;
}

int inventory_store_reservations_lock(saga_db *db, const char *order_id,
                                      inventory_reservation **out, size_t *n)
{
    reservation_list l = {0};
    int rc = saga_db_query_prefetched(db, &inventory_reservations_lock_query, order_id,
                                      reservation_row, &l);
    if (rc) {
        free(l.items);
        *out = NULL;
        *n = 0;
        return rc;
    }
    *out = l.items;
    *n = l.n;
    return SAGA_OK;
}

int inventory_store_reservation_set_status(saga_db *db, const char *order_id, const char *sku,
                                           const char *from, const char *to)
{
    saga_param p[] = {SAGA_P_STR(to), SAGA_P_UUID(order_id), SAGA_P_STR(sku), SAGA_P_STR(from)};
    return saga_db_update_one(db,
                              "UPDATE reservations SET status = ?, updated_at = UTC_TIMESTAMP(3)"
                              " WHERE order_id = ? AND sku = ? AND status = ?",
                              p, 4, 1);
}
