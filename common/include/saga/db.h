/* db.h - MySQL/MariaDB: connection with reconnect, transactions, prepared
 * statements, migrations; every call a handler makes, among them the writes and
 * locking reads a consumer's batch may keep or answer, and the interceptors through
 * which the batch does so.
 *
 * One saga_db per thread. Every statement with input goes through a prepared
 * statement; statements are cached per connection by their SQL text, so a hot
 * statement is prepared once. A lost connection is reopened on the next
 * statement outside a transaction (or the next saga_db_begin); a connection
 * found dead by saga_db_begin or by a query outside a transaction is reopened and
 * the call tried once more, so the first request after a server restart does not
 * fail. Inside a transaction the statement fails with SAGA_ERR_TRANSIENT and the
 * caller rolls back and retries the whole transaction. */
#ifndef SAGA_DB_H
#define SAGA_DB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "saga/config.h"
#include "saga/text.h"

typedef struct saga_db saga_db;

typedef enum saga_param_type {
    SAGA_PARAM_NULL = 0,
    SAGA_PARAM_I64,
    SAGA_PARAM_STR,
    SAGA_PARAM_BLOB,
    SAGA_PARAM_UUID, /* an id's text, bound as its 16 bytes (saga_param_uuid) */
} saga_param_type;

/* A statement parameter; pointers are borrowed for the call. */
typedef struct saga_param {
    saga_param_type type;
    long long i64; /* SAGA_PARAM_UUID: 1 if ptr is a UUID in canonical form */
    const void *ptr;
    size_t len;
    unsigned char uuid[16]; /* SAGA_PARAM_UUID: what is bound */
} saga_param;

#define SAGA_P_NULL ((saga_param){.type = SAGA_PARAM_NULL})
#define SAGA_P_I64(v) ((saga_param){.type = SAGA_PARAM_I64, .i64 = (long long)(v)})
/* A NULL string binds SQL NULL. */
static inline saga_param saga_param_str(const char *s)
{
    return (saga_param){.type = s ? SAGA_PARAM_STR : SAGA_PARAM_NULL, .ptr = s,
                        .len = s ? strlen(s) : 0};
}
#define SAGA_P_STR(s) saga_param_str(s)
#define SAGA_P_BLOB(p, n) ((saga_param){.type = SAGA_PARAM_BLOB, .ptr = (p), .len = (n)})
/* An id (order, payment, notification, event, claim token) for a BINARY(16) column:
 * the text stays the parameter's value for everything that compares parameters
 * with keys (the write batch, the batch read), and its 16 bytes are what the
 * statement gets (docs/DOMAIN.md, "Identifiers"). Text that is not a canonical
 * UUID fails the statement with SAGA_ERR_INVALID, never matches a row by accident.
 * A NULL string binds SQL NULL. */
saga_param saga_param_uuid(const char *text);
#define SAGA_P_UUID(s) saga_param_uuid(s)
/* Whether p holds text (a string or an id), as keys are compared. */
static inline bool saga_param_has_text(const saga_param *p)
{
    return (p->type == SAGA_PARAM_STR || p->type == SAGA_PARAM_UUID) && p->ptr;
}

/* One result row, valid only during the row callback. */
typedef struct saga_row saga_row;
size_t saga_row_count(const saga_row *row);                 /* number of columns */
bool saga_row_is_null(const saga_row *row, size_t col);
const char *saga_row_str(const saga_row *row, size_t col);  /* NUL-terminated; NULL if SQL NULL */
size_t saga_row_len(const saga_row *row, size_t col);       /* bytes (BLOBs may hold NULs) */
long long saga_row_i64(const saga_row *row, size_t col);    /* 0 if NULL */
/* A BINARY(16) id column in its text form (36 characters and a NUL); "" and false if
 * it is NULL or not 16 bytes long. */
bool saga_row_uuid(const saga_row *row, size_t col, char out[SAGA_TEXT_UUID_LEN + 1]);

/* Called for each row; a non-zero return stops the query and is returned by it. */
typedef int (*saga_row_fn)(const saga_row *row, void *ud);

/* Call once in main, before any thread is started (mysql_library_init). */
void saga_db_library_init(void);
void saga_db_library_end(void);

