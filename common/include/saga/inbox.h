/* inbox.h - duplicate event ids skipped inside the caller's transaction.
 *
 * Event ids are UUIDs in canonical form (the envelope's schema; the consumer
 * dead-letters anything else before it gets here), stored as their 16 bytes: an id
 * in another form fails the call with SAGA_ERR_INVALID and records nothing. */
#ifndef SAGA_INBOX_H
#define SAGA_INBOX_H

#include <stdbool.h>
#include <stddef.h>

#include "saga/db.h"

/* Records event_id as consumed, in db's open transaction. Returns SAGA_OK the
 * first time (apply the event), SAGA_ERR_DUPLICATE if it was recorded before
 * (skip it), or a database error. */
int saga_inbox_claim(saga_db *db, const char *event_id, const char *event_type);

/* Claims n event ids at once, in db's open transaction: a few statements per
 * batch instead of one per event (the consumer's hot path). seen_before[i] is set
 * for an id recorded before, or repeated earlier in ids (skip that event);
 * the others are recorded now. Returns SAGA_OK; SAGA_ERR_TRANSIENT if another
 * consumer recorded one of the ids between the look-up and the insert (roll back
 * and run the batch again: it will then be seen); or a database error. */
int saga_inbox_claim_batch(saga_db *db, const char *const *ids, const char *const *types, size_t n,
                           bool *seen_before);

/* Forgets consumed event ids older than retention_s seconds, deleting at most
 * `chunk` rows per statement (each its own short transaction, so pruning never
 * holds many locks) until none are left. *deleted (may be NULL) gets the count.
 * Ids inside the window are untouched, so deduplication there is unchanged; an
 * event redelivered after its id was forgotten would be applied again, so keep
 * the window longer than anything can be redelivered (topic retention, replays
 * of dead letters). Call outside a transaction. */
int saga_inbox_prune(saga_db *db, long retention_s, long chunk, uint64_t *deleted);

#endif
