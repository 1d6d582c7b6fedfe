/* payment_store.c - payment-service's SQL (see payment_store.h). */
#include "payment_store.h"

#include <stdio.h>
#include <string.h>

#include "saga/err.h"

/* DATETIME(3) as "YYYY-MM-DDTHH:MM:SS.ffffff"; copy_time cuts it to milliseconds. */
#define TIME_COL(c) "DATE_FORMAT(" c ", '%Y-%m-%dT%H:%i:%s.%f')"

#define WALLET_COLS "customer_id, balance, initial_balance, topped_up, blocked"
#define WALLET_SELECT "SELECT " WALLET_COLS " FROM wallets WHERE customer_id = ?"

/* the handlers' row locks, taken per batch (payment_events.c's handler table) */
const saga_prefetch_query payment_wallet_lock_query = {
    .table = "wallets",
    .point_sql = WALLET_SELECT " FOR UPDATE",
    .batch_head = "SELECT customer_id, " WALLET_COLS " FROM wallets FORCE INDEX (PRIMARY)"
                  " WHERE customer_id IN (",
    .batch_tail = ") FOR UPDATE",
};

const saga_prefetch_query payment_known_lock_query = {
    .table = "known_orders",
    .point_sql = "SELECT customer_id FROM known_orders WHERE order_id = ? FOR UPDATE",
    .batch_head = "SELECT order_id, customer_id FROM known_orders FORCE INDEX (PRIMARY)"
                  " WHERE order_id IN (",
    .batch_tail = ") FOR UPDATE",
    .uuid_key = true,
};

#define PAYMENT_COLS                                                                               \
    "id, order_id, customer_id, amount, currency, status, decline_reason, " TIME_COL(              \
        "created_at") ", " TIME_COL("updated_at")
#define PAYMENT_SELECT "SELECT " PAYMENT_COLS " FROM payments WHERE order_id = ?"

/* An order's payment and its cancellation are written only under the lock of the
 * order's customer's wallet, which the batch holds before it reads them: so no other
 * connection can add either meanwhile, and their absence can be kept too. */
const saga_prefetch_query payment_lock_query = {
    .table = "payments",
    .point_sql = PAYMENT_SELECT " FOR UPDATE",
    .batch_head = "SELECT order_id, " PAYMENT_COLS " FROM payments FORCE INDEX (payments_order)"
                  " WHERE order_id IN (",
    .batch_tail = ") FOR UPDATE",
    .keep_absent = true,
    .uuid_key = true,
};

const saga_prefetch_query payment_cancelled_lock_query = {
    .table = "cancelled_orders",
    .point_sql = "SELECT 1 FROM cancelled_orders WHERE order_id = ? FOR UPDATE",
    .batch_head = "SELECT order_id, 1 FROM cancelled_orders FORCE INDEX (PRIMARY)"
                  " WHERE order_id IN (",
    .batch_tail = ") FOR UPDATE",
    .keep_absent = true,
    .uuid_key = true,
};

/* "2026-11-22T10:00:00.123456" -> "2026-11-22T10:00:00.123Z". */
static void copy_time(const saga_row *row, size_t col, char out[SAGA_TIME_LEN + 1])
{
    if (saga_db_time_to_rfc3339(saga_row_str(row, col), out) != SAGA_OK)
        out[0] = '\0';
}

static int wallet_row(const saga_row *row, void *ud)
{
    payment_wallet *w = ud;
    saga_row_copy(row, 0, w->customer_id, sizeof(w->customer_id));
    w->balance = saga_row_i64(row, 1);
    w->initial_balance = saga_row_i64(row, 2);
    w->topped_up = saga_row_i64(row, 3);
    w->blocked = saga_row_i64(row, 4) != 0;
    return 0;
}

int payment_store_wallet_get(saga_db *db, const char *customer_id, bool for_update,
                             payment_wallet *out)
{
    saga_param p[] = {SAGA_P_STR(customer_id)};
    if (for_update)
        return saga_db_query_one_prefetched(db, &payment_wallet_lock_query, customer_id, wallet_row,
                                            out);
    return saga_db_query_one(db, WALLET_SELECT, p, 1, wallet_row, out);
}

int payment_store_wallet_create(saga_db *db, const char *customer_id, long long balance,
                                bool blocked)
{
    saga_param p[] = {SAGA_P_STR(customer_id), SAGA_P_I64(balance), SAGA_P_I64(balance),
                      SAGA_P_I64(blocked ? 1 : 0)};
    return saga_db_exec(db,
                        "INSERT INTO wallets (customer_id, balance, initial_balance, topped_up,"
                        " blocked) VALUES (?, ?, ?, 0, ?)",
                        p, 4, NULL, NULL);
}

