/* check_db_helpers.c - db.h's helpers against real MariaDB: the named lock one
 * instance holds (taken once, refused to a second connection, passed on when the
 * holder's connection dies, lost by the holder on reconnect), a column copied into
 * a buffer (cut and said so, NULL as ""), ids bound and read as their 16 bytes
 * (in the texts' order; another spelling refused, never matched), and the interceptors: which hook
 * each call reaches, in the order they were added, a write kept by one runs no statement and is
 * told to the others, an answered read runs none, a connection holds each interceptor once and at
 * most SAGA_DB_INTERCEPTORS_MAX. */
#include <check.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "saga/envelope.h"
#include "saga/err.h"
#include "testenv.h"

static saga_db *open_db(saga_config *cfg)
{
    char err[512];
    saga_db *db = saga_db_open(cfg, err, sizeof(err));
    ck_assert_msg(db != NULL, "%s", err);
    return db;
}

START_TEST(test_lock_one_holder)
{
    saga_config cfg;
    testenv_config(&cfg, "inbox", "dblock");
    saga_db *a = open_db(&cfg), *b = open_db(&cfg);
    saga_db_lock la = {.name = "leader"}, lb = {.name = "leader"};
    bool taken = false;

    ck_assert(saga_db_lock_hold(a, &la, &taken));
    ck_assert(taken);
    ck_assert(saga_db_lock_held(a, &la));
    ck_assert(saga_db_lock_hold(a, &la, &taken)); /* held already: no new GET_LOCK */
    ck_assert(!taken);
    ck_assert(!saga_db_lock_hold(b, &lb, &taken));
    ck_assert(!taken);
    ck_assert(!saga_db_lock_held(b, &lb));

    /* the lock is "<database>.leader" */
    long long used = 0;
    ck_assert_int_eq(saga_db_query_i64(b, "SELECT IS_USED_LOCK(CONCAT(DATABASE(), '.leader'))",
                                       NULL, 0, &used),
                     SAGA_OK);
    ck_assert_int_eq(used, (long long)saga_db_connection_id(a));

    /* a's connection dies: b takes the lock over */
    char kill[64];
    snprintf(kill, sizeof(kill), "KILL %lu", saga_db_connection_id(a));
    ck_assert_int_eq(saga_db_exec_script(b, kill), SAGA_OK);
    bool b_took = false;
    for (int i = 0; i < 100 && !b_took; i++) {
        b_took = saga_db_lock_hold(b, &lb, &taken);
        if (!b_took)
            usleep(20000);
    }
    ck_assert(b_took);
    ck_assert(taken);

    /* a reconnects on its next statement and no longer holds the lock */
    long long one = 0;
    ck_assert_int_eq(saga_db_query_i64(a, "SELECT 1", NULL, 0, &one), SAGA_OK);
    ck_assert(!saga_db_lock_held(a, &la));
    ck_assert(!saga_db_lock_hold(a, &la, &taken));
    ck_assert(!taken);
    saga_db_close(a);
    saga_db_close(b);
}
END_TEST

static int copy_row(const saga_row *row, void *ud)
{
    int *rcs = ud;
    char small[4], roomy[16];

    rcs[0] = saga_row_copy(row, 0, small, sizeof(small));
    ck_assert_str_eq(small, "abc");
    rcs[1] = saga_row_copy(row, 0, roomy, sizeof(roomy));
    ck_assert_str_eq(roomy, "abcdef");
    rcs[2] = saga_row_copy(row, 1, small, sizeof(small));
    ck_assert_str_eq(small, "");
    rcs[3] = saga_row_copy(row, 2, small, sizeof(small));
    ck_assert_str_eq(small, "xyz");
    return 0;
}

START_TEST(test_row_copy)
{
    saga_config cfg;
    testenv_config(&cfg, "inbox", "dblock");
    saga_db *db = open_db(&cfg);
    int rcs[4] = {-1, -1, -1, -1};

    ck_assert_int_eq(saga_db_query(db, "SELECT 'abcdef', NULL, 'xyz'", NULL, 0, copy_row, rcs),
                     SAGA_OK);
    ck_assert_int_eq(rcs[0], SAGA_ERR_TOO_LARGE); /* cut to 3 bytes, and said so */
    ck_assert_int_eq(rcs[1], SAGA_OK);
    ck_assert_int_eq(rcs[2], SAGA_OK); /* NULL as "" */
    ck_assert_int_eq(rcs[3], SAGA_OK); /* exactly full */
    saga_db_close(db);
}
END_TEST

