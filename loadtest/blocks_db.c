/* blocks_db.c - durable MariaDB commits of a saga step's rows, without the services.
 *
 * A step is what a consumer does per event: claim the event id in the inbox (INSERT
 * IGNORE), change the order's state row (INSERT ... ON DUPLICATE KEY UPDATE: a
 * saga touches its row about seven times, so one step in seven inserts it and the
 * others update it), add one outbox row (a ~500-byte event). The tables mirror
 * deploy/mysql/common (inbox, outbox) plus a small state table, in a scratch
 * database of their own. Each thread has its own connection and its own orders, so
 * the threads never wait on each other's rows: what is measured is the commit path. */
#include "blocks.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mysql.h>

#define STEPS_PER_ORDER 7
#define OUTBOX_PAYLOAD_BYTES 500
#define SQL_MAX (1024 * 1024)

#define ER_LOCK_WAIT_TIMEOUT 1205
#define ER_LOCK_DEADLOCK 1213

static MYSQL *db_connect(const blocks_opts *o, const char *database, char *err, size_t errlen)
{
    MYSQL *db = mysql_init(NULL);
    if (!db) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    const char *host = o->mysql_host ? o->mysql_host : "localhost";
    const char *sock = o->mysql_host ? NULL : o->mysql_socket;
    if (!mysql_real_connect(db, host, o->mysql_user, o->mysql_password, database, o->mysql_port,
                            sock, 0)) {
        snprintf(err, errlen, "cannot connect to MariaDB (%s): %s", sock ? sock : host,
                 mysql_error(db));
        mysql_close(db);
        return NULL;
    }
    return db;
}

static int db_exec(MYSQL *db, const char *sql, size_t len, char *err, size_t errlen)
{
    if (mysql_real_query(db, sql, len)) {
        snprintf(err, errlen, "%s (in: %.80s)", mysql_error(db), sql);
        return -1;
    }
    /* INSERTs return no rows, but drain anything a statement returned */
    MYSQL_RES *res = mysql_store_result(db);
    if (res)
        mysql_free_result(res);
    return 0;
}

static long db_variable(MYSQL *db, const char *name)
{
    char sql[128];
    long v = -1;
    snprintf(sql, sizeof(sql), "SELECT @@%s", name);
    if (mysql_query(db, sql))
        return -1;
    MYSQL_RES *res = mysql_store_result(db);
    MYSQL_ROW row = res ? mysql_fetch_row(res) : NULL;
    if (row && row[0])
        v = strtol(row[0], NULL, 10);
    if (res)
        mysql_free_result(res);
    return v;
}

int blocks_db_info_read(const blocks_opts *o, blocks_db_info *info)
{
    MYSQL *db = db_connect(o, NULL, info->error, sizeof(info->error));
    if (!db)
        return -1;
    snprintf(info->version, sizeof(info->version), "%s", mysql_get_server_info(db));
    info->flush_log_at_trx_commit = db_variable(db, "innodb_flush_log_at_trx_commit");
    info->sync_binlog = db_variable(db, "sync_binlog");
    info->log_bin = db_variable(db, "log_bin");
    mysql_close(db);
    return 0;
}

