/* db.c - MySQL/MariaDB connection, transactions, cached prepared statements,
 * statements and queries, and the interceptors that see them (see db.h). Bulk
 * execution is in db_bulk.c, migrations in db_migrate.c. */
#include "saga/db.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <mysql.h>
#include <mysqld_error.h>
#include <errmsg.h>

#include "saga/backoff.h"
#include "saga/err.h"
#include "saga/log.h"
#include "db_row.h"
#include "db_stmt.h"

/* the services' statements plus the batch shapes of the inbox, the outbox and the prefetches */
#define STMT_CACHE_SIZE 192
/* longest saga_db_insert statement run at once: its head and its row */
#define INSERT_SQL_MAX 8192
/* most saga_db_after_commit callbacks in one transaction */
#define AFTER_COMMIT_MAX 8

typedef struct cached_stmt {
    char *sql;
    MYSQL_STMT *stmt;
    unsigned long long last_used;
} cached_stmt;

struct saga_db {
    MYSQL *mysql;
    saga_config cfg;          /* copy: the settings to reconnect with */
    bool connected;
    bool in_tx;
    void (*commit_hook)(void *ud);
    void *commit_hook_ud;
    struct {
        void (*fn)(void *ud);
        void *ud;
    } after_commit[AFTER_COMMIT_MAX]; /* this transaction's, run once it commits */
    size_t nafter_commit;
    unsigned long long tx_serial; /* transactions begun on this handle */
    /* in the way of this connection's statements, in the order added */
    const saga_db_interceptor *interceptors[SAGA_DB_INTERCEPTORS_MAX];
    size_t ninterceptors;
    cached_stmt cache[STMT_CACHE_SIZE];
    unsigned long long use_clock;
    unsigned last_errno;
    char last_error[512];
};

void saga_db_library_init(void)
{
    mysql_library_init(0, NULL, NULL);
}

void saga_db_library_end(void)
{
    mysql_library_end();
}

/* Errors after which the same transaction, retried, may succeed. */
static bool errno_is_transient(unsigned e)
{
    switch (e) {
    case ER_LOCK_DEADLOCK:
    case ER_LOCK_WAIT_TIMEOUT:
    case ER_SERVER_SHUTDOWN:
    case ER_CON_COUNT_ERROR:
    case ER_QUERY_INTERRUPTED:
    case 1927: /* ER_CONNECTION_KILLED (MariaDB) */
    case 4031: /* ER_CLIENT_INTERACTION_TIMEOUT (MariaDB) */
    case CR_SERVER_GONE_ERROR:
    case CR_SERVER_LOST:
    case CR_CONNECTION_ERROR:
    case CR_CONN_HOST_ERROR:
    case CR_SERVER_LOST_EXTENDED:
        return true;
    default:
        return false;
    }
}

/* Errors after which the connection cannot be used any more. */
static bool errno_is_connection_loss(unsigned e)
{
    return e == CR_SERVER_GONE_ERROR || e == CR_SERVER_LOST || e == CR_SERVER_LOST_EXTENDED ||
           e == CR_CONNECTION_ERROR || e == CR_CONN_HOST_ERROR || e == 1927 || e == 4031 ||
           e == ER_SERVER_SHUTDOWN;
}

static int record_error(saga_db *db, unsigned e, const char *msg)
{
    db->last_errno = e;
    snprintf(db->last_error, sizeof(db->last_error), "%s", msg ? msg : "");
    if (errno_is_connection_loss(e))
        db->connected = false;
    if (e == ER_DUP_ENTRY)
        return SAGA_ERR_CONFLICT;
    if (errno_is_transient(e))
        return SAGA_ERR_TRANSIENT;
    return SAGA_ERR_INTERNAL;
}

static int mysql_fail(saga_db *db)
{
    return record_error(db, mysql_errno(db->mysql), mysql_error(db->mysql));
}

int db_stmt_fail(saga_db *db, MYSQL_STMT *stmt)
{
    return record_error(db, mysql_stmt_errno(stmt), mysql_stmt_error(stmt));
}

