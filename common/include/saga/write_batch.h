/* write_batch.h - writes kept during a transaction and written together before
 * its commit (the consumer's hot path).
 *
 * Round trips, not rows, are what a consumer's transaction costs. A write batch is
 * an interceptor (saga_db_interceptor, db.h): while it is on a connection,
 * saga_db_insert and saga_db_update on that connection keep the statement instead
 * of running it; saga_write_batch_flush then writes them shape by shape, in the
 * order each shape first appeared: an INSERT's rows as a few multi-row INSERTs
 * (groups of powers of two up to 64 rows, so few texts are prepared), an UPDATE's
 * as one bulk execution (MariaDB runs one prepared statement over an array of
 * parameter rows in one round trip), each shape's in the order they were kept. A
 * statement that the flush would move ahead of an earlier kept one of the same
 * table that may write the same row (one of them an UPDATE naming a key the other
 * has) writes the kept ones first.
 *
 * A kept statement is not in its table until the flush, so a statement on that
 * connection (saga_db_exec, saga_db_query) that names a table with kept writes
 * writes them first: a later event of the batch sees what an earlier one wrote. A
 * kept statement's own result (a duplicate key, an UPDATE that changed no row)
 * shows only at the flush, whose failure then fails whatever statement caused it:
 * the caller rolls back and, seeing saga_write_batch_failed, runs the transaction
 * again with no batch on the connection, so that each statement's error reaches
 * the code that ran it (the consumer does). Keep only writes whose error the code
 * can learn that late. */
#ifndef SAGA_WRITE_BATCH_H
#define SAGA_WRITE_BATCH_H

#include <stdbool.h>
#include <stddef.h>

#include "saga/db.h"

typedef struct saga_write_batch saga_write_batch;

saga_write_batch *saga_write_batch_new(void); /* NULL on no memory */
/* NULL is fine. Take its interceptor off the connection first. */
void saga_write_batch_free(saga_write_batch *b);

/* The interceptor through which b keeps a connection's writes: put it on one with
 * saga_db_intercept, take it off with saga_db_unintercept (writes then run at
 * once). Owned by b; NULL for a NULL b (which both calls take as nothing). */
const saga_db_interceptor *saga_write_batch_interceptor(saga_write_batch *b);

/* Writes the kept statements in db's open transaction and empties the batch.
 * Returns SAGA_OK or the database's error (they are dropped either way: roll
 * back). */
int saga_write_batch_flush(saga_db *db, saga_write_batch *b);

/* Drops the kept statements (after a rollback) and clears the failed flag. */
void saga_write_batch_discard(saga_write_batch *b);

/* Whether a flush failed other than transiently (a duplicate key, bad data) since
 * the last discard: run the transaction again without the batch. */
bool saga_write_batch_failed(const saga_write_batch *b);

#endif
