/* check_prefetch.c - a batch's row locks taken at once, against real MariaDB: the
 * handlers' point reads (saga_db_query_prefetched) are answered from the kept rows
 * without a statement, and only those naming the declaration the rows were read
 * for; a write on the connection drops the rows it may have changed
 * (case-insensitive keys too, but not rows of a table whose name merely contains
 * the written one's), a key with several rows keeps them all in order, a key's
 * absence is kept only when asked for and dropped by a write naming it, and nothing
 * outlives the transaction or is seen by another connection; a connection without
 * a saga_prefetch on it refuses saga_db_prefetch and reads every time. Keys that are
 * ids stored as BINARY(16) are answered by their text; another spelling is refused. */
#include <check.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "saga/envelope.h"
#include "saga/err.h"
#include "saga/prefetch.h"
#include "testenv.h"

/* the saga_prefetch on the connection open_db opens (one per test) */
static saga_prefetch *reads;

static const saga_prefetch_query item_lock = {
    .table = "items",
    .point_sql = "SELECT v FROM items WHERE k = ? FOR UPDATE",
    .batch_head = "SELECT k, v FROM items WHERE k IN (",
    .batch_tail = ") FOR UPDATE",
};

static const saga_prefetch_query item_lock_absent_too = {
    .table = "items",
    .point_sql = "SELECT v FROM items WHERE k = ? FOR UPDATE",
    .batch_head = "SELECT k, v FROM items WHERE k IN (",
    .batch_tail = ") FOR UPDATE",
    .keep_absent = true,
};

static const saga_prefetch_query lines_lock = {
    .table = "item_lines",
    .point_sql = "SELECT n, v FROM item_lines WHERE k = ? ORDER BY n FOR UPDATE",
    .batch_head = "SELECT k, n, v FROM item_lines WHERE k IN (",
    .batch_tail = ") ORDER BY k, n FOR UPDATE",
};

static const saga_prefetch_query order_lock = {
    .table = "orders",
    .point_sql = "SELECT v FROM orders FORCE INDEX (PRIMARY) WHERE id = ? FOR UPDATE",
    .batch_head = "SELECT id, v FROM orders FORCE INDEX (PRIMARY) WHERE id IN (",
    .batch_tail = ") FOR UPDATE",
    .keep_absent = true,
    .uuid_key = true,
};

static saga_db *open_db(saga_config *cfg)
{
    char err[512];
    testenv_config(cfg, "inbox", "prefetch");
    saga_db *db = saga_db_open(cfg, err, sizeof(err));
    ck_assert_msg(db != NULL, "%s", err);
    ck_assert_ptr_nonnull(reads = saga_prefetch_new());
    ck_assert_int_eq(saga_db_intercept(db, saga_prefetch_interceptor(reads)), SAGA_OK);
    /* ascii_general_ci: keys compare without case, as order ids do */
    ck_assert_int_eq(saga_db_exec_script(
                         db, "CREATE TABLE items (k VARCHAR(16) CHARACTER SET ascii NOT NULL"
                             " PRIMARY KEY, v BIGINT NOT NULL);"
                             "CREATE TABLE known_items (k VARCHAR(16) CHARACTER SET ascii NOT NULL"
                             " PRIMARY KEY, v BIGINT NOT NULL);"
                             "CREATE TABLE item_lines (k VARCHAR(16) CHARACTER SET ascii NOT NULL,"
                             " n INT NOT NULL, v BIGINT NOT NULL, PRIMARY KEY (k, n));"
                             "CREATE TABLE orders (id BINARY(16) NOT NULL PRIMARY KEY,"
                             " v BIGINT NOT NULL)"),
                     SAGA_OK);
    return db;
}

static void close_db(saga_db *db)
{
    saga_db_close(db); /* before what is on it */
    saga_prefetch_free(reads);
    reads = NULL;
}

/* Statements this session has executed, not counting this query itself. */
static long long executed(saga_db *db)
{
    long long n = -1;
    ck_assert_int_eq(saga_db_query_i64(db,
                                       "SELECT VARIABLE_VALUE FROM information_schema.SESSION_STATUS"
                                       " WHERE VARIABLE_NAME = 'COM_STMT_EXECUTE'",
                                       NULL, 0, &n),
                     SAGA_OK);
    return n;
}

static int i64_row(const saga_row *row, void *ud)
{
    *(long long *)ud = saga_row_i64(row, 0);
    return 0;
}

/* How many statements the point read of key declared as q ran (0: answered from
 * kept rows), and the value it read (-1: no row). */
static long long query_read(saga_db *db, const saga_prefetch_query *q, const char *key,
                            long long *value)
{
    long long before = executed(db);
    *value = -1;
    int rc = saga_db_query_one_prefetched(db, q, key, i64_row, value);
    ck_assert(rc == SAGA_OK || rc == SAGA_ERR_NOT_FOUND);
    return executed(db) - before - 1;
}