int blocks_db_prepare(const blocks_opts *o, char *err, size_t errlen)
{
    char sql[4096];
    int rc = -1;
    MYSQL *db = db_connect(o, NULL, err, errlen);
    if (!db)
        return -1;
    /* the name goes into SQL: keep it to a plain identifier */
    if (strspn(o->database, "abcdefghijklmnopqrstuvwxyz0123456789_") != strlen(o->database)) {
        snprintf(err, errlen, "scratch database name '%s' is not [a-z0-9_]+", o->database);
        goto out;
    }
    snprintf(sql, sizeof(sql), "DROP DATABASE IF EXISTS %s", o->database);
    if (db_exec(db, sql, strlen(sql), err, errlen))
        goto out;
    snprintf(sql, sizeof(sql), "CREATE DATABASE %s", o->database);
    if (db_exec(db, sql, strlen(sql), err, errlen) || mysql_select_db(db, o->database))
        goto out;
    static const char *const tables[] = {
        "CREATE TABLE inbox (event_id VARCHAR(64) CHARACTER SET ascii NOT NULL PRIMARY KEY,"
        " event_type VARCHAR(64) NULL,"
        " received_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),"
        " KEY inbox_received_at (received_at)) ENGINE=InnoDB",
        "CREATE TABLE orders (id VARCHAR(36) CHARACTER SET ascii NOT NULL PRIMARY KEY,"
        " status VARCHAR(20) NOT NULL, amount BIGINT NULL, steps INT NOT NULL,"
        " updated_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3)) ENGINE=InnoDB",
        "CREATE TABLE outbox (id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,"
        " topic VARCHAR(249) NOT NULL, msg_key VARBINARY(255) NULL, payload LONGBLOB NOT NULL,"
        " headers BLOB NULL, created_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3))"
        " ENGINE=InnoDB",
    };
    for (size_t i = 0; i < sizeof(tables) / sizeof(tables[0]); i++)
        if (db_exec(db, tables[i], strlen(tables[i]), err, errlen))
            goto out;
    rc = 0;
out:
    mysql_close(db);
    return rc;
}

void blocks_db_cleanup(const blocks_opts *o)
{
    char err[256], sql[256];
    if (o->keep_database)
        return;
    MYSQL *db = db_connect(o, NULL, err, sizeof(err));
    if (!db)
        return;
    snprintf(sql, sizeof(sql), "DROP DATABASE IF EXISTS %s", o->database);
    db_exec(db, sql, strlen(sql), err, sizeof(err));
    mysql_close(db);
}

/* ---- one measurement ----------------------------------------------------------- */

typedef struct db_shared {
    const blocks_opts *o;
    const blocks_db_result *spec;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    unsigned ready; /* threads connected */
    int go;         /* 1: start, -1: a thread failed to connect */
    double start, deadline;
} db_shared;

typedef struct db_worker {
    db_shared *sh;
    unsigned id;
    pthread_t thread;
    unsigned long long steps, commits, retries;
    double *lat_ms; /* one per commit */
    size_t nlat, caplat;
    char error[200]; /* shorter than the result's, which prefixes "connection N: " */
} db_worker;

typedef struct sqlbuf {
    char *p;
    size_t len;
} sqlbuf;