/* Runs an UPDATE of one wallet: SAGA_ERR_NOT_FOUND if no row matched. */
static int wallet_update(saga_db *db, const char *sql, const saga_param *p, size_t np)
{
    uint64_t affected = 0;
    int rc = saga_db_exec(db, sql, p, np, &affected, NULL);
    if (rc == SAGA_OK && affected == 0)
        return SAGA_ERR_NOT_FOUND;
    return rc;
}

int payment_store_wallet_set_blocked(saga_db *db, const char *customer_id, bool blocked)
{
    saga_param p[] = {SAGA_P_I64(blocked ? 1 : 0), SAGA_P_STR(customer_id)};
    return wallet_update(db,
                         "UPDATE wallets SET blocked = ?, updated_at = CURRENT_TIMESTAMP(3)"
                         " WHERE customer_id = ?",
                         p, 2);
}

int payment_store_wallet_move(saga_db *db, const char *customer_id, long long delta)
{
    saga_param p[] = {SAGA_P_I64(delta), SAGA_P_STR(customer_id)};
    /* no row count check: a zero delta in the same millisecond changes nothing, and
     * the caller holds the row's lock, so it exists */
    return saga_db_update(db,
                          "UPDATE wallets SET balance = balance + ?,"
                          " updated_at = CURRENT_TIMESTAMP(3) WHERE customer_id = ?",
                          p, 2, 1);
}

int payment_store_wallet_topup(saga_db *db, const char *customer_id, long long amount)
{
    saga_param p[] = {SAGA_P_I64(amount), SAGA_P_I64(amount), SAGA_P_STR(customer_id)};
    return wallet_update(db,
                         "UPDATE wallets SET balance = balance + ?, topped_up = topped_up + ?,"
                         " updated_at = CURRENT_TIMESTAMP(3) WHERE customer_id = ?",
                         p, 3);
}

static int payment_row(const saga_row *row, void *ud)
{
    payment_record *r = ud;
    saga_row_uuid(row, 0, r->id);
    saga_row_uuid(row, 1, r->order_id);
    saga_row_copy(row, 2, r->customer_id, sizeof(r->customer_id));
    r->amount = saga_row_i64(row, 3);
    saga_row_copy(row, 4, r->currency, sizeof(r->currency));
    if (payment_status_parse(saga_row_str(row, 5), &r->status) != 0)
        return SAGA_ERR_INTERNAL; /* a row this code did not write */
    r->decline = PAYMENT_DECLINE_NONE;
    if (!saga_row_is_null(row, 6) && payment_decline_parse(saga_row_str(row, 6), &r->decline))
        return SAGA_ERR_INTERNAL;
    copy_time(row, 7, r->created_at);
    copy_time(row, 8, r->updated_at);
    return 0;
}

int payment_store_payment_get(saga_db *db, const char *order_id, bool for_update,
                              payment_record *out)
{
    saga_param p[] = {SAGA_P_UUID(order_id)};
    if (for_update)
        return saga_db_query_one_prefetched(db, &payment_lock_query, order_id, payment_row, out);
    return saga_db_query_one(db, PAYMENT_SELECT, p, 1, payment_row, out);
}

int payment_store_payment_insert(saga_db *db, const payment_record *r)
{
    saga_param p[] = {SAGA_P_UUID(r->id),
                      SAGA_P_UUID(r->order_id),
                      SAGA_P_STR(r->customer_id),
                      SAGA_P_I64(r->amount),
                      SAGA_P_STR(r->currency),
                      SAGA_P_STR(payment_status_str(r->status)),
                      SAGA_P_STR(payment_decline_str(r->decline))};
    return saga_db_insert(db,
                          "INSERT INTO payments (id, order_id, customer_id, amount, currency,"
                          " status, decline_reason) VALUES ",
                          "(?, ?, ?, ?, ?, ?, ?)", p, 7);
}

int payment_store_payment_set_status(saga_db *db, const payment_record *r, payment_status status)
{
    saga_param p[] = {SAGA_P_STR(payment_status_str(status)), SAGA_P_UUID(r->id),
                      SAGA_P_UUID(r->order_id)};
    uint64_t affected = 0;
    /* the order id too: a batch keeps payments rows by it (see prefetch.h) */
    int rc = saga_db_exec(db,
                          "UPDATE payments SET status = ?, updated_at = CURRENT_TIMESTAMP(3)"
                          " WHERE id = ? AND order_id = ?",
                          p, 3, &affected, NULL);
    if (rc == SAGA_OK && affected == 0)
        return SAGA_ERR_NOT_FOUND;
    return rc;
}

