/* check_db_helpers.c - db.h's helpers against real MariaDB: the named lock one
 * instance holds (taken once, refused to a second connection, passed on when the
 * holder's connection dies, lost by the holder on reconnect), and a column copied into
 * a buffer (cut and said so, NULL as ""). */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

static Suite *db_helpers_suite(void)
{
    Suite *s = suite_create("db_helpers");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_lock_one_holder);
    tcase_add_test(tc, test_row_copy);
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
