/* check_log.c - log lines: the trace context a thread sets from a W3C traceparent. */
#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "saga/log.h"

#define TP "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"

/* The lines written while fn(ud) runs, captured from stdout (the caller frees). */
static char *capture(void (*fn)(void *), void *ud)
{
    char path[] = "/tmp/check_log.XXXXXX";
    int fd = mkstemp(path), saved = dup(STDOUT_FILENO);
    ck_assert_int_ge(fd, 0);
    fflush(stdout);
    dup2(fd, STDOUT_FILENO);
    fn(ud);
    fflush(stdout);
    dup2(saved, STDOUT_FILENO);
    close(saved);
    char *buf = calloc(1, 65536);
    ssize_t n = pread(fd, buf, 65535, 0);
    ck_assert_int_ge(n, 0);
    close(fd);
    unlink(path);
    return buf;
}

static void log_one(void *ud)
{
    saga_log_write(SAGA_LOG_INFO, "test.line", NULL, "%s", (const char *)ud);
}

START_TEST(test_lines_carry_the_trace)
{
    ck_assert(saga_log_trace_set(TP));
    char *text = capture(log_one, "inside");
    ck_assert_ptr_nonnull(strstr(text, "\"trace_id\":\"0af7651916cd43dd8448eb211c80319c\","
                                       "\"span_id\":\"b7ad6b7169203331\""));
    free(text);
    saga_log_trace_clear();
    text = capture(log_one, "outside");
    ck_assert_ptr_null(strstr(text, "trace_id"));
    ck_assert_ptr_null(strstr(text, "span_id"));
    free(text);
}
END_TEST

static void *other_thread(void *ud)
{
    *(char **)ud = capture(log_one, "other thread");
    return NULL;
}

START_TEST(test_trace_is_per_thread)
{
    char *text = NULL;
    pthread_t t;
    ck_assert(saga_log_trace_set(TP));
    pthread_create(&t, NULL, other_thread, &text);
    pthread_join(t, NULL);
    ck_assert_ptr_null(strstr(text, "trace_id"));
    free(text);
    saga_log_trace_clear();
}
END_TEST

START_TEST(test_malformed_traceparents_clear_it)
{
    static const char *const bad[] = {
        NULL,
        "",
        "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331",      /* no flags */
        "00-0AF7651916CD43DD8448EB211C80319C-b7ad6b7169203331-01",   /* upper case */
        "00-00000000000000000000000000000000-b7ad6b7169203331-01",   /* zero trace id */
        "00-0af7651916cd43dd8448eb211c80319c-0000000000000000-01",   /* zero span id */
        "ff-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",   /* version ff */
        "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01-x", /* 00 is 55 long */
        "00_0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
        "00-0af7651916cd43dd8448eb211c80319g-b7ad6b7169203331-01", /* not hex */
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ck_assert(saga_log_trace_set(TP));
        ck_assert_msg(!saga_log_trace_set(bad[i]), "accepted %s", bad[i] ? bad[i] : "NULL");
        char *text = capture(log_one, "after a bad one");
        ck_assert_ptr_null(strstr(text, "trace_id"));
        free(text);
    }
    /* a later version may append fields */
    ck_assert(saga_log_trace_set("01-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01-ab"));
    saga_log_trace_clear();
}
END_TEST

static Suite *log_suite(void)
{
    Suite *s = suite_create("log");
    TCase *core = tcase_create("core");
    tcase_add_test(core, test_lines_carry_the_trace);
    tcase_add_test(core, test_trace_is_per_thread);
    suite_add_tcase(s, core);
    TCase *limits = tcase_create("limits");
    tcase_add_test(limits, test_malformed_traceparents_clear_it);
    suite_add_tcase(s, limits);
    return s;
}

int main(void)
{
    saga_log_init("check", SAGA_LOG_DEBUG);
    SRunner *sr = srunner_create(log_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
