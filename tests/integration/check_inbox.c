/* check_inbox.c - the inbox against real MariaDB: a duplicate id is refused,
 * one at a time and in batches (ids seen before, repeated inside the batch, a
 * claim raced by another consumer); an id that is not a UUID is refused, not
 * recorded; pruning forgets only ids older than the retention window, and
 * deduplication inside the window is undisturbed. */
#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

/* Event ids are UUIDs (the envelope's schema); the tests number theirs. */
#define EVENT_ID(n) "00000000-0000-7000-8000-0000000000" n

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
    long long rows = -1;
    ck_assert_int_eq(claim(db, EVENT_ID("01")), SAGA_OK);
    ck_assert_int_eq(claim(db, EVENT_ID("01")), SAGA_ERR_DUPLICATE);
    ck_assert_int_eq(claim(db, EVENT_ID("02")), SAGA_OK);
    /* another spelling of an id is not one: refused, nothing recorded */
    ck_assert_int_eq(saga_db_begin(db), SAGA_OK);
    ck_assert_int_eq(saga_inbox_claim(db, "00000000-0000-7000-8000-0000000000AA", "T"),
                     SAGA_ERR_INVALID);
    saga_db_rollback(db);
    ck_assert_int_eq(saga_db_query_i64(db, "SELECT COUNT(*) FROM inbox", NULL, 0, &rows), SAGA_OK);
    ck_assert_int_eq(rows, 2);
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
                                             " VALUES (X'00000000000070008000000000000001', 'T',"
                                             " NOW(3) - INTERVAL 3 HOUR),"
                                             " (X'00000000000070008000000000000002', 'T',"
                                             " NOW(3) - INTERVAL 3 HOUR)"),
                     SAGA_OK);
    ck_assert_int_eq(claim(db, EVENT_ID("11")), SAGA_OK);
    ck_assert_int_eq(claim(db, EVENT_ID("12")), SAGA_OK);

    /* a one-hour window, one row per statement to go round the loop */
    ck_assert_int_eq(saga_inbox_prune(db, 3600, 1, &deleted), SAGA_OK);
    ck_assert_int_eq(deleted, 2);
    ck_assert_int_eq(saga_db_query_i64(db, "SELECT COUNT(*) FROM inbox", NULL, 0, &left), SAGA_OK);
    ck_assert_int_eq(left, 2);
    /* inside the window a redelivery is still a duplicate... */
    ck_assert_int_eq(claim(db, EVENT_ID("11")), SAGA_ERR_DUPLICATE);
    /* ...outside it the id is forgotten, by design */
    ck_assert_int_eq(claim(db, EVENT_ID("01")), SAGA_OK);
    /* nothing older than the window left: a second prune deletes nothing */
    ck_assert_int_eq(saga_inbox_prune(db, 3600, 1000, &deleted), SAGA_OK);
    ck_assert_int_eq(deleted, 0);
    saga_db_close(db);
}
END_TEST

START_TEST(test_batch_claim)
{
    enum { N = 600 }; /* more than one group of ids */
    saga_config cfg;
    saga_db *db = open_db(&cfg);
    static char names[N][40];
    const char *ids[N], *types[N];
    bool seen[N];
    long long rows = -1;

    for (int i = 0; i < N; i++) {
        snprintf(names[i], sizeof(names[i]), "00000000-0000-7000-8000-%012d", i);
        ids[i] = names[i];
        types[i] = "TestEvent";
    }
    ck_assert_int_eq(claim(db, names[7]), SAGA_OK); /* consumed before */
    ids[300] = names[5]; /* a repeat in the second group of the first group's id */
    ids[11] = names[10]; /* a repeat inside the first group */
    ck_assert_int_eq(saga_db_begin(db), SAGA_OK);
    ck_assert_int_eq(saga_inbox_claim_batch(db, ids, types, N, seen), SAGA_OK);
    ck_assert_int_eq(saga_db_commit(db), SAGA_OK);
    for (int i = 0; i < N; i++)
        ck_assert_msg(seen[i] == (i == 7 || i == 11 || i == 300), "id %d: seen %d", i, seen[i]);
    ck_assert_int_eq(saga_db_query_i64(db, "SELECT COUNT(*) FROM inbox", NULL, 0, &rows), SAGA_OK);
    ck_assert_int_eq(rows, N - 2); /* every distinct id once; the 7th was there already */


    /* a batch of one takes the single-statement path: same answers */
    ck_assert_int_eq(saga_db_begin(db), SAGA_OK);
    ck_assert_int_eq(saga_inbox_claim_batch(db, ids, types, 1, seen), SAGA_OK);
    ck_assert(seen[0]);
    ck_assert_int_eq(saga_inbox_claim_batch(db, (const char *[]){EVENT_ID("ff")}, types, 1, seen),
                     SAGA_OK);
    ck_assert(!seen[0]);
    ck_assert_int_eq(saga_db_commit(db), SAGA_OK);

    /* the same batch again: every id is a duplicate, nothing is written */
    ck_assert_int_eq(saga_db_begin(db), SAGA_OK);
    ck_assert_int_eq(saga_inbox_claim_batch(db, ids, types, 5, seen), SAGA_OK);
    ck_assert_int_eq(saga_db_commit(db), SAGA_OK);
    for (int i = 0; i < 5; i++)
        ck_assert(seen[i]);
    saga_db_close(db);
}
END_TEST

static void *commit_later(void *db)
{
    usleep(300 * 1000);
    ck_assert_int_eq(saga_db_commit(db), SAGA_OK);
    return NULL;
}

START_TEST(test_batch_claim_raced)
{
    saga_config cfg;
    saga_db *db = open_db(&cfg);
    char err[512];
    saga_db *other = saga_db_open(&cfg, err, sizeof(err));
    ck_assert_msg(other != NULL, "%s", err);
    const char *ids[] = {EVENT_ID("01"), EVENT_ID("02")}, *types[] = {"T", "T"};
    bool seen[2];
    pthread_t t;

    /* another consumer has claimed ids[1] but not committed yet: the look-up does
     * not see it, the insert waits for it, and then inserts one row too few */
    ck_assert_int_eq(saga_db_begin(other), SAGA_OK);
    ck_assert_int_eq(saga_inbox_claim(other, ids[1], "T"), SAGA_OK);
    ck_assert_int_eq(pthread_create(&t, NULL, commit_later, other), 0);
    ck_assert_int_eq(saga_db_begin(db), SAGA_OK);
    ck_assert_int_eq(saga_inbox_claim_batch(db, ids, types, 2, seen), SAGA_ERR_TRANSIENT);
    saga_db_rollback(db);
    pthread_join(t, NULL);
    /* the retry sees it */
    ck_assert_int_eq(saga_db_begin(db), SAGA_OK);
    ck_assert_int_eq(saga_inbox_claim_batch(db, ids, types, 2, seen), SAGA_OK);
    ck_assert_int_eq(saga_db_commit(db), SAGA_OK);
    ck_assert(!seen[0]);
    ck_assert(seen[1]);
    saga_db_close(other);
    saga_db_close(db);
}
END_TEST

static Suite *inbox_suite(void)
{
    Suite *s = suite_create("inbox");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_duplicate_refused);
    tcase_add_test(tc, test_prune_keeps_the_window);
    tcase_add_test(tc, test_batch_claim);
    tcase_add_test(tc, test_batch_claim_raced);
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