static long long item_read(saga_db *db, const char *key, long long *value)
{
    return query_read(db, &item_lock, key, value);
}

static void exec1(saga_db *db, const char *sql, saga_param p)
{
    ck_assert_int_eq(saga_db_exec(db, sql, &p, 1, NULL, NULL), SAGA_OK);
}

START_TEST(test_point_reads_answered)
{
    enum { N = 100 }; /* two statements: 64 keys and 36 padded to 64 */
    saga_config cfg;
    saga_db *db = open_db(&cfg);
    static char names[N][16];
    const char *keys[N];
    long long v;

    for (int i = 0; i < N; i++) {
        snprintf(names[i], sizeof(names[i]), "k%03d", i);
        keys[i] = names[i];
        saga_param p[] = {SAGA_P_STR(names[i]), SAGA_P_I64(i)};
        ck_assert_int_eq(saga_db_exec(db, "INSERT INTO items (k, v) VALUES (?, ?)", p, 2, NULL,
                                      NULL),
                         SAGA_OK);
    }
    ck_assert_int_eq(saga_db_begin(db), SAGA_OK);
    long long before = executed(db);
    ck_assert_int_eq(saga_db_prefetch(db, &item_lock, keys, N), SAGA_OK);
    ck_assert_int_eq(executed(db) - before - 1, 2);
    for (int i = 0; i < N; i++) {
        ck_assert_int_eq(item_read(db, keys[i], &v), 0);
        ck_assert_int_eq(v, i);
    }
    /* a key the batch did not read, and one it found nothing for, are read */
    ck_assert_int_eq(item_read(db, "k100", &v), 1);
    ck_assert_int_eq(v, -1);
    /* the declared read's text in a plain query is read: only a read naming the
     * declaration is answered */
    saga_param p[] = {SAGA_P_STR("k001")};
    before = executed(db);
    ck_assert_int_eq(saga_db_query_i64(db, item_lock.point_sql, p, 1, &v), SAGA_OK);
    ck_assert_int_eq(executed(db) - before - 1, 1);
    /* so is another declaration of the same text: the rows were read for item_lock */
    ck_assert_int_eq(query_read(db, &item_lock_absent_too, "k001", &v), 1);
    ck_assert_int_eq(v, 1);
    ck_assert_int_eq(saga_db_commit(db), SAGA_OK);
    /* nothing outlives the transaction */
    ck_assert_int_eq(item_read(db, "k001", &v), 1);
    ck_assert_int_eq(v, 1);
    close_db(db);
}
END_TEST

START_TEST(test_writes_drop_what_they_change)
{
    saga_config cfg;
    saga_db *db = open_db(&cfg);
    const char *keys[] = {"k1", "k2", "k3"};
    long long v;

    ck_assert_int_eq(saga_db_exec_script(db, "INSERT INTO items VALUES ('k1', 1), ('k2', 2),"
                                             " ('k3', 3); INSERT INTO known_items VALUES ('k2', 0)"),
                     SAGA_OK);
    ck_assert_int_eq(saga_db_begin(db), SAGA_OK);
    ck_assert_int_eq(saga_db_prefetch(db, &item_lock, keys, 3), SAGA_OK);

    /* the row written under another case of its key is read afresh */
    exec1(db, "UPDATE items SET v = v + 10 WHERE k = ?", SAGA_P_STR("K1"));
    ck_assert_int_eq(item_read(db, "k1", &v), 1);
    ck_assert_int_eq(v, 11);
    ck_assert_int_eq(item_read(db, "k2", &v), 0);
    ck_assert_int_eq(v, 2);

    /* known_items is not items */
    exec1(db, "UPDATE known_items SET v = v + 1 WHERE k = ?", SAGA_P_STR("k2"));
    ck_assert_int_eq(item_read(db, "k2", &v), 0);

    /* a write that names no key drops all of the table's rows */
    exec1(db, "UPDATE items SET v = v + 100 WHERE v < ?", SAGA_P_I64(3));
    ck_assert_int_eq(item_read(db, "k2", &v), 1);
    ck_assert_int_eq(v, 102);
    ck_assert_int_eq(item_read(db, "k3", &v), 1);
    ck_assert_int_eq(v, 3);
    ck_assert_int_eq(saga_db_commit(db), SAGA_OK);
    close_db(db);
}
END_TEST

typedef struct lines_seen {
    long long n[8];
    size_t count;
} lines_seen;

static int line_row(const saga_row *row, void *ud)
{
    lines_seen *s = ud;
    ck_assert_int_eq(saga_row_count(row), 2);
    if (s->count < 8)
        s->n[s->count] = saga_row_i64(row, 0) * 100 + saga_row_i64(row, 1);
    s->count++;
    return 0;
}

