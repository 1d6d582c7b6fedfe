/* check_write_batch.c - rows kept in a write batch, against real MariaDB: they
 * reach their table at the flush, or before any statement on the connection that
 * names the table (a read sees them, an UPDATE changes them), and not before one
 * that does not; a kept row drops the batch-wide read (prefetch) of its key; a
 * duplicate shows at the flush, fails the statement that caused it and leaves the
 * batch marked failed until discarded. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "saga/err.h"
#include "saga/prefetch.h"
#include "saga/write_batch.h"
#include "testenv.h"

#define ITEM_INSERT "INSERT INTO items (k, v) VALUES "
#define ITEM_ROW "(?, ?)"

static const saga_prefetch_query item_lock = {
    .table = "items",
    .point_sql = "SELECT v FROM items WHERE k = ? FOR UPDATE",
    .batch_head = "SELECT k, v FROM items WHERE k IN (",
    .batch_tail = ") FOR UPDATE",
    .keep_absent = true,
};

typedef struct fixture {
    saga_config cfg;
    saga_db *db;
    saga_db *peek; /* READ UNCOMMITTED: sees what db has written, committed or not */
    saga_write_batch *batch;
} fixture;

static void fixture_open(fixture *f)
{
    char err[512];
    testenv_config(&f->cfg, "inbox", "write_batch");
    f->db = saga_db_open(&f->cfg, err, sizeof(err));
    ck_assert_msg(f->db != NULL, "%s", err);
    f->peek = saga_db_open(&f->cfg, err, sizeof(err));
    ck_assert_msg(f->peek != NULL, "%s", err);
    ck_assert_int_eq(
        saga_db_exec_script(f->db,
                            "CREATE TABLE items (k VARCHAR(16) CHARACTER SET ascii NOT NULL"
                            " PRIMARY KEY, v BIGINT NOT NULL);"
                            "CREATE TABLE known_items (k VARCHAR(16) CHARACTER SET ascii NOT NULL"
                            " PRIMARY KEY, v BIGINT NOT NULL);"
                            "INSERT INTO known_items VALUES ('x', 1)"),
        SAGA_OK);
    ck_assert_int_eq(saga_db_exec_script(f->peek, "SET SESSION TRANSACTION ISOLATION LEVEL"
                                                  " READ UNCOMMITTED"),
                     SAGA_OK);
    ck_assert_ptr_nonnull(f->batch = saga_write_batch_new());
    ck_assert_int_eq(saga_db_begin(f->db), SAGA_OK);
    saga_write_batch_attach(f->db, f->batch);
}

static void fixture_close(fixture *f)
{
    saga_write_batch_attach(NULL, NULL);
    saga_write_batch_free(f->batch);
    saga_db_rollback(f->db);
    saga_db_close(f->peek);
    saga_db_close(f->db);
}

static void keep(fixture *f, const char *k, long long v)
{
    saga_param p[] = {SAGA_P_STR(k), SAGA_P_I64(v)};
    ck_assert_int_eq(saga_db_insert(f->db, ITEM_INSERT, ITEM_ROW, p, 2), SAGA_OK);
}

/* Rows of items written so far, committed or not. */
static long long written(fixture *f)
{
    long long n = -1;
    ck_assert_int_eq(saga_db_query_i64(f->peek, "SELECT COUNT(*) FROM items", NULL, 0, &n),
                     SAGA_OK);
    return n;
}

static long long item(fixture *f, const char *k)
{
    saga_param p[] = {SAGA_P_STR(k)};
    long long v = -1;
    int rc = saga_db_query_i64(f->db, "SELECT v FROM items WHERE k = ?", p, 1, &v);
    ck_assert(rc == SAGA_OK || rc == SAGA_ERR_NOT_FOUND);
    return v;
}

START_TEST(test_kept_until_a_statement_names_the_table)
{
    fixture f;
    fixture_open(&f);
    keep(&f, "a", 1);
    keep(&f, "b", 2);
    ck_assert_int_eq(written(&f), 0);
    /* another table: the rows stay kept */
    long long v = 0;
    ck_assert_int_eq(
        saga_db_query_i64(f.db, "SELECT v FROM known_items WHERE k = 'x'", NULL, 0, &v), SAGA_OK);
    ck_assert_int_eq(written(&f), 0);
    /* a read of items sees them */
    ck_assert_int_eq(item(&f, "b"), 2);
    ck_assert_int_eq(written(&f), 2);
    /* an UPDATE of items changes a row kept after that */
    keep(&f, "c", 3);
    saga_param p[] = {SAGA_P_STR("c")};
    uint64_t affected = 0;
    ck_assert_int_eq(
        saga_db_exec(f.db, "UPDATE items SET v = v + 10 WHERE k = ?", p, 1, &affected, NULL),
        SAGA_OK);
    ck_assert_int_eq(affected, 1);
    ck_assert_int_eq(item(&f, "c"), 13);
    ck_assert(!saga_write_batch_failed(f.batch));
    fixture_close(&f);
}
END_TEST

START_TEST(test_kept_row_drops_the_batch_read_of_its_key)
{
    fixture f;
    fixture_open(&f);
    const char *keys[] = {"n"};
    long long v = -1;
    saga_param p[] = {SAGA_P_STR("n")};

    /* the batch read found no row for n, and keeps that */
    ck_assert_int_eq(saga_db_prefetch(f.db, &item_lock, keys, 1), SAGA_OK);
    ck_assert_int_eq(saga_db_query_i64(f.db, item_lock.point_sql, p, 1, &v), SAGA_ERR_NOT_FOUND);
    /* a row kept for n: the read goes to the table, which the row reaches first */
    keep(&f, "n", 7);
    ck_assert_int_eq(saga_db_query_i64(f.db, item_lock.point_sql, p, 1, &v), SAGA_OK);
    ck_assert_int_eq(v, 7);
    fixture_close(&f);
}
END_TEST

START_TEST(test_duplicate_fails_the_statement_and_marks_the_batch)
{
    fixture f;
    fixture_open(&f);
    keep(&f, "d", 1);
    keep(&f, "d", 2); /* the duplicate is not seen yet */
    saga_param p[] = {SAGA_P_STR("d")};
    long long v = -1;
    ck_assert_int_eq(saga_db_query_i64(f.db, "SELECT v FROM items WHERE k = ?", p, 1, &v),
                     SAGA_ERR_CONFLICT);
    ck_assert(saga_write_batch_failed(f.batch));
    saga_write_batch_discard(f.batch);
    ck_assert(!saga_write_batch_failed(f.batch));
    fixture_close(&f);
}
END_TEST

static Suite *write_batch_suite(void)
{
    Suite *s = suite_create("write_batch");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_kept_until_a_statement_names_the_table);
    tcase_add_test(tc, test_kept_row_drops_the_batch_read_of_its_key);
    tcase_add_test(tc, test_duplicate_fails_the_statement_and_marks_the_batch);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(write_batch_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