static void cache_clear(saga_db *db)
{
    for (size_t i = 0; i < STMT_CACHE_SIZE; i++) {
        if (db->cache[i].stmt)
            mysql_stmt_close(db->cache[i].stmt);
        free(db->cache[i].sql);
        db->cache[i] = (cached_stmt){0};
    }
}

/* The interceptors' hooks at each point: every interceptor's, in order. */
static void intercept_tx_end(saga_db *db)
{
    for (size_t i = 0; i < db->ninterceptors; i++)
        if (db->interceptors[i]->tx_end)
            db->interceptors[i]->tx_end(db->interceptors[i]->ud);
}

static int intercept_before(saga_db *db, const char *sql)
{
    for (size_t i = 0; i < db->ninterceptors; i++) {
        const saga_db_interceptor *ic = db->interceptors[i];
        int rc = ic->before ? ic->before(ic->ud, db, sql) : SAGA_OK;
        if (rc)
            return rc;
    }
    return SAGA_OK;
}

static void intercept_written(saga_db *db, const char *sql, const saga_param *params,
                              size_t nparams)
{
    for (size_t i = 0; i < db->ninterceptors; i++)
        if (db->interceptors[i]->written)
            db->interceptors[i]->written(db->interceptors[i]->ud, sql, params, nparams);
}

static void disconnect(saga_db *db)
{
    intercept_tx_end(db);
    cache_clear(db);
    if (db->mysql)
        mysql_close(db->mysql);
    db->mysql = NULL;
    db->connected = false;
    db->in_tx = false;
}

static int connect_db(saga_db *db)
{
    const saga_config *c = &db->cfg;
    unsigned int connect_timeout = 5, write_timeout = 60, read_timeout = 60;
    my_bool off = 0;

    if (c->mysql_read_timeout_s > 0)
        read_timeout = (unsigned int)c->mysql_read_timeout_s;

    disconnect(db);
    db->mysql = mysql_init(NULL);
    if (!db->mysql)
        return record_error(db, 0, "out of memory");
    mysql_options(db->mysql, MYSQL_OPT_CONNECT_TIMEOUT, &connect_timeout);
    mysql_options(db->mysql, MYSQL_OPT_READ_TIMEOUT, &read_timeout);
    mysql_options(db->mysql, MYSQL_OPT_WRITE_TIMEOUT, &write_timeout);
    mysql_options(db->mysql, MYSQL_OPT_RECONNECT, &off); /* we reconnect ourselves */
    mysql_options(db->mysql, MYSQL_SET_CHARSET_NAME, "utf8mb4");
    /* each init command runs at every (re)connect; the isolation level is set with
     * its own statement because MariaDB and MySQL 8 name the variable differently */
    mysql_options(db->mysql, MYSQL_INIT_COMMAND,
                  "SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED");
    mysql_options(db->mysql, MYSQL_INIT_COMMAND, "SET time_zone = '+00:00'");
    if (!mysql_real_connect(db->mysql, c->mysql_host, c->mysql_user, c->mysql_password,
                            c->mysql_database, (unsigned)c->mysql_port,
                            c->mysql_socket[0] ? c->mysql_socket : NULL, 0)) {
        int rc = mysql_fail(db);
        mysql_close(db->mysql);
        db->mysql = NULL;
        /* a refused or missing server is worth retrying whatever the code says */
        return rc == SAGA_ERR_INTERNAL && db->last_errno >= 2000 ? SAGA_ERR_TRANSIENT : rc;
    }
    db->connected = true;
    return SAGA_OK;
}

int db_stmt_connect(saga_db *db)
{
    if (db->connected)
        return SAGA_OK;
    if (db->in_tx) {
        db->last_errno = CR_SERVER_LOST;
        snprintf(db->last_error, sizeof(db->last_error), "connection lost in a transaction");
        return SAGA_ERR_TRANSIENT;
    }
    int rc = connect_db(db);
    if (rc == SAGA_OK)
        LOG_INFO("db.reconnected", "reconnected to %s:%d/%s", db->cfg.mysql_host,
                 db->cfg.mysql_port, db->cfg.mysql_database);
    return rc;
}

