/* check_inbox.c - the inbox against real MariaDB: a duplicate id is refused,
 * pruning forgets only ids older than the retention window, and deduplication
 * inside the window is undisturbed. */
#include <check.h>
#include <stdlib.h>

#include "saga/err.h"
#include "saga/inbox.h"
#include "testenv.h"

static saga_db *open_db(saga_config *cfg)
{
    char err[512];
    testenv_config(cfg, "inbox", "inbox");
    saga_db *db = saga_db_open(cfg, err, sizeof(err));
    ck_assert_msg(db != NULL, "%s", err);
    return db;
}

static int claim(saga_db *db, const char *id)
{
    ck_assert_int_eq(saga_db_begin(db), SAGA_OK);
    int rc = saga_inbox_claim(db, id, "TestEvent");
    ck_assert_int_eq(saga_db_commit(db), SAGA_OK);
    return rc;
}

START_TEST(test_duplicate_refused)
{
    saga_config cfg;
    saga_db *db = open_db(&cfg);
    ck_assert_int_eq(claim(db, "id-1"), SAGA_OK);
    ck_assert_int_eq(claim(db, "id-1"), SAGA_ERR_DUPLICATE);
    ck_assert_int_eq(claim(db, "id-2"), SAGA_OK);
    saga_db_close(db);
}
END_TEST

START_TEST(test_prune_keeps_the_window)
{
    saga_config cfg;
    uint64_t deleted = 0;
    long long left = -1;
    saga_db *db = open_db(&cfg);

    /* two ids consumed three hours ago, two just now */
    ck_assert_int_eq(saga_db_exec_script(db, "INSERT INTO inbox (event_id, event_type, received_at)"
                                             " VALUES ('old-1', 'T', NOW(3) - INTERVAL 3 HOUR),"
                                             " ('old-2', 'T', NOW(3) - INTERVAL 3 HOUR)"),
                     SAGA_OK);
    ck_assert_int_eq(claim(db, "new-1"), SAGA_OK);
    ck_assert_int_eq(claim(db, "new-2"), SAGA_OK);

    /* a one-hour window, one row per statement to go round the loop */
    ck_assert_int_eq(saga_inbox_prune(db, 3600, 1, &deleted), SAGA_OK);
    ck_assert_int_eq(deleted, 2);
    ck_assert_int_eq(saga_db_query_i64(db, "SELECT COUNT(*) FROM inbox", NULL, 0, &left), SAGA_OK);
    ck_assert_int_eq(left, 2);
    /* inside the window a redelivery is still a duplicate... */
    ck_assert_int_eq(claim(db, "new-1"), SAGA_ERR_DUPLICATE);
    /* ...outside it the id is forgotten, by design */
    ck_assert_int_eq(claim(db, "old-1"), SAGA_OK);
    /* nothing older than the window left: a second prune deletes nothing */
    ck_assert_int_eq(saga_inbox_prune(db, 3600, 1000, &deleted), SAGA_OK);
    ck_assert_int_eq(deleted, 0);
    saga_db_close(db);
}
END_TEST

static Suite *inbox_suite(void)
{
    Suite *s = suite_create("inbox");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_duplicate_refused);
    tcase_add_test(tc, test_prune_keeps_the_window);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(inbox_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
