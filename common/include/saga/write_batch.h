/* write_batch.h - rows kept during a transaction and inserted together before
 * its commit (the consumer's hot path).
 *
 * Round trips, not rows, are what a consumer's transaction costs. While a batch is
 * attached to a connection (in the calling thread), saga_db_insert on that
 * connection keeps the row instead of inserting it; saga_write_batch_flush then
 * writes them with a few multi-row INSERTs per statement shape (groups of powers
 * of two up to 64 rows, so few shapes are prepared), each shape's rows in the order
 * they were added.
 *
 * A kept row is not in its table until the flush, so a statement on that
 * connection (saga_db_exec, saga_db_query) that names a table with kept rows writes
 * them first: a later event of the batch sees what an earlier one inserted. A kept
 * row's own result (a duplicate key) shows only at the flush, whose failure then
 * fails whatever statement caused it: the caller rolls back and, seeing
 * saga_write_batch_failed, runs the transaction again with no batch attached, so
 * that each row's error reaches the code that inserted it (the consumer does).
 * Insert through saga_db_insert only rows whose error the inserting code can learn
 * that late. */
#ifndef SAGA_WRITE_BATCH_H
#define SAGA_WRITE_BATCH_H

#include <stdbool.h>
#include <stddef.h>

#include "saga/db.h"

typedef struct saga_write_batch saga_write_batch;

saga_write_batch *saga_write_batch_new(void);   /* NULL on no memory */
void saga_write_batch_free(saga_write_batch *b); /* NULL is fine */

/* Attaches b to db for the calling thread; NULL detaches (rows go in at once). */
void saga_write_batch_attach(saga_db *db, saga_write_batch *b);

/* Writes the kept rows in db's open transaction and empties the batch. Returns
 * SAGA_OK or the database's error (the rows are dropped either way: roll back). */
int saga_write_batch_flush(saga_db *db, saga_write_batch *b);

/* Drops the kept rows (after a rollback) and clears the failed flag. */
void saga_write_batch_discard(saga_write_batch *b);

/* Whether a flush failed other than transiently (a duplicate key, bad data) since
 * the last discard: run the transaction again without the batch. */
bool saga_write_batch_failed(const saga_write_batch *b);

/* Inserts one row: `insert` is the statement up to VALUES ("INSERT INTO t (a, b)
 * VALUES "), `row` one row's tuple ("(?, ?)"; SQL expressions allowed) with
 * nparams placeholders. Both must be string constants (kept by pointer). With a
 * batch attached to db the row is kept (parameters copied) and SAGA_OK returned;
 * otherwise it is inserted now, with saga_db_exec's results. */
int saga_db_insert(saga_db *db, const char *insert, const char *row, const saga_param *params,
                   size_t nparams);

#endif