saga_db *saga_db_open(const saga_config *cfg, char *err, size_t errlen)
{
    saga_db *db = calloc(1, sizeof(*db));
    if (!db) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    db->cfg = *cfg;
    if (connect_db(db) != SAGA_OK) {
        snprintf(err, errlen, "cannot connect to mysql at %s:%d as %s: %s", cfg->mysql_host,
                 cfg->mysql_port, cfg->mysql_user, db->last_error);
        saga_db_close(db);
        return NULL;
    }
    return db;
}

void saga_db_close(saga_db *db)
{
    if (!db)
        return;
    disconnect(db);
    free(db);
}

unsigned saga_db_errno(const saga_db *db)
{
    return db->last_errno;
}

const char *saga_db_error(const saga_db *db)
{
    return db->last_error;
}

static int simple_query(saga_db *db, const char *sql)
{
    if (mysql_real_query(db->mysql, sql, strlen(sql)) != 0)
        return mysql_fail(db);
    return SAGA_OK;
}

int saga_db_begin(saga_db *db)
{
    int rc;
    if (db->in_tx)
        saga_db_rollback(db);
    if ((rc = db_stmt_connect(db)))
        return rc;
    rc = simple_query(db, "START TRANSACTION");
    /* a connection that died while idle (the server restarted) is only noticed
     * now; nothing was done on it, so reconnect and try once more */
    if (rc && !db->connected && (rc = db_stmt_connect(db)) == SAGA_OK)
        rc = simple_query(db, "START TRANSACTION");
    if (rc)
        return rc;
    intercept_tx_end(db);
    db->in_tx = true;
    db->nafter_commit = 0;
    db->tx_serial++;
    return SAGA_OK;
}

int saga_db_commit(saga_db *db)
{
    int rc;

    if (!db->connected) {
        db->in_tx = false;
        return record_error(db, CR_SERVER_LOST, "connection lost before commit");
    }
    rc = simple_query(db, "COMMIT");
    intercept_tx_end(db);
    db->in_tx = false;
    /* The connection dropped while COMMIT was on its way: the server may or may not
     * have committed. Not SAGA_ERR_TRANSIENT, so that no caller re-runs the
     * transaction blindly (a top-up applied twice); the consumer retries its batch
     * anyway, which the inbox makes safe. */
    if (rc == SAGA_ERR_TRANSIENT && errno_is_connection_loss(db->last_errno))
        rc = SAGA_ERR_UNAVAILABLE;
    size_t nafter = rc == SAGA_OK ? db->nafter_commit : 0;
    db->nafter_commit = 0;
    for (size_t i = 0; i < nafter; i++)
        db->after_commit[i].fn(db->after_commit[i].ud);
    return rc;
}

void saga_db_rollback(saga_db *db)
{
    if (db->connected && simple_query(db, "ROLLBACK") != SAGA_OK)
        db->connected = false; /* the server rolls back a dropped connection */
    intercept_tx_end(db);
    db->in_tx = false;
    db->nafter_commit = 0;
}

int saga_db_transaction(saga_db *db, int attempts, saga_tx_fn fn, void *ud)
{
    /* per thread: two requests that deadlocked each other draw different pauses */
    static _Thread_local unsigned seed;
    int rc = SAGA_ERR_TRANSIENT;

    if (!seed)
        seed = saga_backoff_seed(&seed);
    for (int attempt = 0; attempt < attempts && rc == SAGA_ERR_TRANSIENT; attempt++) {
        if (attempt > 0) /* 5-10, 10-20, 20-40 ms ... up to 200 */
            usleep((useconds_t)saga_backoff_ms((unsigned)attempt - 1, 10, 200, &seed) * 1000);
        if ((rc = saga_db_begin(db)) != SAGA_OK)
            continue;
        if ((rc = fn(db, ud)) == SAGA_OK)
            rc = saga_db_commit(db);
        else
            saga_db_rollback(db);
    }
    return rc;
}