/* Connects with cfg's SAGA_MYSQL_* settings (READ COMMITTED, utf8mb4, UTC). Returns
 * NULL with the reason in err. Close with saga_db_close. */
saga_db *saga_db_open(const saga_config *cfg, char *err, size_t errlen);
void saga_db_close(saga_db *db); /* NULL is fine */

/* Transactions. begin reconnects first if the connection was lost. commit
 * returns SAGA_ERR_UNAVAILABLE when the connection was lost during the COMMIT
 * (the outcome is unknown: do not simply run the transaction again). rollback
 * never fails: on a dead connection the server has already rolled back. */
int saga_db_begin(saga_db *db);
int saga_db_commit(saga_db *db);
void saga_db_rollback(saga_db *db);
bool saga_db_in_transaction(const saga_db *db);
/* A number that changes with every saga_db_begin on db: state a transaction gathers
 * for its saga_db_after_commit callbacks is stale (the transaction rolled back)
 * when it was gathered under another serial. */
unsigned long long saga_db_tx_serial(const saga_db *db);

/* A transaction body: runs in db's open transaction; SAGA_OK commits. */
typedef int (*saga_tx_fn)(saga_db *db, void *ud);

/* Runs fn in a transaction: commits when it returns SAGA_OK, rolls back
 * otherwise. A transient failure (deadlock, lock wait timeout, connection lost
 * before the commit) runs it again, up to `attempts` times in all, with a short
 * growing pause drawn at random (saga/backoff.h). Returns fn's result, or the
 * database's (SAGA_ERR_UNAVAILABLE when the connection was lost during the commit:
 * not retried, the outcome is unknown). fn must leave nothing behind that a retry
 * would repeat. */
int saga_db_transaction(saga_db *db, int attempts, saga_tx_fn fn, void *ud);

/* Runs a statement. affected and insert_id may be NULL. Returns SAGA_OK,
 * SAGA_ERR_CONFLICT (duplicate key), SAGA_ERR_TRANSIENT (deadlock, lock wait
 * timeout, lost connection: retry the transaction), or SAGA_ERR_INTERNAL (a bug:
 * bad SQL). saga_db_error tells more. */
int saga_db_exec(saga_db *db, const char *sql, const saga_param *params, size_t nparams,
                 uint64_t *affected, uint64_t *insert_id);

/* Runs a query and calls fn for every row. Same results as saga_db_exec, or the
 * callback's non-zero return. */
int saga_db_query(saga_db *db, const char *sql, const saga_param *params, size_t nparams,
                  saga_row_fn fn, void *ud);

/* Runs a query for one row: fn is called for the first row only (fn NULL: only
 * whether there is one). Returns fn's result (SAGA_OK when it returns 0),
 * SAGA_ERR_NOT_FOUND if there is no row, or the database's error. */
int saga_db_query_one(saga_db *db, const char *sql, const saga_param *params, size_t nparams,
                      saga_row_fn fn, void *ud);

/* First column of the first row as an integer: SAGA_ERR_NOT_FOUND if no row. */
int saga_db_query_i64(saga_db *db, const char *sql, const saga_param *params, size_t nparams,
                      long long *out);

/* Most keys in one saga_db_in_list statement. */
#define SAGA_DB_IN_LIST_MAX 64

/* Writes head "?,?,...,?" tail into sql for an IN list of n keys (0 < n <=
 * SAGA_DB_IN_LIST_MAX), padded to the next power of two so that few statement
 * shapes are prepared: bind the keys, then repeat the last one up to the returned
 * count. Returns that count, or 0 if sql is too short. */
size_t saga_db_in_list(char *sql, size_t sqllen, const char *head, size_t n, const char *tail);

/* Writes head, then n copies of item separated by commas, then tail into sql (the
 * caller's buffer of sqllen bytes): "VALUES " "(?,?)" x3 "" -> "VALUES (?,?),(?,?),(?,?)".
 * Returns the length written, or 0 if it does not fit (sql is then unspecified). */
size_t saga_db_sql_list(char *sql, size_t sqllen, const char *head, const char *item, size_t n,
                        const char *tail);

