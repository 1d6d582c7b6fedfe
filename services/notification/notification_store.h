/* notification_store.h - the notifications and known_orders tables
 * (deploy/mysql/notification).
 *
 * Claiming: a delivery pass takes a random token and runs one autocommit
 *
 *     UPDATE notifications SET claim_token = <token>, claimed_until = now + lease
 *      WHERE status = 'PENDING' AND channel = <channel> AND next_attempt_at <= now
 *        AND (claimed_until IS NULL OR claimed_until < now)
 *      ORDER BY next_attempt_at LIMIT <batch>
 *
 * InnoDB locks every row it changes, and a concurrent UPDATE re-reads a locked row
 * after the lock is released and re-checks the WHERE clause, so two instances never
 * hold the same row: the second one sees claimed_until in the future and skips it.
 * Every later change of a claimed row is guarded by `claim_token = <token> AND status =
 * 'PENDING'`, so a pass whose lease lapsed (it hung) cannot mark a row another pass has
 * since claimed. The claim is not a transaction held open during delivery; a crashed
 * instance's rows become claimable again when their lease ends. */
#ifndef NOTIFICATION_STORE_H
#define NOTIFICATION_STORE_H

#include <stddef.h>
#include <stdint.h>
#include <cjson/cJSON.h>

#include "saga/db.h"
#include "notification.h"

/* A new row (notification_store_add). Strings are borrowed. */
typedef struct notification_new {
    const char *id;
    const char *order_id;
    const char *customer_id;
    notification_trigger trigger;
    const char *trigger_event_id;
    notification_channel channel;
    const char *payload;
    const char *traceparent; /* NULL if none */
    const char *created_at;  /* "2026-11-22 10:00:00.123", also the first next_attempt_at */
} notification_new;

/* A claimed row (notification_store_claimed). */
typedef struct notification_row {
    char id[SAGA_UUID_LEN + 1];
    char order_id[NOTIFY_ORDER_ID_MAX + 1];
    char trigger_event_id[NOTIFY_EVENT_ID_MAX + 1];
    notification_trigger trigger;
    notification_channel channel;
    int attempts;         /* made before this one */
    char *payload;        /* owned: freed by notification_rows_free */
    char traceparent[64]; /* "" if none */
} notification_row;

/* Inserts rows[0..n) (n <= NOTIFY_CH_COUNT) as PENDING, due now, in db's open
 * transaction; a row whose (order, trigger, channel) exists already is left alone (a
 * redelivered or replayed trigger adds nothing). *added: rows inserted. With the
 * consumer's write batch attached the rows are kept and all count as added: one that
 * exists shows as a duplicate at the flush, and the batch's rerun without the batch
 * leaves it alone (see saga/write_batch.h). */
int notification_store_add(saga_db *db, const notification_new *rows, size_t n, uint64_t *added);

/* Claims up to `batch` due rows of channel for lease_ms under token (see above).
 * Autocommit. *claimed: how many. */
int notification_store_claim(saga_db *db, notification_channel channel, const char *token,
                             long lease_ms, long batch, uint64_t *claimed);

/* The PENDING rows claimed under token. *rows is an array of *n rows (NULL when none)
 * that the caller frees with notification_rows_free. */
int notification_store_claimed(saga_db *db, const char *token, notification_row **rows, size_t *n);
void notification_rows_free(notification_row *rows, size_t n); /* NULL is fine */

/* Which of the rows ids[0..n) token still holds (PENDING, claimed under token), with one
 * locking read per 64 ids in db's open transaction, so that they stay held until it ends:
 * held[i] tells for ids[i]. ids and held are the caller's (n entries each). */
int notification_store_lock_held(saga_db *db, const char *token, const char *const *ids, size_t n,
                                 bool *held);

/* Marks the rows ids[0..n) SENT (attempts + 1, sent_at now, claim cleared), one UPDATE
 * per 64 ids, in db's open transaction. They must be held by token, locked by
 * notification_store_lock_held in the same transaction: if fewer than n rows change,
 * returns SAGA_ERR_CONFLICT (roll back). ids are the caller's. */
int notification_store_mark_sent_held(saga_db *db, const char *token, const char *const *ids,
                                      size_t n);

/* A failed attempt (attempts + 1, last_error = error): with delay_ms >= 0 the row stays
 * PENDING and is due again in delay_ms; with delay_ms < 0 it becomes FAILED. Claim
 * cleared. Autocommit; *applied false if token no longer holds the row. */
int notification_store_mark_failed(saga_db *db, const char *id, const char *token,
                                   const char *error, long delay_ms, bool *applied);

/* Gives back the rows still claimed under token (shutdown). Autocommit. */
int notification_store_release(saga_db *db, const char *token);

/* Appends the notifications of order_id to the JSON array items, oldest first:
 * {"id","orderId","customerId","trigger","channel","status","attempts","lastError",
 * "createdAt","sentAt"}. */
int notification_store_list(saga_db *db, const char *order_id, cJSON *items);

/* Records an OrderCreated's order once, in db's open transaction; *added tells
 * whether this call added it. With the consumer's write batch attached the row is
 * kept and *added is true: an order recorded before shows as a duplicate at the
 * flush, and the batch's rerun without the batch tells this call (see
 * saga/write_batch.h). */
int notification_store_known_add(saga_db *db, const notification_order *o, bool *added);

/* notification_store_known_get's read, which the consumer does for a whole batch of
 * events at once (see saga/prefetch.h). */
extern const saga_prefetch_query notification_known_query;

/* The customer recorded for a known order into customer; SAGA_ERR_NOT_FOUND if the
 * service has never seen the order created. */
int notification_store_known_get(saga_db *db, const char *order_id,
                                 char customer[NOTIFY_CUSTOMER_ID_MAX + 1]);

#endif
