/* check_json.c - saga_json_add_int writes integers exactly, where cJSON's doubles
 * would round or switch to exponent form. */
#include <check.h>
#include <limits.h>
#include <stdlib.h>

#include "saga/json.h"

START_TEST(test_int_exact)
{
    cJSON *o = cJSON_CreateObject();
    ck_assert(saga_json_add_int(o, "big", 9007199254740900LL)); /* past 2^53 - 1 */
    ck_assert(saga_json_add_int(o, "zero", 0));
    ck_assert(saga_json_add_int(o, "neg", -3));
    ck_assert(saga_json_add_int(o, "max", LLONG_MAX));
    ck_assert(saga_json_add_int(o, "min", LLONG_MIN));
    char *text = cJSON_PrintUnformatted(o);
    ck_assert_str_eq(text, "{\"big\":9007199254740900,\"zero\":0,\"neg\":-3,"
                           "\"max\":9223372036854775807,\"min\":-9223372036854775808}");
    cJSON_free(text);
    cJSON_Delete(o);
}
END_TEST

START_TEST(test_int_reads_back)
{
    cJSON *o = cJSON_CreateObject();
    ck_assert(saga_json_add_int(o, "amount", 123456789012345LL));
    char *text = cJSON_PrintUnformatted(o);
    cJSON *back = cJSON_Parse(text);
    ck_assert_ptr_nonnull(back);
    ck_assert(cJSON_IsNumber(cJSON_GetObjectItem(back, "amount")));
    ck_assert(cJSON_GetObjectItem(back, "amount")->valuedouble == 123456789012345.0);
    cJSON_Delete(back);
    cJSON_free(text);
    cJSON_Delete(o);
}
END_TEST

static Suite *json_suite(void)
{
    Suite *s = suite_create("json");
    TCase *core = tcase_create("core");
    tcase_add_test(core, test_int_exact);
    tcase_add_test(core, test_int_reads_back);
    suite_add_tcase(s, core);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(json_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