/* --- a consumer batch's writes and row locks ---
 *
 * Round trips, not rows, are what a consumer's transaction costs. So a handler
 * writes through saga_db_insert and saga_db_update, which the batch's write batch
 * (write_batch.h) keeps and writes together, and takes its row locks through
 * saga_db_query_prefetched, which the rows the batch locked for all its events at
 * once (saga_db_prefetch, prefetch.h) answer without a statement. Both sit on the
 * connection as interceptors (below); without them every call here runs at once,
 * so the same handler code serves an HTTP request too. */

/* Most parameters of one saga_db_insert row or saga_db_update statement. */
#define SAGA_DB_WRITE_PARAMS_MAX 16

/* Inserts one row: `insert` is the statement up to VALUES ("INSERT INTO t (a, b)
 * VALUES "), `row` one row's tuple ("(?, ?)"; SQL expressions allowed) with
 * nparams placeholders. Both must be string constants (kept by pointer). An
 * interceptor on db may keep the row (parameters copied) and return SAGA_OK: its
 * error then shows when the kept rows are written. Otherwise it is inserted now,
 * with saga_db_exec's results. SAGA_ERR_INVALID if nparams is over
 * SAGA_DB_WRITE_PARAMS_MAX. */
int saga_db_insert(saga_db *db, const char *insert, const char *row, const saga_param *params,
                   size_t nparams);

/* Runs an UPDATE of the row whose key (a string) is params[key]: `sql` a string
 * constant ("UPDATE t SET ... WHERE k = ?", kept by pointer) with nparams
 * placeholders. Kept by an interceptor on db (SAGA_OK), or run now with
 * saga_db_exec's results. For writes whose row count nobody needs.
 * SAGA_ERR_INVALID if params[key] is not a string or nparams is over
 * SAGA_DB_WRITE_PARAMS_MAX. */
int saga_db_update(saga_db *db, const char *sql, const saga_param *params, size_t nparams,
                   size_t key);

/* The same, for an UPDATE that must change exactly the one row its WHERE names
 * by a unique key (a guarded stock move): SAGA_ERR_CONFLICT if it changes none, at
 * once or, kept, when the kept statements are written. */
int saga_db_update_one(saga_db *db, const char *sql, const saga_param *params, size_t nparams,
                       size_t key);

/* A locking point read of one key, declared so that a batch can do it for all its
 * keys at once. Kept rows cannot go stale: a row read under a lock cannot change
 * on another connection before the commit, and a write on this connection to
 * `table` (saga_db_exec, or a row saga_db_insert keeps for later) drops the kept
 * rows whose key equals one of its text parameters (strings, ids), or all of the
 * table's rows if it has none. So every write to such a table names the rows' keys
 * as parameters (as "UPDATE t ... WHERE k = ?" does). An unlocked point read may be
 * declared only for rows that never change. */
typedef struct saga_prefetch_query {
    const char *table;      /* the table written to by name, e.g. "wallets" */
    const char *point_sql;  /* the read of one key, its one parameter: what
                               saga_db_query_prefetched runs when no row is kept */
    const char *batch_head; /* the same read for many keys up to the keys: the key
                               column first, then point_sql's columns, "... IN (";
                               with FORCE INDEX of the key's index, because the
                               optimizer costs an IN list from the table's statistics,
                               and with stale ones (rows bulk-loaded, e.g. LOAD DATA)
                               it read, and locked, the whole table instead */
    const char *batch_tail; /* after the keys: ")" and the rest of point_sql
                               ("ORDER BY k, ...", "FOR UPDATE") */
    /* Keep "no row" for the keys the batch read found nothing for. Under READ
     * COMMITTED nothing stops another connection from inserting such a row
     * meanwhile, so only for rows that are written under a lock the batch holds by
     * then (a query declared earlier); and only for keys whose collation is binary
     * or ASCII without case (a key found under another case counts as found). */
    bool keep_absent;
    /* The key column is an id stored as BINARY(16): the keys are bound with
     * saga_param_uuid, and the rows' keys read back as text. */
    bool uuid_key;
} saga_prefetch_query;