static int uuid_row(const saga_row *row, void *ud)
{
    char(*texts)[SAGA_TEXT_UUID_LEN + 1] = ud;
    size_t i = 0;
    while (texts[i][0])
        i++;
    ck_assert(saga_row_uuid(row, 0, texts[i]));
    return 0;
}

static int copy_hex(const saga_row *row, void *ud)
{
    ck_assert_int_eq(saga_row_i64(row, 1), 16);
    ck_assert_int_eq(saga_row_copy(row, 0, ud, 40), SAGA_OK);
    return 0;
}

static int not_uuid_row(const saga_row *row, void *ud)
{
    char text[SAGA_TEXT_UUID_LEN + 1] = "x";
    (void)ud;
    ck_assert(!saga_row_uuid(row, 0, text)); /* 3 bytes */
    ck_assert_str_eq(text, "");
    text[0] = 'x';
    ck_assert(!saga_row_uuid(row, 1, text)); /* NULL */
    ck_assert_str_eq(text, "");
    return 0;
}

START_TEST(test_uuid_ids)
{
    saga_config cfg;
    testenv_config(&cfg, "inbox", "dblock");
    saga_db *db = open_db(&cfg);
    char ids[3][SAGA_UUID_LEN + 1], read[4][SAGA_TEXT_UUID_LEN + 1] = {{0}}, hex[40];
    long long n = -1;

    ck_assert_int_eq(saga_db_exec_script(db, "CREATE TABLE ids (id BINARY(16) NOT NULL PRIMARY KEY,"
                                             " n BIGINT NOT NULL, other BINARY(16) NULL)"),
                     SAGA_OK);
    for (int i = 2; i >= 0; i--)
        saga_uuid_v7(ids[2 - i]); /* made in order, inserted last first */
    for (int i = 2; i >= 0; i--) {
        saga_param p[] = {SAGA_P_UUID(ids[i]), SAGA_P_I64(i), SAGA_P_UUID(NULL)};
        ck_assert_int_eq(saga_db_exec(db, "INSERT INTO ids VALUES (?, ?, ?)", p, 3, NULL, NULL),
                         SAGA_OK);
    }
    /* stored as the text's 16 bytes, in the text's order */
    saga_param first[] = {SAGA_P_UUID(ids[0])};
    ck_assert_int_eq(saga_db_query_one(db,
                                       "SELECT LOWER(HEX(id)), LENGTH(id) FROM ids"
                                       " WHERE id = ?",
                                       first, 1, copy_hex, hex),
                     SAGA_OK);
    char expect[33];
    size_t at = 0;
    for (const char *c = ids[0]; *c; c++)
        if (*c != '-')
            expect[at++] = *c;
    expect[at] = '\0';
    ck_assert_str_eq(hex, expect);
    ck_assert_int_eq(saga_db_query(db, "SELECT id FROM ids ORDER BY id", NULL, 0, uuid_row, read),
                     SAGA_OK);
    for (int i = 0; i < 3; i++)
        ck_assert_str_eq(read[i], ids[i]);
    saga_param second[] = {SAGA_P_UUID(ids[1])};
    ck_assert_int_eq(saga_db_query_i64(db, "SELECT n FROM ids WHERE id = ?", second, 1, &n),
                     SAGA_OK);
    ck_assert_int_eq(n, 1);
    ck_assert_int_eq(
        saga_db_query_i64(db, "SELECT COUNT(*) FROM ids WHERE other IS NULL", NULL, 0, &n),
        SAGA_OK);
    ck_assert_int_eq(n, 3); /* a NULL text binds NULL */

    /* another spelling of an id is refused, never matched or stored */
    char upper[SAGA_UUID_LEN + 1];
    for (size_t i = 0; i <= SAGA_UUID_LEN; i++)
        upper[i] = (char)toupper((unsigned char)ids[1][i]);
    const char *wrong[] = {upper, "not-a-uuid", ""};
    for (size_t i = 0; i < 3; i++) {
        saga_param p[] = {SAGA_P_UUID(wrong[i]), SAGA_P_I64(9), SAGA_P_UUID(NULL)};
        ck_assert_int_eq(saga_db_exec(db, "INSERT INTO ids VALUES (?, ?, ?)", p, 3, NULL, NULL),
                         SAGA_ERR_INVALID);
        ck_assert_ptr_nonnull(strstr(saga_db_error(db), "parameter 1 is not a UUID"));
        ck_assert_int_eq(saga_db_query_i64(db, "SELECT n FROM ids WHERE id = ?", p, 1, &n),
                         SAGA_ERR_INVALID);
    }
    ck_assert_int_eq(saga_db_query_i64(db, "SELECT COUNT(*) FROM ids", NULL, 0, &n), SAGA_OK);
    ck_assert_int_eq(n, 3);
    /* a column that is not 16 bytes, or NULL, is not an id */
    ck_assert_int_eq(saga_db_query(db, "SELECT 'abc', NULL", NULL, 0, not_uuid_row, NULL), SAGA_OK);
    saga_db_close(db);
}
END_TEST