bool saga_db_in_transaction(const saga_db *db)
{
    return db->in_tx;
}

unsigned long long saga_db_tx_serial(const saga_db *db)
{
    return db->tx_serial;
}

void saga_db_set_commit_hook(saga_db *db, void (*fn)(void *ud), void *ud)
{
    db->commit_hook = fn;
    db->commit_hook_ud = ud;
}

int saga_db_after_commit(saga_db *db, void (*fn)(void *ud), void *ud)
{
    if (!db->in_tx) {
        fn(ud);
        return SAGA_OK;
    }
    for (size_t i = 0; i < db->nafter_commit; i++)
        if (db->after_commit[i].fn == fn && db->after_commit[i].ud == ud)
            return SAGA_OK;
    if (db->nafter_commit == AFTER_COMMIT_MAX)
        return SAGA_ERR_NOMEM;
    db->after_commit[db->nafter_commit].fn = fn;
    db->after_commit[db->nafter_commit].ud = ud;
    db->nafter_commit++;
    return SAGA_OK;
}

void saga_db_mark_outbox(saga_db *db)
{
    /* in autocommit the row is already visible: the hook runs at once */
    if (db->commit_hook)
        saga_db_after_commit(db, db->commit_hook, db->commit_hook_ud);
}

MYSQL *db_stmt_mysql(saga_db *db)
{
    return db->mysql;
}

int db_stmt_get(saga_db *db, const char *sql, MYSQL_STMT **out)
{
    cached_stmt *slot = &db->cache[0];
    int rc;

    for (size_t i = 0; i < STMT_CACHE_SIZE; i++) {
        cached_stmt *c = &db->cache[i];
        if (c->sql && strcmp(c->sql, sql) == 0) {
            c->last_used = ++db->use_clock;
            *out = c->stmt;
            return SAGA_OK;
        }
        if (!c->sql || (slot->sql && c->last_used < slot->last_used))
            slot = c; /* an empty slot, else the least recently used */
    }
    if (slot->stmt)
        mysql_stmt_close(slot->stmt);
    free(slot->sql);
    *slot = (cached_stmt){0};

    MYSQL_STMT *stmt = mysql_stmt_init(db->mysql);
    if (!stmt)
        return mysql_fail(db);
    if (mysql_stmt_prepare(stmt, sql, strlen(sql)) != 0) {
        rc = db_stmt_fail(db, stmt);
        mysql_stmt_close(stmt);
        if (rc == SAGA_ERR_INTERNAL)
            LOG_ERROR("db.prepare_failed", "cannot prepare [%s]: %s", sql, db->last_error);
        return rc;
    }
    my_bool update_max = 1;
    mysql_stmt_attr_set(stmt, STMT_ATTR_UPDATE_MAX_LENGTH, &update_max);
    slot->sql = strdup(sql);
    if (!slot->sql) {
        mysql_stmt_close(stmt);
        return SAGA_ERR_NOMEM;
    }
    slot->stmt = stmt;
    slot->last_used = ++db->use_clock;
    *out = stmt;
    return SAGA_OK;
}

int db_stmt_param_count_check(saga_db *db, MYSQL_STMT *stmt, size_t nparams)
{
    if (mysql_stmt_param_count(stmt) == nparams)
        return SAGA_OK;
    snprintf(db->last_error, sizeof(db->last_error), "statement takes %lu parameters, %zu given",
             (unsigned long)mysql_stmt_param_count(stmt), nparams);
    db->last_errno = 0;
    return SAGA_ERR_INTERNAL;
}