static void sql_add(sqlbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sql_add(sqlbuf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(b->p + b->len, SQL_MAX - b->len, fmt, ap);
    va_end(ap);
    if (n > 0)
        b->len += (size_t)n < SQL_MAX - b->len ? (size_t)n : SQL_MAX - b->len - 1;
}

static const char INBOX_SQL[] = "INSERT IGNORE INTO inbox (event_id, event_type) VALUES ";
static const char ORDERS_SQL[] = "INSERT INTO orders (id, status, amount, steps) VALUES ";
static const char ORDERS_UPSERT[] = " ON DUPLICATE KEY UPDATE status = VALUES(status),"
                                    " amount = VALUES(amount), steps = steps + 1,"
                                    " updated_at = CURRENT_TIMESTAMP(3)";
static const char OUTBOX_SQL[] = "INSERT INTO outbox (topic, msg_key, payload, headers) VALUES ";

/* The values of one step's three rows (step n of worker w). */
static void step_inbox(sqlbuf *b, unsigned w, unsigned long long n)
{
    sql_add(b, "('evt-%02u-%012llu','InventoryReserved')", w, n);
}

static void step_order(sqlbuf *b, unsigned w, unsigned long long n)
{
    sql_add(b, "('ord-%02u-%012llu','AWAITING_PAYMENT',%llu,1)", w, n / STEPS_PER_ORDER,
            100 + n % 9900);
}

static void step_outbox(sqlbuf *b, unsigned w, unsigned long long n, const char *payload)
{
    sql_add(b,
            "('payment-events','ord-%02u-%012llu','%s',"
            "'{\"traceparent\":\"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01\"}')",
            w, n / STEPS_PER_ORDER, payload);
}

static int worker_send(db_worker *wk, MYSQL *db, sqlbuf *b)
{
    if (mysql_real_query(db, b->p, b->len)) {
        snprintf(wk->error, sizeof(wk->error), "%s", mysql_error(db));
        return (int)mysql_errno(db);
    }
    MYSQL_RES *res = mysql_store_result(db);
    if (res)
        mysql_free_result(res);
    b->len = 0;
    return 0;
}

/* One transaction of `steps` steps starting at step n. Returns 0 or the error code. */
static int worker_tx(db_worker *wk, MYSQL *db, sqlbuf *b, unsigned long long n, unsigned steps,
                     int multi_row, const char *payload)
{
    int rc;
    unsigned w = wk->id;
    b->len = 0;
    if (multi_row) {
        sql_add(b, "%s", INBOX_SQL);
        for (unsigned i = 0; i < steps; i++) {
            sql_add(b, i ? "," : "");
            step_inbox(b, w, n + i);
        }
        if ((rc = worker_send(wk, db, b)))
            return rc;
        sql_add(b, "%s", ORDERS_SQL);
        for (unsigned i = 0; i < steps; i++) {
            sql_add(b, i ? "," : "");
            step_order(b, w, n + i);
        }
        sql_add(b, "%s", ORDERS_UPSERT);
        if ((rc = worker_send(wk, db, b)))
            return rc;
        sql_add(b, "%s", OUTBOX_SQL);
        for (unsigned i = 0; i < steps; i++) {
            sql_add(b, i ? "," : "");
            step_outbox(b, w, n + i, payload);
        }
        if ((rc = worker_send(wk, db, b)))
            return rc;
    } else {
        for (unsigned i = 0; i < steps; i++) {
            sql_add(b, "%s", INBOX_SQL);
            step_inbox(b, w, n + i);
            if ((rc = worker_send(wk, db, b)))
                return rc;
            sql_add(b, "%s", ORDERS_SQL);
            step_order(b, w, n + i);
            sql_add(b, "%s", ORDERS_UPSERT);
            if ((rc = worker_send(wk, db, b)))
                return rc;
            sql_add(b, "%s", OUTBOX_SQL);
            step_outbox(b, w, n + i, payload);
            if ((rc = worker_send(wk, db, b)))
                return rc;
        }
    }
    if (mysql_commit(db)) {
        snprintf(wk->error, sizeof(wk->error), "COMMIT: %s", mysql_error(db));
        return (int)mysql_errno(db);
    }
    return 0;
}

static void worker_lat_add(db_worker *wk, double ms)
{
    if (wk->nlat == wk->caplat) {
        size_t cap = wk->caplat ? wk->caplat * 2 : 4096;
        double *p = realloc(wk->lat_ms, cap * sizeof(*p));
        if (!p)
            return; /* a sample less; the counts stay exact */
        wk->lat_ms = p;
        wk->caplat = cap;
    }
    wk->lat_ms[wk->nlat++] = ms;
}

static void *worker_main(void *arg)
{
    db_worker *wk = arg;
    db_shared *sh = wk->sh;
    char payload[OUTBOX_PAYLOAD_BYTES + 1];
    sqlbuf b = {malloc(SQL_MAX), 0};
    MYSQL *db;

    mysql_thread_init();
    /* a CloudEvent-sized payload without quotes or backslashes to escape */
    for (size_t i = 0; i < OUTBOX_PAYLOAD_BYTES; i++)
        payload[i] = (char)('a' + i % 26);
    payload[OUTBOX_PAYLOAD_BYTES] = '\0';

    db = b.p ? db_connect(sh->o, sh->o->database, wk->error, sizeof(wk->error)) : NULL;
    if (db && mysql_autocommit(db, 0)) {
        snprintf(wk->error, sizeof(wk->error), "autocommit off: %s", mysql_error(db));
        mysql_close(db);
        db = NULL;
    }
    if (!b.p)
        snprintf(wk->error, sizeof(wk->error), "out of memory");

    pthread_mutex_lock(&sh->lock);
    sh->ready++;
    if (!db)
        sh->go = -1;
    pthread_cond_broadcast(&sh->cond);
    while (sh->go == 0)
        pthread_cond_wait(&sh->cond, &sh->lock);
    int go = sh->go;
    pthread_mutex_unlock(&sh->lock);

    unsigned long long n = 0;
    unsigned steps = sh->spec->steps_per_tx;
    while (go > 0 && db) {
        double t0 = blocks_now();
        if (t0 >= sh->deadline)
            break;
        int rc = worker_tx(wk, db, &b, n, steps, sh->spec->multi_row, payload);
        if (rc == ER_LOCK_DEADLOCK || rc == ER_LOCK_WAIT_TIMEOUT) {
            mysql_rollback(db);
            wk->retries++;
            wk->error[0] = '\0';
            continue;
        }
        if (rc) {
            mysql_rollback(db);
            break;
        }
        double t1 = blocks_now();
        n += steps;
        wk->steps += steps;
        wk->commits++;
        worker_lat_add(wk, (t1 - t0) * 1000.0);
    }
    if (db)
        mysql_close(db);
    free(b.p);
    mysql_thread_end();
    return NULL;
}

int blocks_db_measure(const blocks_opts *o, blocks_db_result *r)
{
    db_shared sh = {.o = o, .spec = r};
    db_worker *wk = calloc(r->connections, sizeof(*wk));
    unsigned started = 0;
    int rc = -1;

    r->error[0] = '\0';
    if (!wk) {
        snprintf(r->error, sizeof(r->error), "out of memory");
        return -1;
    }
    pthread_mutex_init(&sh.lock, NULL);
    pthread_cond_init(&sh.cond, NULL);
    for (; started < r->connections; started++) {
        wk[started].sh = &sh;
        wk[started].id = started;
        if (pthread_create(&wk[started].thread, NULL, worker_main, &wk[started])) {
            snprintf(r->error, sizeof(r->error), "cannot start a thread");
            break;
        }
    }
    /* every connection is open before the clock starts */
    pthread_mutex_lock(&sh.lock);
    while (sh.ready < started)
        pthread_cond_wait(&sh.cond, &sh.lock);
    if (started < r->connections)
        sh.go = -1;
    if (sh.go == 0) {
        sh.start = blocks_now();
        sh.deadline = sh.start + o->seconds;
        sh.go = 1;
    }
    pthread_cond_broadcast(&sh.cond);
    pthread_mutex_unlock(&sh.lock);

    size_t nlat = 0;
    for (unsigned i = 0; i < started; i++) {
        pthread_join(wk[i].thread, NULL);
        nlat += wk[i].nlat;
    }
    double end = blocks_now();

    double *lat = malloc((nlat ? nlat : 1) * sizeof(*lat));
    size_t k = 0;
    for (unsigned i = 0; i < started; i++) {
        r->steps += wk[i].steps;
        r->commits += wk[i].commits;
        r->retries += wk[i].retries;
        if (wk[i].error[0] && !r->error[0])
            snprintf(r->error, sizeof(r->error), "connection %u: %s", i, wk[i].error);
        if (lat && wk[i].nlat)
            memcpy(lat + k, wk[i].lat_ms, wk[i].nlat * sizeof(*lat));
        k += wk[i].nlat;
        free(wk[i].lat_ms);
    }
    if (sh.go > 0) {
        r->elapsed_s = end - sh.start;
        if (r->elapsed_s > 0) {
            r->steps_per_s = (double)r->steps / r->elapsed_s;
            r->commits_per_s = (double)r->commits / r->elapsed_s;
        }
        if (lat) {
            r->tx_p50_ms = blocks_quantile(lat, nlat, 0.50);
            r->tx_p99_ms = blocks_quantile(lat, nlat, 0.99);
            r->tx_max_ms = blocks_quantile(lat, nlat, 1.0);
        }
    }
    rc = r->error[0] ? -1 : 0;
    free(lat);
    free(wk);
    pthread_mutex_destroy(&sh.lock);
    pthread_cond_destroy(&sh.cond);
    return rc;
}