int payment_store_cancelled_find(saga_db *db, const char *order_id, bool for_update)
{
    saga_param p[] = {SAGA_P_UUID(order_id)};
    long long one = 0;
    if (for_update)
        return saga_db_query_one_prefetched(db, &payment_cancelled_lock_query, order_id, NULL,
                                            NULL);
    return saga_db_query_i64(db, "SELECT 1 FROM cancelled_orders WHERE order_id = ?", p, 1, &one);
}

int payment_store_cancelled_add(saga_db *db, const char *order_id, const char *customer_id,
                                const char *reason, bool *added)
{
    saga_param p[] = {SAGA_P_UUID(order_id), SAGA_P_STR(customer_id), SAGA_P_STR(reason)};
    uint64_t affected = 0;
    int rc = saga_db_exec(db,
                          "INSERT IGNORE INTO cancelled_orders (order_id, customer_id, reason)"
                          " VALUES (?, ?, ?)",
                          p, 3, &affected, NULL);
    *added = rc == SAGA_OK && affected > 0;
    return rc;
}

int payment_store_known_add(saga_db *db, const char *order_id, const char *customer_id, bool *added)
{
    saga_param p[] = {SAGA_P_UUID(order_id), SAGA_P_STR(customer_id)};
    uint64_t affected = 0;
    int rc =
        saga_db_exec(db, "INSERT IGNORE INTO known_orders (order_id, customer_id) VALUES (?, ?)", p,
                     2, &affected, NULL);
    *added = rc == SAGA_OK && affected > 0;
    return rc;
}

static int known_row(const saga_row *row, void *ud)
{
    saga_row_copy(row, 0, ud, PAYMENT_CUSTOMER_ID_BYTES);
    return 0;
}

int payment_store_known_get(saga_db *db, const char *order_id, bool for_update,
                            char customer[PAYMENT_CUSTOMER_ID_BYTES])
{
    saga_param p[] = {SAGA_P_UUID(order_id)};
    if (for_update)
        return saga_db_query_one_prefetched(db, &payment_known_lock_query, order_id, known_row,
                                            customer);
    return saga_db_query_one(db, "SELECT customer_id FROM known_orders WHERE order_id = ?", p, 1,
                             known_row, customer);
}

int payment_store_parked_add(saga_db *db, const payment_parked *r, bool *added)
{
    saga_param p[] = {SAGA_P_UUID(r->order_id), SAGA_P_STR(r->customer_id), SAGA_P_I64(r->amount),
                      SAGA_P_STR(r->currency), SAGA_P_UUID(r->event_id)};
    uint64_t affected = 0;
    int rc = saga_db_exec(db,
                          "INSERT IGNORE INTO pending_reservations (order_id, customer_id, amount,"
                          " currency, event_id) VALUES (?, ?, ?, ?, ?)",
                          p, 5, &affected, NULL);
    *added = rc == SAGA_OK && affected > 0;
    return rc;
}

static int parked_row(const saga_row *row, void *ud)
{
    payment_parked *r = ud;
    saga_row_uuid(row, 0, r->order_id);
    saga_row_copy(row, 1, r->customer_id, sizeof(r->customer_id));
    r->amount = saga_row_i64(row, 2);
    saga_row_copy(row, 3, r->currency, sizeof(r->currency));
    saga_row_uuid(row, 4, r->event_id);
    return 0;
}

#define PARKED_SELECT                                                                              \
    "SELECT order_id, customer_id, amount, currency, event_id FROM pending_reservations"           \
    " WHERE order_id = ?"

int payment_store_parked_get(saga_db *db, const char *order_id, bool for_update,
                             payment_parked *out)
{
    saga_param p[] = {SAGA_P_UUID(order_id)};
    return saga_db_query_one(db, for_update ? PARKED_SELECT " FOR UPDATE" : PARKED_SELECT, p, 1,
                             parked_row, out);
}

int payment_store_parked_delete(saga_db *db, const char *order_id)
{
    saga_param p[] = {SAGA_P_UUID(order_id)};
    return saga_db_exec(db, "DELETE FROM pending_reservations WHERE order_id = ?", p, 1, NULL,
                        NULL);
}

int payment_store_parked_count(saga_db *db, long long *count)
{
    return saga_db_query_i64(db, "SELECT COUNT(*) FROM pending_reservations", NULL, 0, count);
}