START_TEST(test_several_rows_per_key)
{
    saga_config cfg;
    saga_db *db = open_db(&cfg);
    const char *keys[] = {"a", "b", "c"}; /* padded to four */
    lines_seen s = {0};

    ck_assert_int_eq(saga_db_exec_script(db, "INSERT INTO item_lines VALUES ('a', 3, 30),"
                                             " ('a', 1, 10), ('a', 2, 20), ('b', 1, 40)"),
                     SAGA_OK);
    ck_assert_int_eq(saga_db_begin(db), SAGA_OK);
    ck_assert_int_eq(saga_db_prefetch(db, &lines_lock, keys, 3), SAGA_OK);
    long long before = executed(db);
    ck_assert_int_eq(saga_db_query_prefetched(db, &lines_lock, "a", line_row, &s), SAGA_OK);
    ck_assert_int_eq(executed(db) - before - 1, 0);
    ck_assert_int_eq(s.count, 3);
    ck_assert_int_eq(s.n[0], 110);
    ck_assert_int_eq(s.n[1], 220);
    ck_assert_int_eq(s.n[2], 330);

    /* a row added to a kept key: the key is read afresh, with it */
    saga_param add[] = {SAGA_P_STR("b"), SAGA_P_I64(2), SAGA_P_I64(50)};
    ck_assert_int_eq(saga_db_exec(db, "INSERT INTO item_lines (k, n, v) VALUES (?, ?, ?)", add, 3,
                                  NULL, NULL),
                     SAGA_OK);
    memset(&s, 0, sizeof(s));
    ck_assert_int_eq(saga_db_query_prefetched(db, &lines_lock, "b", line_row, &s), SAGA_OK);
    ck_assert_int_eq(s.count, 2);
    ck_assert_int_eq(s.n[1], 250);

    /* a key with no rows is read: none */
    memset(&s, 0, sizeof(s));
    ck_assert_int_eq(saga_db_query_prefetched(db, &lines_lock, "c", line_row, &s), SAGA_OK);
    ck_assert_int_eq(s.count, 0);
    saga_db_rollback(db);
    close_db(db);
}
END_TEST

START_TEST(test_kept_for_one_connection_and_transaction)
{
    saga_config cfg;
    saga_db *db = open_db(&cfg);
    char err[512];
    saga_db *other = saga_db_open(&cfg, err, sizeof(err));
    const char *keys[] = {"k1"};
    long long v;

    ck_assert_msg(other != NULL, "%s", err);
    ck_assert_int_eq(saga_db_exec_script(db, "INSERT INTO items VALUES ('k1', 1), ('k2', 2)"),
                     SAGA_OK);
    ck_assert_int_eq(saga_db_begin(db), SAGA_OK);
    ck_assert_int_eq(saga_db_prefetch(db, &item_lock, keys, 1), SAGA_OK);
    /* another connection in the same thread reads for itself (k2: k1 is locked),
     * and with no saga_prefetch on it cannot keep rows */
    ck_assert_int_eq(item_read(other, "k2", &v), 1);
    ck_assert_int_eq(v, 2);
    ck_assert_int_eq(saga_db_prefetch(other, &item_lock, keys, 1), SAGA_ERR_INVALID);
    saga_db_rollback(db);

    /* after a rollback the next transaction reads afresh */
    ck_assert_int_eq(saga_db_begin(db), SAGA_OK);
    ck_assert_int_eq(item_read(db, "k1", &v), 1);
    ck_assert_int_eq(v, 1);
    saga_db_rollback(db);

    /* taken off the connection, the saga_prefetch answers nothing and keeps nothing */
    ck_assert_int_eq(saga_db_begin(db), SAGA_OK);
    ck_assert_int_eq(saga_db_prefetch(db, &item_lock, keys, 1), SAGA_OK);
    ck_assert_int_eq(item_read(db, "k1", &v), 0);
    saga_db_unintercept(db, saga_prefetch_interceptor(reads));
    ck_assert_int_eq(item_read(db, "k1", &v), 1);
    ck_assert_int_eq(saga_db_prefetch(db, &item_lock, keys, 1), SAGA_ERR_INVALID);
    saga_db_rollback(db);
    saga_db_close(other);
    close_db(db);
}
END_TEST

