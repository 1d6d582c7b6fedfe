/* prefetch.h - a consumer batch's row locks, taken for all its events at once.
 *
 * A handler locks its rows one event at a time ("SELECT ... WHERE k = ? FOR
 * UPDATE"): a round trip per event and table, which is most of what a consumer's
 * transaction costs. Declared as a saga_prefetch_query, the same read is done for
 * the whole batch before the handlers run ("... WHERE k IN (?, ...) FOR UPDATE",
 * up to 64 keys per statement), and until the transaction ends the handler's own
 * statement, run on the same connection in the same thread with one key, is
 * answered from the rows kept. A key the batch read found no row for is read as
 * usual, unless the query keeps absence too (keep_absent): then its point read
 * answers "no row" until a write names the key.
 *
 * Kept rows cannot go stale: a row read under a lock cannot change on another
 * connection before the commit, and a write on this connection to the query's
 * table (saga_db_exec, or a row saga_db_insert keeps for later) drops the kept
 * rows whose key equals one of its string parameters, or all of the table's rows
 * if it has none. So every write to such a table names the rows' keys as
 * parameters (as "UPDATE t ... WHERE k = ?" does).
 * An unlocked point read may be declared only for rows that never change. */
#ifndef SAGA_PREFETCH_H
#define SAGA_PREFETCH_H

#include <stddef.h>

#include "saga/db.h"

typedef struct saga_prefetch_query {
    const char *table;      /* the table written to by name, e.g. "wallets" */
    const char *point_sql;  /* the handler's read, character for character; its one
                               parameter is the key */
    const char *batch_head; /* the same read for many keys up to the keys: the key
                               column first, then point_sql's columns, "... IN (" */
    const char *batch_tail; /* after the keys: ")" and the rest of point_sql
                               ("ORDER BY k, ...", "FOR UPDATE") */
    /* Keep "no row" for the keys the batch read found nothing for. Under READ
     * COMMITTED nothing stops another connection from inserting such a row
     * meanwhile, so only for rows that are written under a lock the batch holds by
     * then (a query declared earlier); and only for keys whose collation is binary
     * or ASCII without case (a key found under another case counts as found). */
    bool keep_absent;
} saga_prefetch_query;

/* Runs q for the n keys (distinct) in db's open transaction and keeps the rows for
 * the calling thread until the transaction ends. Returns SAGA_OK or the database's
 * error (roll back). */
int saga_db_prefetch(saga_db *db, const saga_prefetch_query *q, const char *const *keys, size_t n);

#endif