/* Runs q for the n keys (distinct) in db's open transaction, up to
 * SAGA_DB_IN_LIST_MAX keys per statement, and keeps the rows in the interceptor on
 * db that keeps rows (saga_prefetch, prefetch.h) until the transaction ends.
 * Returns SAGA_OK, the database's error (roll back), or SAGA_ERR_INVALID if db has
 * no such interceptor. */
int saga_db_prefetch(saga_db *db, const saga_prefetch_query *q, const char *const *keys, size_t n);

/* q's point read of key: answered from the rows saga_db_prefetch kept for key in
 * db's transaction, while a write has not dropped them (no row, when q keeps
 * absence and the batch read found none); otherwise q->point_sql runs with key.
 * Results as saga_db_query. */
int saga_db_query_prefetched(saga_db *db, const saga_prefetch_query *q, const char *key,
                             saga_row_fn fn, void *ud);

/* The same, with saga_db_query_one's results. */
int saga_db_query_one_prefetched(saga_db *db, const saga_prefetch_query *q, const char *key,
                                 saga_row_fn fn, void *ud);

/* --- interceptors ---
 *
 * What lets the write batch and the batch read see a connection's statements
 * without db.c knowing either: an interceptor is a table of hooks that db calls at
 * fixed points, each of its interceptors in the order they were added. One saga_db
 * is used by one thread, so whatever an interceptor keeps belongs to that
 * connection. Every hook may be NULL (not interested) and gets ud first; a hook
 * must not add or remove interceptors. */

/* A write saga_db_insert, saga_db_update or saga_db_update_one was asked for. */
typedef enum saga_db_write_kind {
    SAGA_DB_WRITE_INSERT,     /* one row of an INSERT */
    SAGA_DB_WRITE_UPDATE,     /* an UPDATE whose row count nobody needs */
    SAGA_DB_WRITE_UPDATE_ONE, /* an UPDATE that must change exactly one row */
} saga_db_write_kind;

typedef struct saga_db_write {
    saga_db_write_kind kind;
    const char *sql;          /* the INSERT up to VALUES, or the UPDATE: a constant */
    const char *row;          /* an INSERT's row tuple (a constant); NULL for an UPDATE */
    const saga_param *params; /* borrowed for the call; nparams <= SAGA_DB_WRITE_PARAMS_MAX */
    size_t nparams;
    size_t key; /* an UPDATE's parameter holding its row's key (a string) */
} saga_db_write;

typedef struct saga_db_interceptor {
    void *ud;
    /* sql is about to run on db (saga_db_exec, saga_db_query): do first what it
     * must see done. A non-zero return fails the statement with that code. */
    int (*before)(void *ud, saga_db *db, const char *sql);
    /* May keep w, to write it later, instead of its running now: *kept says so,
     * and no later interceptor is asked. A non-zero return fails the call. */
    int (*keep)(void *ud, saga_db *db, const saga_db_write *w, bool *kept);
    /* A write with these parameters is about to run on db (saga_db_exec: sql), or
     * was kept (w->sql). */
    void (*written)(void *ud, const char *sql, const saga_param *params, size_t nparams);
    /* saga_db_prefetch, for the first interceptor that has this hook. */
    int (*prefetch)(void *ud, saga_db *db, const saga_prefetch_query *q, const char *const *keys,
                    size_t n);
    /* saga_db_query_prefetched: true if it answered key from kept rows, calling fn
     * for them and setting *rc to what saga_db_query returns; false: run the read. */
    bool (*answer)(void *ud, const saga_prefetch_query *q, const char *key, saga_row_fn fn,
                   void *fn_ud, int *rc);
    /* db's transaction ended (commit, rollback, the next begin) or its connection. */
    void (*tx_end)(void *ud);
} saga_db_interceptor;

#define SAGA_DB_INTERCEPTORS_MAX 4

/* Puts ic on db after those already there, until saga_db_unintercept. ic is
 * borrowed: it (and its ud) must outlive its place on db, saga_db_close included.
 * Adding one already there, or NULL, does nothing. SAGA_ERR_NOMEM if db has
 * SAGA_DB_INTERCEPTORS_MAX already. */
int saga_db_intercept(saga_db *db, const saga_db_interceptor *ic);

