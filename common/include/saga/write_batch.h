/* write_batch.h - writes kept during a transaction and written together before
 * its commit (the consumer's hot path).
 *
 * Round trips, not rows, are what a consumer's transaction costs. While a batch is
 * attached to a connection (in the calling thread), saga_db_insert and
 * saga_db_update on that connection keep the statement instead of running it;
 * saga_write_batch_flush then writes them shape by shape, in the order each shape
 * first appeared: an INSERT's rows as a few multi-row INSERTs (groups of powers of
 * two up to 64 rows, so few texts are prepared), an UPDATE's as one bulk execution
 * (MariaDB runs one prepared statement over an array of parameter rows in one round
 * trip), each shape's in the order they were kept. A statement that the flush would
 * move ahead of an earlier kept one of the same table that may write the same row
 * (one of them an UPDATE naming a key the other has) writes the kept ones first.
 *
 * A kept statement is not in its table until the flush, so a statement on that
 * connection (saga_db_exec, saga_db_query) that names a table with kept writes
 * writes them first: a later event of the batch sees what an earlier one wrote. A
 * kept statement's own result (a duplicate key, an UPDATE that changed no row)
 * shows only at the flush, whose failure then fails whatever statement caused it:
 * the caller rolls back and, seeing saga_write_batch_failed, runs the transaction
 * again with no batch attached, so that each statement's error reaches the code
 * that ran it (the consumer does). Keep only writes whose error the code can learn
 * that late. */
#ifndef SAGA_WRITE_BATCH_H
#define SAGA_WRITE_BATCH_H

#include <stdbool.h>
#include <stddef.h>

#include "saga/db.h"

typedef struct saga_write_batch saga_write_batch;

saga_write_batch *saga_write_batch_new(void);   /* NULL on no memory */
void saga_write_batch_free(saga_write_batch *b); /* NULL is fine */

/* Attaches b to db for the calling thread; NULL detaches (writes run at once). */
void saga_write_batch_attach(saga_db *db, saga_write_batch *b);

/* Writes the kept statements in db's open transaction and empties the batch.
 * Returns SAGA_OK or the database's error (they are dropped either way: roll
 * back). */
int saga_write_batch_flush(saga_db *db, saga_write_batch *b);

/* Drops the kept statements (after a rollback) and clears the failed flag. */
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

/* Runs an UPDATE of the row whose key (a string) is params[key]: `sql` a string
 * constant ("UPDATE t SET ... WHERE k = ?", kept by pointer) with nparams
 * placeholders. With a batch attached to db it is kept (parameters copied) and
 * SAGA_OK returned; otherwise it runs now, with saga_db_exec's results. For writes
 * whose row count nobody needs. */
int saga_db_update(saga_db *db, const char *sql, const saga_param *params, size_t nparams,
                   size_t key);

/* The same, for an UPDATE that must change exactly the one row its WHERE names
 * by a unique key (a guarded stock move): SAGA_ERR_CONFLICT if it changes none, at
 * once or, kept, at the flush. */
int saga_db_update_one(saga_db *db, const char *sql, const saga_param *params, size_t nparams,
                       size_t key);

#endif