static int stmt_bind_params(saga_db *db, MYSQL_STMT *stmt, const saga_param *params,
                            size_t nparams, MYSQL_BIND *binds)
{
    int rc = db_stmt_param_count_check(db, stmt, nparams);
    if (rc)
        return rc;
    if (nparams == 0)
        return SAGA_OK;
    memset(binds, 0, sizeof(*binds) * nparams);
    for (size_t i = 0; i < nparams; i++) {
        const saga_param *p = &params[i];
        MYSQL_BIND *b = &binds[i];
        switch (p->type) {
        case SAGA_PARAM_NULL:
            b->buffer_type = MYSQL_TYPE_NULL;
            break;
        case SAGA_PARAM_I64:
            b->buffer_type = MYSQL_TYPE_LONGLONG;
            b->buffer = (void *)&p->i64;
            break;
        case SAGA_PARAM_STR:
            b->buffer_type = MYSQL_TYPE_STRING;
            b->buffer = (void *)p->ptr;
            b->buffer_length = p->len;
            b->length_value = p->len; /* MariaDB: used when length is NULL */
            break;
        case SAGA_PARAM_BLOB:
            b->buffer_type = MYSQL_TYPE_BLOB;
            b->buffer = (void *)p->ptr;
            b->buffer_length = p->len;
            b->length_value = p->len;
            break;
        case SAGA_PARAM_UUID:
            if (!p->i64) {
                snprintf(db->last_error, sizeof(db->last_error),
                         "parameter %zu is not a UUID in canonical form", i + 1);
                db->last_errno = 0;
                return SAGA_ERR_INVALID;
            }
            b->buffer_type = MYSQL_TYPE_BLOB;
            b->buffer = (void *)p->uuid;
            b->buffer_length = sizeof(p->uuid);
            b->length_value = sizeof(p->uuid);
            break;
        }
    }
    if (mysql_stmt_bind_param(stmt, binds) != 0)
        return db_stmt_fail(db, stmt);
    return SAGA_OK;
}

/* Prepares (or reuses), binds and executes. On a statement-level failure that is
 * not a lost connection the cached statement is dropped, so a schema change
 * cannot leave a stale one behind. */
int db_stmt_run(saga_db *db, const char *sql, const saga_param *params, size_t nparams,
                MYSQL_STMT **out)
{
    MYSQL_BIND stack_binds[16];
    MYSQL_BIND *binds = stack_binds;
    MYSQL_STMT *stmt = NULL;
    int rc;

    if ((rc = db_stmt_connect(db)))
        return rc;
    if ((rc = db_stmt_get(db, sql, &stmt)))
        return rc;
    if (nparams > 16) {
        binds = calloc(nparams, sizeof(*binds));
        if (!binds)
            return SAGA_ERR_NOMEM;
    }
    rc = stmt_bind_params(db, stmt, params, nparams, binds);
    if (rc == SAGA_OK && mysql_stmt_execute(stmt) != 0)
        rc = db_stmt_fail(db, stmt);
    if (binds != stack_binds)
        free(binds);
    if (rc == SAGA_OK)
        *out = stmt;
    return rc;
}

int saga_db_exec(saga_db *db, const char *sql, const saga_param *params, size_t nparams,
                 uint64_t *affected, uint64_t *insert_id)
{
    MYSQL_STMT *stmt = NULL;
    int rc = intercept_before(db, sql);
    if (rc)
        return rc;
    intercept_written(db, sql, params, nparams);
    rc = db_stmt_run(db, sql, params, nparams, &stmt);
    if (rc)
        return rc;
    if (affected)
        *affected = mysql_stmt_affected_rows(stmt);
    if (insert_id)
        *insert_id = mysql_stmt_insert_id(stmt);
    /* a statement that returns rows (SELECT GET_LOCK()) must have them read */
    if (mysql_stmt_field_count(stmt) > 0)
        mysql_stmt_free_result(stmt);
    return SAGA_OK;
}

