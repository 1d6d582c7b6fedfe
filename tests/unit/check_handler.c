/* check_handler.c - what the services' event handlers share: a rejection carries its
 * reason (cut to the buffer, never past it) and is SAGA_ERR_INVALID; a database failure
 * keeps its code; typed members of an event's data are read exactly, and a member of
 * the wrong type, with a fraction or out of range is refused. */
#include <check.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <cjson/cJSON.h>

#include "saga/err.h"
#include "saga/handler.h"

START_TEST(test_reject_writes_the_reason)
{
    char why[64] = "";
    saga_msg_meta meta = {.err = why, .errlen = sizeof(why)};
    ck_assert_int_eq(saga_event_reject(&meta, "unknown order %s", "o-1"), SAGA_ERR_INVALID);
    ck_assert_str_eq(why, "unknown order o-1");
    /* no meta, or no buffer: only the code */
    ck_assert_int_eq(saga_event_reject(NULL, "x"), SAGA_ERR_INVALID);
    saga_msg_meta none = {0};
    ck_assert_int_eq(saga_event_reject(&none, "x"), SAGA_ERR_INVALID);
}
END_TEST

START_TEST(test_reject_stays_in_its_buffer)
{
    char buf[16];
    memset(buf, 'z', sizeof(buf));
    saga_msg_meta meta = {.err = buf, .errlen = 8};
    ck_assert_int_eq(saga_event_reject(&meta, "%s", "a reason longer than eight"), SAGA_ERR_INVALID);
    ck_assert_str_eq(buf, "a reaso");
    ck_assert_int_eq(buf[8], 'z');
}
END_TEST

START_TEST(test_data_str)
{
    cJSON *d = cJSON_Parse("{\"orderId\":\"o-1\",\"amount\":5,\"none\":null}");
    ck_assert_ptr_nonnull(d);
    ck_assert_str_eq(saga_data_str(d, "orderId"), "o-1");
    ck_assert_ptr_null(saga_data_str(d, "amount")); /* not a string */
    ck_assert_ptr_null(saga_data_str(d, "none"));
    ck_assert_ptr_null(saga_data_str(d, "missing"));
    ck_assert_ptr_null(saga_data_str(d, "OrderId")); /* names are case-sensitive */
    ck_assert_ptr_null(saga_data_str(NULL, "orderId"));
    cJSON_Delete(d);
}
END_TEST

START_TEST(test_data_int)
{
    cJSON *d = cJSON_Parse("{\"q\":3,\"big\":9007199254740991,\"frac\":1.5,\"neg\":-2,"
                           "\"text\":\"3\",\"exp\":1e3}");
    long long v = 77;
    ck_assert_ptr_nonnull(d);
    ck_assert(saga_data_int(d, "q", 1, 1000, &v));
    ck_assert_int_eq(v, 3);
    ck_assert(saga_data_int(d, "big", 0, SAGA_DATA_INT_MAX, &v));
    ck_assert(v == 9007199254740991LL);
    ck_assert(saga_data_int(d, "exp", 0, 1000, &v)); /* 1e3 is the integer 1000 */
    ck_assert_int_eq(v, 1000);
    v = 77;
    ck_assert(!saga_data_int(d, "frac", 0, 10, &v));
    ck_assert(!saga_data_int(d, "neg", 0, 10, &v));
    ck_assert(saga_data_int(d, "neg", -SAGA_DATA_INT_MAX, SAGA_DATA_INT_MAX, &v));
    ck_assert_int_eq(v, -2);
    v = 77;
    ck_assert(!saga_data_int(d, "q", 4, 10, &v));
    ck_assert(!saga_data_int(d, "text", 0, 10, &v));
    ck_assert(!saga_data_int(d, "missing", 0, 10, &v));
    ck_assert_int_eq(v, 77); /* untouched when refused */
    cJSON_Delete(d);
}
END_TEST

static Suite *handler_suite(void)
{
    Suite *s = suite_create("handler");
    TCase *core = tcase_create("core");
    tcase_add_test(core, test_reject_writes_the_reason);
    tcase_add_test(core, test_data_str);
    tcase_add_test(core, test_data_int);
    suite_add_tcase(s, core);
    TCase *limits = tcase_create("limits");
    tcase_add_test(limits, test_reject_stays_in_its_buffer);
    suite_add_tcase(s, limits);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(handler_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
