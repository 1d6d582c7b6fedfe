/* check_write_batch.c - rows kept in a write batch, against real MariaDB: they
 * reach their table at the flush, or before any statement on the connection that
 * names the table (a read sees them, an UPDATE changes them), and not before one
 * that does not; a kept row drops the batch-wide read (prefetch) of its key; a
 * duplicate shows at the flush, fails the statement that caused it and leaves the
 * batch marked failed until discarded. Kept UPDATEs are written in one bulk
 * execution, NULLs included; one that had to change a row and changed none fails
 * the flush; an UPDATE is never written before an earlier kept INSERT of its key.
 * Ids kept as text are written as their 16 bytes, in bulk; one that is not an id
 * fails the flush.
 * Callbacks registered with saga_db_after_commit run once, after the commit (which
 * wrote the kept rows), and never for a rolled-back transaction. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "saga/envelope.h"
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
    saga_prefetch *reads; /* on db too, for test_kept_row_drops_the_batch_read_of_its_key */
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
    ck_assert_ptr_nonnull(f->reads = saga_prefetch_new());
    ck_assert_int_eq(saga_db_intercept(f->db, saga_prefetch_interceptor(f->reads)), SAGA_OK);
    ck_assert_int_eq(saga_db_begin(f->db), SAGA_OK);
    ck_assert_int_eq(saga_db_intercept(f->db, saga_write_batch_interceptor(f->batch)), SAGA_OK);
}

