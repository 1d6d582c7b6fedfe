/* check_clock.c - the clock helpers and saga_random_fill keep their contracts. */
#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "saga/clock.h"
#include "saga/err.h"
#include "saga/random.h"

START_TEST(test_random_fills_every_byte)
{
    uint8_t a[300], b[300];
    int zeros = 0;

    memset(a, 0, sizeof(a));
    memset(b, 0, sizeof(b));
    ck_assert_int_eq(saga_random_fill(a, sizeof(a)), SAGA_OK);
    ck_assert_int_eq(saga_random_fill(b, sizeof(b)), SAGA_OK);
    ck_assert_mem_ne(a, b, sizeof(a));
    /* all 300 bytes written: a byte left at zero has odds 1/256, so few stay zero */
    for (size_t i = 0; i < sizeof(a); i++)
        zeros += a[i] == 0;
    ck_assert_int_lt(zeros, 12);
    ck_assert_int_eq(saga_random_fill(a, 0), SAGA_OK);
}
END_TEST

/* getrandom failing with anything but EINTR is an error, not a loop that never ends. */
START_TEST(test_random_fails_cleanly)
{
    errno = 0;
    ck_assert_int_eq(saga_random_fill((void *)8, 16), SAGA_ERR_INTERNAL);
    ck_assert_int_eq(errno, EFAULT);
}
END_TEST

START_TEST(test_deadline_is_normalised_and_ahead)
{
    struct timespec now, d;
    for (long ms = 0; ms < 2500; ms += 137) {
        clock_gettime(CLOCK_MONOTONIC, &now);
        saga_clock_deadline(&d, ms);
        ck_assert_int_ge(d.tv_nsec, 0);
        ck_assert_int_lt(d.tv_nsec, 1000000000L);
        long long diff_ms =
            (long long)(d.tv_sec - now.tv_sec) * 1000 + (d.tv_nsec - now.tv_nsec) / 1000000;
        ck_assert_int_ge(diff_ms, ms);
        ck_assert_int_le(diff_ms, ms + 1000);
    }
}
END_TEST

/* A monotonic condition variable times out at a saga_clock_deadline deadline. */
START_TEST(test_cond_waits_on_monotonic)
{
    pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
    pthread_cond_t cv;
    struct timespec d;

    ck_assert_int_eq(saga_clock_cond_init(&cv), 0);
    long long t0 = saga_clock_mono_ms();
    saga_clock_deadline(&d, 50);
    pthread_mutex_lock(&mu);
    int rc;
    while ((rc = pthread_cond_timedwait(&cv, &mu, &d)) == 0)
        ;
    pthread_mutex_unlock(&mu);
    ck_assert_int_eq(rc, ETIMEDOUT);
    ck_assert_int_ge(saga_clock_mono_ms() - t0, 50);
    pthread_cond_destroy(&cv);
}
END_TEST

START_TEST(test_clocks_agree)
{
    long long m0 = saga_clock_mono_ms();
    double s0 = saga_clock_mono_s();
    saga_clock_sleep_ms(20);
    ck_assert_int_ge(saga_clock_mono_ms() - m0, 20);
    ck_assert(saga_clock_mono_s() - s0 >= 0.02);
    /* the wall clock is past 2020-01-01 and in milliseconds */
    ck_assert_int_gt(saga_clock_wall_ms(), 1577836800000LL);
}
END_TEST

static Suite *clock_suite(void)
{
    Suite *s = suite_create("clock");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_random_fills_every_byte);
    tcase_add_test(tc, test_random_fails_cleanly);
    tcase_add_test(tc, test_deadline_is_normalised_and_ahead);
    tcase_add_test(tc, test_cond_waits_on_monotonic);
    tcase_add_test(tc, test_clocks_agree);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(clock_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
