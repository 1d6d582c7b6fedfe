/* check_backoff.c - exponential backoff with jitter stays within its bounds; work
 * retried with it runs again only while it fails transiently, and at most as often as
 * allowed. */
#include <check.h>
#include <stdlib.h>

#include "saga/backoff.h"
#include "saga/err.h"

START_TEST(test_grows_within_bounds)
{
    unsigned seed = 42;
    for (unsigned attempt = 0; attempt < 10; attempt++) {
        long ceiling = 50L << attempt;
        if (ceiling > 5000)
            ceiling = 5000;
        for (int i = 0; i < 1000; i++) {
            long ms = saga_backoff_ms(attempt, 50, 5000, &seed);
            ck_assert_int_ge(ms, ceiling / 2);
            ck_assert_int_le(ms, ceiling);
        }
    }
}
END_TEST

START_TEST(test_jitter_spreads)
{
    unsigned seed = 7;
    long lo = 1000000, hi = 0;
    for (int i = 0; i < 1000; i++) {
        long ms = saga_backoff_ms(3, 100, 10000, &seed); /* ceiling 800 */
        lo = ms < lo ? ms : lo;
        hi = ms > hi ? ms : hi;
    }
    /* a thousand draws from [400, 800] reach near both ends */
    ck_assert_int_lt(lo, 450);
    ck_assert_int_gt(hi, 750);
}
END_TEST

/* Two retriers in one process (two objects) start from different seeds, so the
 * pauses they draw after colliding differ. */
START_TEST(test_seeds_differ_by_object)
{
    int a = 0, b = 0; /* two objects: only their addresses count */
    unsigned sa = saga_backoff_seed(&a), sb = saga_backoff_seed(&b);
    ck_assert_uint_ne(sa, sb);
    int same = 0;
    for (unsigned i = 0; i < 20; i++)
        same += saga_backoff_ms(6, 10, 1000, &sa) == saga_backoff_ms(6, 10, 1000, &sb);
    ck_assert_int_lt(same, 10);
}
END_TEST

START_TEST(test_limits)
{
    unsigned seed = 1;
    /* huge attempt numbers neither overflow nor pass the cap */
    for (unsigned attempt = 30; attempt < 5000; attempt += 97) {
        long ms = saga_backoff_ms(attempt, 50, 5000, &seed);
        ck_assert_int_ge(ms, 2500);
        ck_assert_int_le(ms, 5000);
    }
    /* a cap below the base is raised to the base; base 0 is taken as 1 */
    ck_assert_int_le(saga_backoff_ms(0, 100, 10, &seed), 100);
    ck_assert_int_le(saga_backoff_ms(0, 0, 0, &seed), 1);
}
END_TEST

/* Fails with results[attempt] and counts its calls. */
typedef struct retry_script {
    const int *results;
    int calls;
    int attempts_seen[8];
} retry_script;

static int retry_step(int attempt, void *ud)
{
    retry_script *r = ud;
    r->attempts_seen[r->calls++] = attempt;
    return r->results[attempt];
}

START_TEST(test_retry_until_not_transient)
{
    static const int results[] = {SAGA_ERR_TRANSIENT, SAGA_ERR_TRANSIENT, SAGA_OK, SAGA_OK};
    retry_script r = {.results = results};
    ck_assert_int_eq(saga_backoff_retry(4, retry_step, &r), SAGA_OK);
    ck_assert_int_eq(r.calls, 3);
    for (int i = 0; i < r.calls; i++)
        ck_assert_int_eq(r.attempts_seen[i], i); /* fn is told which attempt it is */
}
END_TEST

START_TEST(test_retry_stops_on_other_errors)
{
    static const int results[] = {SAGA_ERR_CONFLICT, SAGA_OK};
    retry_script r = {.results = results};
    ck_assert_int_eq(saga_backoff_retry(3, retry_step, &r), SAGA_ERR_CONFLICT);
    ck_assert_int_eq(r.calls, 1);
}
END_TEST

START_TEST(test_retry_gives_up_after_attempts)
{
    static const int results[] = {SAGA_ERR_TRANSIENT, SAGA_ERR_TRANSIENT, SAGA_ERR_TRANSIENT,
                                  SAGA_OK};
    retry_script r = {.results = results};
    ck_assert_int_eq(saga_backoff_retry(3, retry_step, &r), SAGA_ERR_TRANSIENT);
    ck_assert_int_eq(r.calls, 3);
}
END_TEST

static Suite *backoff_suite(void)
{
    Suite *s = suite_create("backoff");
    TCase *core = tcase_create("core");
    tcase_add_test(core, test_grows_within_bounds);
    tcase_add_test(core, test_jitter_spreads);
    tcase_add_test(core, test_seeds_differ_by_object);
    tcase_add_test(core, test_retry_until_not_transient);
    tcase_add_test(core, test_retry_stops_on_other_errors);
    tcase_add_test(core, test_retry_gives_up_after_attempts);
    suite_add_tcase(s, core);
    TCase *limits = tcase_create("limits");
    tcase_add_test(limits, test_limits);
    suite_add_tcase(s, limits);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(backoff_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