size_t saga_db_in_list(char *sql, size_t sqllen, const char *head, size_t n, const char *tail)
{
    size_t shape = 1;

    if (n == 0 || n > SAGA_DB_IN_LIST_MAX)
        return 0;
    while (shape < n)
        shape *= 2;
    return saga_db_sql_list(sql, sqllen, head, "?", shape, tail) ? shape : 0;
}

size_t saga_row_count(const saga_row *row)
{
    return row->ncols;
}

bool saga_row_is_null(const saga_row *row, size_t col)
{
    return col >= row->ncols || row->nulls[col];
}

const char *saga_row_str(const saga_row *row, size_t col)
{
    if (saga_row_is_null(row, col))
        return NULL;
    return row->binds[col].buffer;
}

size_t saga_row_len(const saga_row *row, size_t col)
{
    return saga_row_is_null(row, col) ? 0 : row->lengths[col];
}

long long saga_row_i64(const saga_row *row, size_t col)
{
    const char *s = saga_row_str(row, col);
    return s ? strtoll(s, NULL, 10) : 0;
}

int saga_db_query(saga_db *db, const char *sql, const saga_param *params, size_t nparams,
                  saga_row_fn fn, void *ud)
{
    MYSQL_STMT *stmt = NULL;
    MYSQL_RES *meta = NULL;
    saga_row row = {0};
    int rc;

    /* rows a write batch keeps for a table the query reads */
    if ((rc = intercept_before(db, sql)))
        return rc;
    rc = db_stmt_run(db, sql, params, nparams, &stmt);

    /* outside a transaction a query on a connection that died while idle is
     * simply run again on a new one (queries change nothing) */
    if (rc == SAGA_ERR_TRANSIENT && !db->in_tx && !db->connected)
        rc = db_stmt_run(db, sql, params, nparams, &stmt);

    if (rc)
        return rc;
    meta = mysql_stmt_result_metadata(stmt);
    if (!meta) {
        rc = SAGA_OK; /* no result set */
        goto out;
    }
    if (mysql_stmt_store_result(stmt) != 0) {
        rc = db_stmt_fail(db, stmt);
        goto out;
    }
    row.ncols = mysql_num_fields(meta);
    row.binds = calloc(row.ncols, sizeof(*row.binds));
    row.lengths = calloc(row.ncols, sizeof(*row.lengths));
    row.nulls = calloc(row.ncols, sizeof(*row.nulls));
    if (!row.binds || !row.lengths || !row.nulls) {
        rc = SAGA_ERR_NOMEM;
        goto out;
    }
    MYSQL_FIELD *fields = mysql_fetch_fields(meta);
    for (size_t i = 0; i < row.ncols; i++) {
        /* max_length is exact after store_result; +1 for our NUL, and room for
         * numbers converted to text */
        unsigned long size = fields[i].max_length + 1;
        if (size < 32)
            size = 32;
        row.binds[i].buffer_type = MYSQL_TYPE_STRING;
        row.binds[i].buffer = malloc(size);
        if (!row.binds[i].buffer) {
            rc = SAGA_ERR_NOMEM;
            goto out;
        }
        row.binds[i].buffer_length = size;
        row.binds[i].length = &row.lengths[i];
        row.binds[i].is_null = &row.nulls[i];
    }
    if (mysql_stmt_bind_result(stmt, row.binds) != 0) {
        rc = db_stmt_fail(db, stmt);
        goto out;
    }
    for (;;) {
        int f = mysql_stmt_fetch(stmt);
        if (f == MYSQL_NO_DATA)
            break;
        if (f == 1) {
            rc = db_stmt_fail(db, stmt);
            goto out;
        }
        for (size_t i = 0; i < row.ncols; i++) {
            if (!row.nulls[i])
                ((char *)row.binds[i].buffer)[row.lengths[i]] = '\0';
        }
        if ((rc = fn(&row, ud)) != 0)
            goto out;
    }
out:
    if (stmt)
        mysql_stmt_free_result(stmt);
    if (meta)
        mysql_free_result(meta);
    for (size_t i = 0; row.binds && i < row.ncols; i++)
        free(row.binds[i].buffer);
    free(row.binds);
    free(row.lengths);
    free(row.nulls);
    return rc;
}