/* Takes ic off db; one that is not there, or NULL, is fine. */
void saga_db_unintercept(saga_db *db, const saga_db_interceptor *ic);

/* --- text in and out of rows --- */

#define SAGA_DB_TIME_LEN 23    /* "2026-11-22 10:00:00.123": a DATETIME(3) literal */
#define SAGA_DB_RFC3339_LEN 24 /* "2026-11-22T10:00:00.123Z" (SAGA_TIME_LEN of envelope.h) */

/* Copies column col of row into out (the caller's buffer, outlen > 0), SQL NULL as "".
 * Returns SAGA_OK, or SAGA_ERR_TOO_LARGE if the value was cut to outlen - 1 bytes. */
int saga_row_copy(const saga_row *row, size_t col, char *out, size_t outlen);

/* A DATETIME as the server prints it ("2026-11-22 10:00:00" with 0 or 1..6 fraction
 * digits; a T instead of the space is accepted, as DATE_FORMAT may write it) to RFC 3339
 * UTC with milliseconds ("2026-11-22T10:00:00.123Z", extra digits dropped) in out.
 * Returns SAGA_OK, or SAGA_ERR_INVALID if dt (NULL allowed) is not of that form. */
int saga_db_time_to_rfc3339(const char *dt, char out[SAGA_DB_RFC3339_LEN + 1]);

/* Milliseconds since the epoch to a DATETIME(3) literal in UTC ("2026-11-22 10:00:00.123"). */
void saga_db_time_from_ms(long long epoch_ms, char out[SAGA_DB_TIME_LEN + 1]);

/* --- named locks --- */

/* A lock "<database>.<name>" (GET_LOCK) that the connection taking it holds until it
 * ends: one instance of a service does the job (the outbox relay, the order sweeper),
 * another takes over when its connection goes. The caller owns the struct; name is
 * borrowed and must outlive it. Zero conn_id before the first use. */
typedef struct saga_db_lock {
    const char *name;      /* "relay", "sweeper" */
    unsigned long conn_id; /* the connection that holds it, 0 if none */
} saga_db_lock;

/* Holds lock on db's current connection, trying to take it (without waiting) if this
 * connection does not hold it yet. Returns true if held; *taken is true only if this
 * call took it (for the caller's "now the leader" log line). */
bool saga_db_lock_hold(saga_db *db, saga_db_lock *lock, bool *taken);

/* True if db's current connection is still the one holding lock (a reconnect loses it). */
bool saga_db_lock_held(saga_db *db, const saga_db_lock *lock);

/* Runs SQL text without parameters, several statements allowed (migrations, tests).
 * Never use it with input. */
int saga_db_exec_script(saga_db *db, const char *sql);

unsigned saga_db_errno(const saga_db *db);
const char *saga_db_error(const saga_db *db);
/* The server's id of this connection (CONNECTION_ID()), 0 if not connected. */
unsigned long saga_db_connection_id(saga_db *db);
/* True if a trivial query succeeds (reconnecting if needed). */
bool saga_db_ping(saga_db *db);

/* Applies the migrations in <dir>/common then <dir>/<service>: files named
 * NNN_*.sql, in name order, each once, recorded in schema_migrations as
 * "<sub>/<file>". Serialised across instances by a named lock. Migrations must be
 * idempotent DDL (IF NOT EXISTS): MySQL cannot roll DDL back. */
int saga_db_migrate(saga_db *db, const char *dir, const char *service, char *err, size_t errlen);

/* Outbox support: the outbox marks the transaction when it adds a row; after
 * such a transaction commits, the hook runs (it wakes the relay; registered with
 * saga_db_after_commit). */
void saga_db_set_commit_hook(saga_db *db, void (*fn)(void *ud), void *ud);
void saga_db_mark_outbox(saga_db *db);

/* Runs fn(ud) once db's open transaction has committed (not if it rolls back, nor
 * when the commit's outcome is unknown); the same fn and ud registered twice in one
 * transaction run once. Outside a transaction fn runs now. SAGA_ERR_NOMEM if a
 * transaction registers more than 8. */
int saga_db_after_commit(saga_db *db, void (*fn)(void *ud), void *ud);

#endif
