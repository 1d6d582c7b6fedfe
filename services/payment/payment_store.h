/* payment_store.h - payment-service's SQL: wallets, payments, cancelled_orders,
 * known_orders and pending_reservations.
 *
 * Every function runs prepared statements on the caller's connection, inside
 * whatever transaction the caller has open (the consumer's batch, or an HTTP
 * handler's own). Strings passed in are borrowed for the call; results are copied
 * into the caller's structs. Results: SAGA_OK, SAGA_ERR_NOT_FOUND, SAGA_ERR_CONFLICT
 * (a unique key), or a database error as saga_db returns it (SAGA_ERR_TRANSIENT:
 * roll back and retry the transaction). */
#ifndef PAYMENT_STORE_H
#define PAYMENT_STORE_H

#include <stdbool.h>

#include "saga/db.h"
#include "saga/envelope.h"
#include "payment.h"

/* The locking reads the handlers do, declared so the consumer does them for a whole
 * batch at once (see saga/prefetch.h): wallets by customer id; known_orders,
 * cancelled_orders and payments by order id. The _get and _find functions below
 * with for_update run exactly these point reads. */
extern const saga_prefetch_query payment_wallet_lock_query;
extern const saga_prefetch_query payment_known_lock_query;
extern const saga_prefetch_query payment_cancelled_lock_query;
extern const saga_prefetch_query payment_lock_query;

/* Reads a wallet; with for_update, locks its row (SELECT ... FOR UPDATE) until the
 * transaction ends. SAGA_ERR_NOT_FOUND if the customer has none. */
int payment_store_wallet_get(saga_db *db, const char *customer_id, bool for_update,
                             payment_wallet *out);

/* Creates a wallet with balance = initial_balance, topped_up 0. SAGA_ERR_CONFLICT
 * if it exists. */
int payment_store_wallet_create(saga_db *db, const char *customer_id, long long balance,
                                bool blocked);

int payment_store_wallet_set_blocked(saga_db *db, const char *customer_id, bool blocked);

/* balance += delta (a charge is negative, a refund positive). The caller holds the
 * row's lock and has checked the result stays within 0..PAYMENT_MONEY_MAX. Kept in
 * an attached write batch (saga_db_update). */
int payment_store_wallet_move(saga_db *db, const char *customer_id, long long delta);

/* balance += amount and topped_up += amount. */
int payment_store_wallet_topup(saga_db *db, const char *customer_id, long long amount);

/* The payment of an order; with for_update, locks its row. SAGA_ERR_NOT_FOUND if
 * there is none. */
int payment_store_payment_get(saga_db *db, const char *order_id, bool for_update,
                              payment_record *out);

/* Inserts p (id, order_id, customer_id, amount, currency, status, decline; the
 * times are set by the database) through saga_db_insert: kept in the write batch
 * attached to db, if any. SAGA_ERR_CONFLICT if the order has a payment (with a
 * batch: from its flush). */
int payment_store_payment_insert(saga_db *db, const payment_record *p);

/* Sets the status of payment r (by its id and order id). SAGA_ERR_NOT_FOUND if
 * there is no such payment. */
int payment_store_payment_set_status(saga_db *db, const payment_record *r, payment_status status);

/* SAGA_OK if the order is recorded as cancelled, SAGA_ERR_NOT_FOUND if not. With
 * for_update the read is a locking one: it waits for a transaction that has just
 * inserted the order and not yet committed. */
int payment_store_cancelled_find(saga_db *db, const char *order_id, bool for_update);

/* Records the cancellation once; *added tells whether this call added it. */
int payment_store_cancelled_add(saga_db *db, const char *order_id, const char *customer_id,
                                const char *reason, bool *added);

/* --- orders payment has seen created (known_orders) --- */

/* Records an OrderCreated's order once; *added tells whether this call added it. */
int payment_store_known_add(saga_db *db, const char *order_id, const char *customer_id,
                            bool *added);

/* The customer of a known order into customer (PAYMENT_CUSTOMER_ID_BYTES);
 * SAGA_ERR_NOT_FOUND if payment has not seen the order created. With for_update the
 * read locks the row, and waits for a transaction that has just inserted it. */
int payment_store_known_get(saga_db *db, const char *order_id, bool for_update,
                            char customer[PAYMENT_CUSTOMER_ID_BYTES]);

/* --- reservations parked until their OrderCreated arrives (pending_reservations) --- */

/* Event ids are at most this long (the inbox's column). */
#define PAYMENT_EVENT_ID_MAX 64

typedef struct payment_parked {
    char order_id[PAYMENT_ID_LEN + 1];
    char customer_id[PAYMENT_CUSTOMER_ID_BYTES];
    long long amount;
    char currency[4];
    char event_id[PAYMENT_EVENT_ID_MAX + 1]; /* the parked InventoryReserved's id */
} payment_parked;

/* Parks r unless the order has a parked reservation already (the first one stays);
 * *added tells whether this call parked it. */
int payment_store_parked_add(saga_db *db, const payment_parked *r, bool *added);

/* The order's parked reservation; with for_update, locks its row. SAGA_ERR_NOT_FOUND
 * if there is none. */
int payment_store_parked_get(saga_db *db, const char *order_id, bool for_update,
                             payment_parked *out);

/* Deletes the order's parked reservation (no error if there is none). */
int payment_store_parked_delete(saga_db *db, const char *order_id);

/* How many reservations are parked. */
int payment_store_parked_count(saga_db *db, long long *count);

#endif