static void fixture_close(fixture *f)
{
    saga_db_unintercept(f->db, saga_write_batch_interceptor(f->batch));
    saga_write_batch_free(f->batch);
    saga_db_rollback(f->db);
    saga_db_close(f->peek);
    saga_db_close(f->db);
    saga_prefetch_free(f->reads);
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

static int i64_row(const saga_row *row, void *ud)
{
    *(long long *)ud = saga_row_i64(row, 0);
    return 0;
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

    /* the batch read found no row for n, and keeps that */
    ck_assert_int_eq(saga_db_prefetch(f.db, &item_lock, keys, 1), SAGA_OK);
    ck_assert_int_eq(saga_db_query_one_prefetched(f.db, &item_lock, "n", i64_row, &v),
                     SAGA_ERR_NOT_FOUND);
    /* a row kept for n: the read goes to the table, which the row reaches first */
    keep(&f, "n", 7);
    ck_assert_int_eq(saga_db_query_one_prefetched(f.db, &item_lock, "n", i64_row, &v), SAGA_OK);
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

#define ITEM_ADD "UPDATE items SET v = v + ? WHERE k = ?"
#define ITEM_SET_UNLESS_NULL "UPDATE items SET v = COALESCE(?, v) WHERE k = ?"

/* Keeps (or runs) "v = v + add" for k. */
static int add(fixture *f, const char *k, long long delta, bool must_change)
{
    saga_param p[] = {SAGA_P_I64(delta), SAGA_P_STR(k)};
    return must_change ? saga_db_update_one(f->db, ITEM_ADD, p, 2, 1)
                       : saga_db_update(f->db, ITEM_ADD, p, 2, 1);
}

/* Statements db's session has sent so far (a bulk execution counts once: the
 * server's Questions; Com_stmt_execute would count each of its rows). */
static long long round_trips(fixture *f)
{
    long long n = -1;
    ck_assert_int_eq(
        saga_db_query_i64(f->db,
                          "SELECT VARIABLE_VALUE FROM information_schema.SESSION_STATUS"
                          " WHERE VARIABLE_NAME = 'QUESTIONS'",
                          NULL, 0, &n),
        SAGA_OK);
    return n;
}

START_TEST(test_updates_kept_and_written_in_one_bulk)
{
    fixture f;
    fixture_open(&f);
    keep(&f, "a", 1);
    keep(&f, "b", 2);
    keep(&f, "c", 3);
    ck_assert_int_eq(saga_write_batch_flush(f.db, f.batch), SAGA_OK);
    ck_assert_int_eq(add(&f, "a", 10, false), SAGA_OK);
    ck_assert_int_eq(add(&f, "b", 20, true), SAGA_OK);
    ck_assert_int_eq(add(&f, "c", 30, false), SAGA_OK);
    ck_assert_int_eq(add(&f, "a", 100, false), SAGA_OK);
    saga_param p[] = {SAGA_P_NULL, SAGA_P_STR("b")}, q[] = {SAGA_P_I64(5), SAGA_P_STR("c")};
    ck_assert_int_eq(saga_db_update(f.db, ITEM_SET_UNLESS_NULL, p, 2, 1), SAGA_OK);
    ck_assert_int_eq(saga_db_update(f.db, ITEM_SET_UNLESS_NULL, q, 2, 1), SAGA_OK);
    /* nothing written yet: the peek sees the rows as inserted */
    long long sum = -1;
    ck_assert_int_eq(saga_db_query_i64(f.peek, "SELECT SUM(v) FROM items", NULL, 0, &sum), SAGA_OK);
    ck_assert_int_eq(sum, 6);
    long long before = round_trips(&f);
    ck_assert_int_eq(saga_write_batch_flush(f.db, f.batch), SAGA_OK);
    long long after = round_trips(&f);
    /* three statements (v + ?, v + ? that must change its row, COALESCE), one
     * round trip each, plus the second count itself */
    ck_assert_int_eq(after - before, 3 + 1);
    /* each shape's in the order kept: a got 10 then 100 */
    ck_assert_int_eq(item(&f, "a"), 111);
    ck_assert_int_eq(item(&f, "b"), 22);
    ck_assert_int_eq(item(&f, "c"), 5);
    ck_assert(!saga_write_batch_failed(f.batch));
    fixture_close(&f);
}
END_TEST

START_TEST(test_ids_kept_and_written_as_bytes)
{
    fixture f;
    fixture_open(&f);
    char ids[4][SAGA_UUID_LEN + 1]; /* 4: one INSERT (groups are powers of two) */

    ck_assert_int_eq(saga_db_exec_script(f.peek, "CREATE TABLE orders (id BINARY(16) NOT NULL"
                                                 " PRIMARY KEY, v BIGINT NOT NULL)"),
                     SAGA_OK);
    for (int i = 0; i < 4; i++) {
        saga_uuid_v7(ids[i]);
        saga_param p[] = {SAGA_P_UUID(ids[i]), SAGA_P_I64(i)};
        ck_assert_int_eq(saga_db_insert(f.db, "INSERT INTO orders (id, v) VALUES ", "(?, ?)", p, 2),
                         SAGA_OK);
    }
    long long before = round_trips(&f);
    ck_assert_int_eq(saga_write_batch_flush(f.db, f.batch), SAGA_OK);
    ck_assert_int_eq(round_trips(&f) - before, 1 + 1); /* one INSERT, and the count */
    for (int i = 0; i < 4; i++) {
        saga_param p[] = {SAGA_P_I64(10), SAGA_P_UUID(ids[i])};
        ck_assert_int_eq(
            saga_db_update_one(f.db, "UPDATE orders SET v = v + ? WHERE id = ?", p, 2, 1), SAGA_OK);
    }
    before = round_trips(&f);
    ck_assert_int_eq(saga_write_batch_flush(f.db, f.batch), SAGA_OK);
    ck_assert_int_eq(round_trips(&f) - before, 1 + 1); /* one bulk UPDATE, and the count */
    long long sum = -1, n = -1;
    ck_assert_int_eq(
        saga_db_query_i64(f.peek, "SELECT SUM(v) FROM orders WHERE LENGTH(id) = 16", NULL, 0, &sum),
        SAGA_OK);
    ck_assert_int_eq(sum, 0 + 1 + 2 + 3 + 40);
    saga_param p[] = {SAGA_P_UUID(ids[2])};
    ck_assert_int_eq(saga_db_query_i64(f.peek, "SELECT v FROM orders WHERE id = ?", p, 1, &n),
                     SAGA_OK);
    ck_assert_int_eq(n, 12);
    /* a kept row whose id is not one fails the flush */
    saga_param good[] = {SAGA_P_I64(5), SAGA_P_UUID(ids[0])};
    saga_param bad[] = {SAGA_P_I64(5), SAGA_P_UUID("0193A5B2-7C1D-7E2F-8A3B-4C5D6E7F8091")};
    ck_assert_int_eq(saga_db_update(f.db, "UPDATE orders SET v = v + ? WHERE id = ?", good, 2, 1),
                     SAGA_OK);
    ck_assert_int_eq(saga_db_update(f.db, "UPDATE orders SET v = v + ? WHERE id = ?", bad, 2, 1),
                     SAGA_OK);
    ck_assert_int_eq(saga_write_batch_flush(f.db, f.batch), SAGA_ERR_INVALID);
    fixture_close(&f);
}
END_TEST

START_TEST(test_update_that_must_change_a_row_fails_the_flush)
{
    fixture f;
    fixture_open(&f);
    keep(&f, "e", 1);
    ck_assert_int_eq(saga_write_batch_flush(f.db, f.batch), SAGA_OK);
    ck_assert_int_eq(add(&f, "e", 1, true), SAGA_OK);
    ck_assert_int_eq(add(&f, "missing", 1, true), SAGA_OK); /* not seen yet */
    ck_assert_int_eq(saga_write_batch_flush(f.db, f.batch), SAGA_ERR_CONFLICT);
    ck_assert(saga_write_batch_failed(f.batch));
    saga_write_batch_discard(f.batch);
    /* without a batch it fails at once; one that need not change a row does not */
    saga_db_unintercept(f.db, saga_write_batch_interceptor(f.batch));
    ck_assert_int_eq(add(&f, "missing", 1, true), SAGA_ERR_CONFLICT);
    ck_assert_int_eq(add(&f, "missing", 1, false), SAGA_OK);
    ck_assert_int_eq(add(&f, "e", 1, true), SAGA_OK);
    fixture_close(&f);
}
END_TEST

START_TEST(test_update_not_written_before_an_insert_of_its_key)
{
    fixture f;
    fixture_open(&f);
    keep(&f, "p", 1);
    ck_assert_int_eq(saga_write_batch_flush(f.db, f.batch), SAGA_OK);
    /* the UPDATE's shape is first, so the flush would write the next UPDATE of r
     * before r's INSERT: keeping it writes the batch first */
    ck_assert_int_eq(add(&f, "p", 1, true), SAGA_OK);
    keep(&f, "r", 5);
    ck_assert_int_eq(written(&f), 1);
    ck_assert_int_eq(add(&f, "r", 1, true), SAGA_OK);
    ck_assert_int_eq(written(&f), 2);
    /* an UPDATE of another key stays kept */
    keep(&f, "s", 7);
    ck_assert_int_eq(add(&f, "p", 1, true), SAGA_OK);
    ck_assert_int_eq(written(&f), 2);
    ck_assert_int_eq(saga_write_batch_flush(f.db, f.batch), SAGA_OK);
    ck_assert_int_eq(item(&f, "p"), 3);
    ck_assert_int_eq(item(&f, "r"), 6);
    ck_assert_int_eq(item(&f, "s"), 7);
    fixture_close(&f);
}
END_TEST

/* An after-commit callback: counts the items a fresh READ COMMITTED connection sees. */
typedef struct committed_probe {
    const saga_config *cfg;
    int runs;
    long long seen;
} committed_probe;

static void probe_committed(void *ud)
{
    committed_probe *p = ud;
    char err[512];
    saga_db *other = saga_db_open(p->cfg, err, sizeof(err));
    ck_assert_msg(other != NULL, "%s", err);
    ck_assert_int_eq(saga_db_query_i64(other, "SELECT COUNT(*) FROM items", NULL, 0, &p->seen),
                     SAGA_OK);
    saga_db_close(other);
    p->runs++;
}

START_TEST(test_after_commit_sees_the_kept_rows_committed)
{
    fixture f;
    fixture_open(&f);
    committed_probe probe = {.cfg = &f.cfg};
    keep(&f, "w", 1);
    /* registered twice: runs once; nothing runs before the commit */
    ck_assert_int_eq(saga_db_after_commit(f.db, probe_committed, &probe), SAGA_OK);
    ck_assert_int_eq(saga_db_after_commit(f.db, probe_committed, &probe), SAGA_OK);
    ck_assert_int_eq(saga_write_batch_flush(f.db, f.batch), SAGA_OK);
    ck_assert_int_eq(probe.runs, 0);
    ck_assert_int_eq(saga_db_commit(f.db), SAGA_OK);
    ck_assert_int_eq(probe.runs, 1);
    ck_assert_int_eq(probe.seen, 1);
    /* a rolled-back transaction's callbacks never run, nor carry over */
    ck_assert_int_eq(saga_db_begin(f.db), SAGA_OK);
    ck_assert_int_eq(saga_db_after_commit(f.db, probe_committed, &probe), SAGA_OK);
    saga_db_rollback(f.db);
    ck_assert_int_eq(saga_db_begin(f.db), SAGA_OK);
    ck_assert_int_eq(saga_db_commit(f.db), SAGA_OK);
    ck_assert_int_eq(probe.runs, 1);
    /* the fixture rolls back an open transaction */
    ck_assert_int_eq(saga_db_begin(f.db), SAGA_OK);
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
    tcase_add_test(tc, test_updates_kept_and_written_in_one_bulk);
    tcase_add_test(tc, test_ids_kept_and_written_as_bytes);
    tcase_add_test(tc, test_update_that_must_change_a_row_fails_the_flush);
    tcase_add_test(tc, test_update_not_written_before_an_insert_of_its_key);
    tcase_add_test(tc, test_after_commit_sees_the_kept_rows_committed);
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