/* An interceptor that notes each hook it is called at in a log shared with others,
 * keeps every write when `keeps`, answers every prefetched read (with no row) when
 * `answers`. */
typedef struct recorder {
    const char *name;
    char *log;
    bool keeps, answers;
    saga_db_interceptor ic;
} recorder;

#define LOG_MAX 512

static void note(recorder *r, const char *what)
{
    size_t len = strlen(r->log);
    snprintf(r->log + len, LOG_MAX - len, "%s:%s ", r->name, what);
}

static int rec_before(void *ud, saga_db *db, const char *sql)
{
    (void)db;
    (void)sql;
    note(ud, "before");
    return SAGA_OK;
}

static int rec_keep(void *ud, saga_db *db, const saga_db_write *w, bool *kept)
{
    static const char *const kinds[] = {"insert", "update", "update_one"};
    recorder *r = ud;
    char what[64];
    (void)db;
    snprintf(what, sizeof(what), "keep(%s,%zu,%zu)", kinds[w->kind], w->nparams, w->key);
    note(r, what);
    *kept = r->keeps;
    return SAGA_OK;
}

static void rec_written(void *ud, const char *sql, const saga_param *params, size_t nparams)
{
    (void)sql;
    (void)params;
    (void)nparams;
    note(ud, "written");
}

static int rec_prefetch(void *ud, saga_db *db, const saga_prefetch_query *q,
                        const char *const *keys, size_t n)
{
    (void)db;
    (void)q;
    (void)keys;
    (void)n;
    note(ud, "prefetch");
    return SAGA_OK;
}

static bool rec_answer(void *ud, const saga_prefetch_query *q, const char *key, saga_row_fn fn,
                       void *fn_ud, int *rc)
{
    recorder *r = ud;
    (void)q;
    (void)key;
    (void)fn;
    (void)fn_ud;
    note(r, "answer");
    *rc = SAGA_OK;
    return r->answers;
}

static void rec_tx_end(void *ud)
{
    note(ud, "end");
}

static void recorder_init(recorder *r, const char *name, char *log)
{
    *r = (recorder){.name = name, .log = log};
    r->ic = (saga_db_interceptor){.ud = r,
                                  .before = rec_before,
                                  .keep = rec_keep,
                                  .written = rec_written,
                                  .prefetch = rec_prefetch,
                                  .answer = rec_answer,
                                  .tx_end = rec_tx_end};
}

/* The log so far, and emptied. */
static const char *taken(char *log)
{
    static char copy[LOG_MAX];
    snprintf(copy, sizeof(copy), "%s", log);
    log[0] = '\0';
    return copy;
}

static long long t_rows(saga_db *other)
{
    long long n = -1;
    ck_assert_int_eq(saga_db_query_i64(other, "SELECT COUNT(*) FROM t", NULL, 0, &n), SAGA_OK);
    return n;
}