typedef struct one_row {
    saga_row_fn fn;
    void *ud;
    bool seen;
    int rc;
} one_row;

static int one_row_cb(const saga_row *row, void *ud)
{
    one_row *one = ud;
    one->seen = true;
    one->rc = one->fn ? one->fn(row, one->ud) : 0;
    return 1; /* stop after the first row */
}

/* What a query for one row returns, after the query's own rc. */
static int one_row_result(const one_row *one, int rc)
{
    if (one->seen)
        return one->rc;
    return rc == SAGA_OK ? SAGA_ERR_NOT_FOUND : rc;
}

int saga_db_query_one(saga_db *db, const char *sql, const saga_param *params, size_t nparams,
                      saga_row_fn fn, void *ud)
{
    one_row one = {.fn = fn, .ud = ud};
    int rc = saga_db_query(db, sql, params, nparams, one_row_cb, &one);
    return one_row_result(&one, rc);
}

static int first_i64(const saga_row *row, void *ud)
{
    long long *out = ud;
    *out = saga_row_i64(row, 0);
    return 0;
}

int saga_db_query_i64(saga_db *db, const char *sql, const saga_param *params, size_t nparams,
                      long long *out)
{
    return saga_db_query_one(db, sql, params, nparams, first_i64, out);
}

int saga_db_exec_script(saga_db *db, const char *sql)
{
    int rc;
    if ((rc = db_stmt_connect(db)))
        return rc;
    mysql_set_server_option(db->mysql, MYSQL_OPTION_MULTI_STATEMENTS_ON);
    if (mysql_real_query(db->mysql, sql, strlen(sql)) != 0) {
        rc = mysql_fail(db);
        goto out;
    }
    for (;;) {
        MYSQL_RES *res = mysql_store_result(db->mysql);
        if (res)
            mysql_free_result(res);
        int next = mysql_next_result(db->mysql);
        if (next == -1)
            break;
        if (next > 0) {
            rc = mysql_fail(db);
            goto out;
        }
    }
out:
    if (db->connected)
        mysql_set_server_option(db->mysql, MYSQL_OPTION_MULTI_STATEMENTS_OFF);
    return rc;
}

unsigned long saga_db_connection_id(saga_db *db)
{
    return db->connected ? mysql_thread_id(db->mysql) : 0;
}

bool saga_db_ping(saga_db *db)
{
    long long one = 0;
    if (db->in_tx)
        return db->connected;
    return saga_db_query_i64(db, "SELECT 1", NULL, 0, &one) == SAGA_OK && one == 1;
}

/* --- writes that may be kept, reads that may be answered (interceptors) --- */

int saga_db_intercept(saga_db *db, const saga_db_interceptor *ic)
{
    for (size_t i = 0; ic && i < db->ninterceptors; i++)
        if (db->interceptors[i] == ic)
            return SAGA_OK;
    if (!ic)
        return SAGA_OK;
    if (db->ninterceptors == SAGA_DB_INTERCEPTORS_MAX)
        return SAGA_ERR_NOMEM;
    db->interceptors[db->ninterceptors++] = ic;
    return SAGA_OK;
}

void saga_db_unintercept(saga_db *db, const saga_db_interceptor *ic)
{
    for (size_t i = 0; ic && i < db->ninterceptors; i++) {
        if (db->interceptors[i] != ic)
            continue;
        db->ninterceptors--;
        memmove(&db->interceptors[i], &db->interceptors[i + 1],
                (db->ninterceptors - i) * sizeof(*db->interceptors));
        return;
    }
}

/* Asks db's interceptors to keep w: *kept if one did (the others are told of the
 * write). */
