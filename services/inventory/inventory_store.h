/* inventory_store.h - inventory-service's SQL: products, reservations, order outcomes.
 *
 * Every function runs one or a few prepared statements on db and returns a saga_rc:
 * SAGA_OK, SAGA_ERR_NOT_FOUND, SAGA_ERR_CONFLICT (duplicate key), or the database's
 * error as saga_db_exec returns it (SAGA_ERR_TRANSIENT: retry the transaction).
 * The "_lock" functions take row locks (SELECT ... FOR UPDATE) and must run inside
 * the caller's open transaction. Nothing here allocates memory the caller frees
 * unless said so. Tables: deploy/mysql/inventory/001_inventory.sql. */
#ifndef INVENTORY_STORE_H
#define INVENTORY_STORE_H

#include <stdbool.h>
#include <stddef.h>

#include "saga/db.h"
#include "saga/envelope.h"
#include "inventory.h"

/* The point reads of inventory_store_outcome_lock, inventory_store_reservations_lock
 * and inventory_store_stock_lock, which the consumer does for a whole batch of events
 * at once (see saga/prefetch.h). */
extern const saga_prefetch_query inventory_outcome_lock_query;
extern const saga_prefetch_query inventory_reservations_lock_query;
extern const saga_prefetch_query inventory_stock_lock_query;

typedef struct inventory_product {
    char sku[INVENTORY_SKU_MAX + 1];
    char name[INVENTORY_NAME_BYTES_MAX + 1];
    long long price;
    long long available;
    long long reserved;
    long long sold;
    long long initial_stock;
    long long restocked;
    char created_at[SAGA_TIME_LEN + 1]; /* RFC 3339 UTC with milliseconds */
    char updated_at[SAGA_TIME_LEN + 1];
} inventory_product;

/* --- products --- */

/* Reads a product; with lock, takes its row lock (FOR UPDATE). */
int inventory_store_product_get(saga_db *db, const char *sku, bool lock, inventory_product *out);

/* Creates a product with available = initial_stock = stock. SAGA_ERR_CONFLICT if
 * the sku exists. */
int inventory_store_product_insert(saga_db *db, const char *sku, const char *name, long long price,
                                   long long stock);

/* Sets name and price; with set_stock, available = stock and restocked +=
 * restocked_delta. */
int inventory_store_product_update(saga_db *db, const char *sku, const char *name, long long price,
                                   bool set_stock, long long stock, long long restocked_delta);

/* available += quantity, restocked += quantity. */
int inventory_store_product_restock(saga_db *db, const char *sku, long long quantity);

/* Up to limit products with sku > after (NULL: from the start), in sku order, into
 * out (room for limit). *n is the number read. */
int inventory_store_products_list(saga_db *db, const char *after, int limit, inventory_product *out,
                                  size_t *n);

/* Locks the product row of line->sku and fills found, available and price. */
int inventory_store_stock_lock(saga_db *db, inventory_line *line);

/* Moves the counters of a product by d, refusing any that would go negative:
 * SAGA_ERR_CONFLICT if no row changed (no such product, or not enough stock). Kept
 * in an attached write batch (saga_db_update_one): the conflict then shows at its
 * flush. */
int inventory_store_stock_move(saga_db *db, const char *sku, const inventory_delta *d);

/* --- order outcomes (one row per order inventory has decided on) --- */

typedef struct inventory_outcome {
    char customer_id[4 * INVENTORY_CUSTOMER_MAX + 1];
    char outcome[16]; /* RESERVED | SHORTAGE (CANCELLED in rows of older versions) */
    bool has_amount;
    long long amount;
} inventory_outcome;

/* Records the outcome; amount < 0 stores NULL. Through saga_db_insert: kept in the
 * write batch attached to db, if any. SAGA_ERR_CONFLICT if the order has one
 * already (with a batch: from its flush). */
int inventory_store_outcome_insert(saga_db *db, const char *order_id, const char *customer_id,
                                   const char *outcome, long long amount);

/* Reads and locks the order's outcome row. SAGA_ERR_NOT_FOUND if there is none. */
int inventory_store_outcome_lock(saga_db *db, const char *order_id, inventory_outcome *out);

/* --- reservations --- */

typedef struct inventory_reservation {
    char sku[INVENTORY_SKU_MAX + 1];
    long long quantity;
    long long unit_price;
    char status[16];
} inventory_reservation;

/* Inserts one HELD row per line (quantity, unit price = line's price), through
 * saga_db_insert: kept in the write batch attached to db, if any. */
int inventory_store_reservations_insert(saga_db *db, const char *order_id, const char *customer_id,
                                        const inventory_line *lines, size_t n);

/* Reads and locks the order's reservations in sku order. *out is malloc'd (free
 * with free; NULL when *n is 0). */
int inventory_store_reservations_lock(saga_db *db, const char *order_id,
                                      inventory_reservation **out, size_t *n);

/* Moves one reservation from status `from` to `to`: SAGA_ERR_CONFLICT if it was
 * not in `from` (kept in an attached write batch, like stock_move). */
int inventory_store_reservation_set_status(saga_db *db, const char *order_id, const char *sku,
                                           const char *from, const char *to);

#endif