START_TEST(test_interceptors)
{
    static const saga_prefetch_query q = {
        .table = "t",
        .point_sql = "SELECT v FROM t WHERE k = ?",
        .batch_head = "SELECT k, v FROM t WHERE k IN (",
        .batch_tail = ")",
    };
    saga_config cfg;
    testenv_config(&cfg, "inbox", "dbintercept");
    saga_db *db = open_db(&cfg), *other = open_db(&cfg);
    char log[LOG_MAX] = "";
    recorder a, b;
    const char *keys[] = {"x"};

    recorder_init(&a, "a", log);
    recorder_init(&b, "b", log);
    b.keeps = b.answers = true;
    ck_assert_int_eq(saga_db_exec_script(db, "CREATE TABLE t (k VARCHAR(8) PRIMARY KEY, v INT)"),
                     SAGA_OK);
    ck_assert_int_eq(saga_db_intercept(db, &a.ic), SAGA_OK);
    ck_assert_int_eq(saga_db_intercept(db, &b.ic), SAGA_OK);
    ck_assert_int_eq(saga_db_intercept(db, &a.ic), SAGA_OK); /* there already: once */
    ck_assert_int_eq(saga_db_intercept(db, NULL), SAGA_OK);

    ck_assert_int_eq(saga_db_begin(db), SAGA_OK);
    ck_assert_str_eq(taken(log), "a:end b:end ");
    saga_param p[] = {SAGA_P_STR("x"), SAGA_P_I64(1)};
    ck_assert_int_eq(saga_db_exec(db, "INSERT INTO t (k, v) VALUES (?, ?)", p, 2, NULL, NULL),
                     SAGA_OK);
    ck_assert_str_eq(taken(log), "a:before b:before a:written b:written ");
    long long v = 0;
    ck_assert_int_eq(saga_db_query_i64(db, "SELECT v FROM t WHERE k = 'x'", NULL, 0, &v), SAGA_OK);
    ck_assert_str_eq(taken(log), "a:before b:before ");

    /* b keeps the writes: no statement runs, a is told of them */
    saga_param r[] = {SAGA_P_STR("y"), SAGA_P_I64(2)};
    ck_assert_int_eq(saga_db_insert(db, "INSERT INTO t (k, v) VALUES ", "(?, ?)", r, 2), SAGA_OK);
    ck_assert_str_eq(taken(log), "a:keep(insert,2,0) b:keep(insert,2,0) a:written b:written ");
    saga_param u[] = {SAGA_P_I64(5), SAGA_P_STR("nothing")};
    ck_assert_int_eq(saga_db_update_one(db, "UPDATE t SET v = ? WHERE k = ?", u, 2, 1), SAGA_OK);
    ck_assert_str_eq(taken(log),
                     "a:keep(update_one,2,1) b:keep(update_one,2,1) a:written b:written ");
    /* parameters against the rules reach no interceptor */
    saga_param bad[] = {SAGA_P_I64(5), SAGA_P_I64(6)};
    ck_assert_int_eq(saga_db_update(db, "UPDATE t SET v = ? WHERE k = ?", bad, 2, 1),
                     SAGA_ERR_INVALID);
    saga_param many[SAGA_DB_WRITE_PARAMS_MAX + 1];
    for (size_t i = 0; i < SAGA_DB_WRITE_PARAMS_MAX + 1; i++)
        many[i] = SAGA_P_STR("x");
    ck_assert_int_eq(
        saga_db_insert(db, "INSERT INTO t VALUES ", "(?)", many, SAGA_DB_WRITE_PARAMS_MAX + 1),
        SAGA_ERR_INVALID);
    ck_assert_str_eq(taken(log), "");

    /* the first with a prefetch hook reads; the first that answers answers */
    ck_assert_int_eq(saga_db_prefetch(db, &q, keys, 1), SAGA_OK);
    ck_assert_str_eq(taken(log), "a:prefetch ");
    ck_assert_int_eq(saga_db_query_one_prefetched(db, &q, "x", NULL, NULL), SAGA_ERR_NOT_FOUND);
    ck_assert_str_eq(taken(log), "a:answer b:answer ");

    /* without b the write runs, and the read too */
    saga_db_unintercept(db, &b.ic);
    saga_db_unintercept(db, &b.ic); /* not there: nothing */
    ck_assert_int_eq(saga_db_insert(db, "INSERT INTO t (k, v) VALUES ", "(?, ?)", r, 2), SAGA_OK);
    ck_assert_str_eq(taken(log), "a:keep(insert,2,0) a:before a:written ");
    ck_assert_int_eq(saga_db_query_one_prefetched(db, &q, "y", NULL, NULL), SAGA_OK);
    ck_assert_str_eq(taken(log), "a:answer a:before ");
    ck_assert_int_eq(saga_db_commit(db), SAGA_OK);
    ck_assert_str_eq(taken(log), "a:end ");
    ck_assert_int_eq(t_rows(other), 2); /* x and y: b's kept writes never ran */

    /* a connection holds so many */
    recorder more[SAGA_DB_INTERCEPTORS_MAX];
    for (size_t i = 0; i < SAGA_DB_INTERCEPTORS_MAX; i++)
        recorder_init(&more[i], "m", log);
    for (size_t i = 0; i + 1 < SAGA_DB_INTERCEPTORS_MAX; i++)
        ck_assert_int_eq(saga_db_intercept(db, &more[i].ic), SAGA_OK);
    ck_assert_int_eq(saga_db_intercept(db, &more[SAGA_DB_INTERCEPTORS_MAX - 1].ic), SAGA_ERR_NOMEM);
    saga_db_close(other);
    saga_db_close(db); /* the connection ends: its interceptors hear it */
    ck_assert_str_eq(log, "a:end m:end m:end m:end ");
}
END_TEST

static Suite *db_helpers_suite(void)
{
    Suite *s = suite_create("db_helpers");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_lock_one_holder);
    tcase_add_test(tc, test_row_copy);
    tcase_add_test(tc, test_uuid_ids);
    tcase_add_test(tc, test_interceptors);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(db_helpers_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
