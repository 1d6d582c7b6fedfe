/* prefetch.h - a consumer batch's row locks, taken for all its events at once.
 *
 * A handler locks its rows one event at a time ("SELECT ... WHERE k = ? FOR
 * UPDATE"): a round trip per event and table, which is most of what a consumer's
 * transaction costs. Declared as a saga_prefetch_query (db.h), the same read is
 * done for the whole batch before the handlers run (saga_db_prefetch: "... WHERE k
 * IN (?, ...) FOR UPDATE", up to 64 keys per statement), and until the transaction
 * ends the handler's own read of one key, saga_db_query_prefetched naming that
 * declaration, is answered from the rows kept. A key the batch read found no row
 * for is read as usual, unless the query keeps absence too (keep_absent): then its
 * point read answers "no row" until a write names the key.
 *
 * The rows are kept in a saga_prefetch, an interceptor (saga_db_interceptor,
 * db.h) on the connection: it is told of every write there (saga_db_exec, or a row
 * a write batch keeps for later) and drops the kept rows of the write's table
 * whose key equals one of its text parameters (strings, ids), or all of that
 * table's rows if it has none; it drops everything when the transaction ends
 * (commit, rollback, a lost connection). */
#ifndef SAGA_PREFETCH_H
#define SAGA_PREFETCH_H

#include "saga/db.h"

typedef struct saga_prefetch saga_prefetch;

saga_prefetch *saga_prefetch_new(void); /* NULL on no memory */
/* NULL is fine. Take its interceptor off the connection (or close that) first. */
void saga_prefetch_free(saga_prefetch *p);

/* The interceptor through which p keeps a connection's batch reads (put it on one
 * with saga_db_intercept; saga_db_prefetch on that connection then keeps rows in
 * p). Owned by p; NULL for a NULL p. */
const saga_db_interceptor *saga_prefetch_interceptor(saga_prefetch *p);

#endif
