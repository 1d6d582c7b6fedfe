/* order_store.h - order-service's SQL: orders, their lines, the saga history and
 * the idempotency keys (tables in deploy/mysql/order/001_orders.sql).
 *
 * Every function runs its statements on the caller's saga_db: inside the caller's
 * transaction when one is open, autocommitted otherwise. Results are the codes of
 * saga/err.h as saga_db_exec returns them (SAGA_ERR_TRANSIENT: retry the
 * transaction), plus SAGA_ERR_NOT_FOUND where said. */
#ifndef ORDER_STORE_H
#define ORDER_STORE_H

#include <stdbool.h>
#include <stddef.h>

#include "order.h"
#include "saga/db.h"

/* Inserts the order row and its lines (o->created_at etc. are RFC 3339 strings),
 * through saga_db_insert: kept in the write batch attached to db, if any. */
int order_store_insert(saga_db *db, const order *o);

/* Reads an order with its lines (sku order). SAGA_ERR_NOT_FOUND if there is none. */
int order_store_get(saga_db *db, const char *id, order *out);

/* order_store_lock's read, which the consumer does for a whole batch of events at
 * once (see saga/prefetch.h). */
extern const saga_prefetch_query order_lock_query;

/* Reads and locks (SELECT ... FOR UPDATE) the order row, without its lines
 * (out->nlines = 0). Use inside a transaction. SAGA_ERR_NOT_FOUND if there is none. */
int order_store_lock(saga_db *db, const char *id, order *out);

/* Writes status, cancel reason, amount, payment id and updated_at (now_ms) of o
 * (kept in an attached write batch: saga_db_update). */
int order_store_update(saga_db *db, const order *o, long long now_ms);

/* Sets the unit price of one line (no error if the order has no such sku; kept in
 * an attached write batch). */
int order_store_set_price(saga_db *db, const char *order_id, const char *sku, long long price);

/* Adds a saga history row. event_id and detail (JSON text) may be NULL; kind is
 * "consumed", "emitted" or "api"; status is the order's status after the step. */
int order_store_history_add(saga_db *db, const char *order_id, const char *event_id,
                            const char *event_type, const char *kind, order_status status,
                            const char *detail, long long at_ms);

/* One history row, valid during the callback only. */
typedef struct order_history_row {
    const char *event_id; /* NULL for api steps */
    const char *event_type;
    const char *kind;
    const char *status;
    const char *detail; /* JSON text or NULL */
    char at[ORDER_TIME_LEN + 1];
} order_history_row;

typedef int (*order_history_fn)(const order_history_row *row, void *ud);

/* Calls fn for each history row of the order, oldest first. A non-zero return of
 * fn stops and is returned. */
int order_store_history(saga_db *db, const char *order_id, order_history_fn fn, void *ud);

/* The orders of a list page: customer_id and status optional, id > after ("" for
 * the first page), id order, at most limit orders. */
typedef struct order_filter {
    const char *customer_id; /* NULL: any */
    bool has_status;
    order_status status;
    const char *after; /* NULL or "": from the start */
    long limit;
} order_filter;

/* Called once per order of the page, with its lines; o is valid during the call. */
typedef int (*order_each_fn)(const order *o, void *ud);

/* Calls fn for each order of the page, in id order. */
int order_store_list(saga_db *db, const order_filter *f, order_each_fn fn, void *ud);

/* Records an Idempotency-Key: SAGA_ERR_CONFLICT if (customer, key) exists already
 * (from saga_write_batch_flush when a write batch is attached to db: the row is
 * kept until then). Inside the order's transaction, so the key and the order
 * commit together; a concurrent insert of the same key waits for this transaction. */
int order_store_idem_insert(saga_db *db, const char *customer_id, const char *key, const char *hash,
                            const char *order_id, long long now_ms);

/* Looks a key up: SAGA_OK with its request hash and order id, or SAGA_ERR_NOT_FOUND. */
int order_store_idem_get(saga_db *db, const char *customer_id, const char *key,
                         char hash[ORDER_HASH_LEN + 1], char order_id[ORDER_ID_MAX + 1]);

/* Ids of up to max PENDING or AWAITING_PAYMENT orders whose deadline is at or
 * before now_ms; *n set to how many. */
int order_store_due(saga_db *db, long long now_ms, size_t max, char (*ids)[ORDER_ID_MAX + 1],
                    size_t *n);

/* How many PENDING or AWAITING_PAYMENT orders are at or past their deadline. */
int order_store_count_due(saga_db *db, long long now_ms, long long *n);

#endif