static int write_keep(saga_db *db, const saga_db_write *w, bool *kept)
{
    *kept = false;
    for (size_t i = 0; i < db->ninterceptors && !*kept; i++) {
        const saga_db_interceptor *ic = db->interceptors[i];
        int rc = ic->keep ? ic->keep(ic->ud, db, w, kept) : SAGA_OK;
        if (rc)
            return rc;
    }
    if (*kept)
        intercept_written(db, w->sql, w->params, w->nparams);
    return SAGA_OK;
}

int saga_db_insert(saga_db *db, const char *insert, const char *row, const saga_param *params,
                   size_t nparams)
{
    saga_db_write w = {.kind = SAGA_DB_WRITE_INSERT,
                       .sql = insert,
                       .row = row,
                       .params = params,
                       .nparams = nparams};
    char sql[INSERT_SQL_MAX];
    bool kept;
    int rc;

    if (nparams > SAGA_DB_WRITE_PARAMS_MAX)
        return SAGA_ERR_INVALID;
    if ((rc = write_keep(db, &w, &kept)) || kept)
        return rc;
    if ((size_t)snprintf(sql, sizeof(sql), "%s%s", insert, row) >= sizeof(sql))
        return SAGA_ERR_INVALID;
    return saga_db_exec(db, sql, params, nparams, NULL, NULL);
}

static int update(saga_db *db, saga_db_write_kind kind, const char *sql, const saga_param *params,
                  size_t nparams, size_t key)
{
    saga_db_write w = {.kind = kind, .sql = sql, .params = params, .nparams = nparams, .key = key};
    uint64_t affected = 0;
    bool kept;
    int rc;

    if (nparams > SAGA_DB_WRITE_PARAMS_MAX || key >= nparams || !saga_param_has_text(&params[key]))
        return SAGA_ERR_INVALID;
    if ((rc = write_keep(db, &w, &kept)) || kept)
        return rc;
    if ((rc = saga_db_exec(db, sql, params, nparams, &affected, NULL)))
        return rc;
    return kind == SAGA_DB_WRITE_UPDATE_ONE && affected != 1 ? SAGA_ERR_CONFLICT : SAGA_OK;
}

int saga_db_update(saga_db *db, const char *sql, const saga_param *params, size_t nparams,
                   size_t key)
{
    return update(db, SAGA_DB_WRITE_UPDATE, sql, params, nparams, key);
}

int saga_db_update_one(saga_db *db, const char *sql, const saga_param *params, size_t nparams,
                       size_t key)
{
    return update(db, SAGA_DB_WRITE_UPDATE_ONE, sql, params, nparams, key);
}

int saga_db_prefetch(saga_db *db, const saga_prefetch_query *q, const char *const *keys, size_t n)
{
    for (size_t i = 0; i < db->ninterceptors; i++) {
        const saga_db_interceptor *ic = db->interceptors[i];
        if (ic->prefetch)
            return ic->prefetch(ic->ud, db, q, keys, n);
    }
    /* the rows would be read and dropped: a consumer that forgot its saga_prefetch */
    db->last_errno = 0;
    snprintf(db->last_error, sizeof(db->last_error), "no interceptor keeps the rows of %s",
             q->table);
    return SAGA_ERR_INVALID;
}

int saga_db_query_prefetched(saga_db *db, const saga_prefetch_query *q, const char *key,
                             saga_row_fn fn, void *ud)
{
    saga_param p = q->uuid_key ? SAGA_P_UUID(key) : SAGA_P_STR(key);
    int rc;

    for (size_t i = 0; key && i < db->ninterceptors; i++) {
        const saga_db_interceptor *ic = db->interceptors[i];
        if (ic->answer && ic->answer(ic->ud, q, key, fn, ud, &rc))
            return rc;
    }
    return saga_db_query(db, q->point_sql, &p, 1, fn, ud);
}

int saga_db_query_one_prefetched(saga_db *db, const saga_prefetch_query *q, const char *key,
                                 saga_row_fn fn, void *ud)
{
    one_row one = {.fn = fn, .ud = ud};
    int rc = saga_db_query_prefetched(db, q, key, one_row_cb, &one);
    return one_row_result(&one, rc);
}