START_TEST(test_absence_kept_when_asked)
{
    saga_config cfg;
    saga_db *db = open_db(&cfg);
    const char *keys[] = {"K1", "k2"};
    long long v;

    ck_assert_int_eq(saga_db_exec_script(db, "INSERT INTO items VALUES ('k1', 1)"), SAGA_OK);
    ck_assert_int_eq(saga_db_begin(db), SAGA_OK);
    ck_assert_int_eq(saga_db_prefetch(db, &item_lock_absent_too, keys, 2), SAGA_OK);
    /* k2 has no row: answered without a statement */
    ck_assert_int_eq(query_read(db, &item_lock_absent_too, "k2", &v), 0);
    ck_assert_int_eq(v, -1);
    /* K1 was found as k1: not absent, read as usual */
    ck_assert_int_eq(query_read(db, &item_lock_absent_too, "K1", &v), 1);
    ck_assert_int_eq(v, 1);
    /* a row added under the key: read afresh */
    saga_param p[] = {SAGA_P_STR("k2"), SAGA_P_I64(2)};
    ck_assert_int_eq(saga_db_exec(db, "INSERT INTO items (k, v) VALUES (?, ?)", p, 2, NULL, NULL),
                     SAGA_OK);
    ck_assert_int_eq(query_read(db, &item_lock_absent_too, "k2", &v), 1);
    ck_assert_int_eq(v, 2);
    saga_db_rollback(db);
    close_db(db);
}
END_TEST

START_TEST(test_in_list_shapes)
{
    char sql[64];
    ck_assert_int_eq(saga_db_in_list(sql, sizeof(sql), "k IN (", 1, ")"), 1);
    ck_assert_str_eq(sql, "k IN (?)");
    ck_assert_int_eq(saga_db_in_list(sql, sizeof(sql), "k IN (", 3, ")"), 4);
    ck_assert_str_eq(sql, "k IN (?,?,?,?)");
    ck_assert_int_eq(saga_db_in_list(sql, sizeof(sql), "", 0, ""), 0);
    ck_assert_int_eq(saga_db_in_list(sql, sizeof(sql), "", SAGA_DB_IN_LIST_MAX + 1, ""), 0);
    ck_assert_int_eq(saga_db_in_list(sql, sizeof(sql), "k IN (", 64, ")"), 0); /* too long */
}
END_TEST

START_TEST(test_uuid_keys)
{
    saga_config cfg;
    saga_db *db = open_db(&cfg);
    char ids[3][SAGA_UUID_LEN + 1];
    const char *keys[3];
    long long v;

    for (int i = 0; i < 3; i++) {
        saga_uuid_v7(ids[i]);
        keys[i] = ids[i];
    }
    for (int i = 0; i < 2; i++) { /* the third has no row */
        saga_param p[] = {SAGA_P_UUID(ids[i]), SAGA_P_I64(i + 1)};
        ck_assert_int_eq(
            saga_db_exec(db, "INSERT INTO orders (id, v) VALUES (?, ?)", p, 2, NULL, NULL),
            SAGA_OK);
    }
    ck_assert_int_eq(saga_db_begin(db), SAGA_OK);
    ck_assert_int_eq(saga_db_prefetch(db, &order_lock, keys, 3), SAGA_OK);
    /* the rows' keys read back as the texts asked for: answered, absence too */
    ck_assert_int_eq(query_read(db, &order_lock, ids[0], &v), 0);
    ck_assert_int_eq(v, 1);
    ck_assert_int_eq(query_read(db, &order_lock, ids[1], &v), 0);
    ck_assert_int_eq(v, 2);
    ck_assert_int_eq(query_read(db, &order_lock, ids[2], &v), 0);
    ck_assert_int_eq(v, -1);
    /* a write naming an id drops that row, and only that one */
    exec1(db, "UPDATE orders SET v = v + 10 WHERE id = ?", SAGA_P_UUID(ids[0]));
    ck_assert_int_eq(query_read(db, &order_lock, ids[0], &v), 1);
    ck_assert_int_eq(v, 11);
    ck_assert_int_eq(query_read(db, &order_lock, ids[1], &v), 0);
    /* a spelling that is not the id's is refused, not answered */
    char upper[SAGA_UUID_LEN + 1];
    for (size_t i = 0; i <= SAGA_UUID_LEN; i++)
        upper[i] = (char)toupper((unsigned char)ids[1][i]);
    ck_assert_int_eq(saga_db_query_one_prefetched(db, &order_lock, upper, i64_row, &v),
                     SAGA_ERR_INVALID);
    saga_db_rollback(db);
    close_db(db);
}
END_TEST

static Suite *prefetch_suite(void)
{
    Suite *s = suite_create("prefetch");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_point_reads_answered);
    tcase_add_test(tc, test_writes_drop_what_they_change);
    tcase_add_test(tc, test_several_rows_per_key);
    tcase_add_test(tc, test_kept_for_one_connection_and_transaction);
    tcase_add_test(tc, test_absence_kept_when_asked);
    tcase_add_test(tc, test_in_list_shapes);
    tcase_add_test(tc, test_uuid_keys);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(prefetch_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
