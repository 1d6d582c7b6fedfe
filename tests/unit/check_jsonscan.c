/* check_jsonscan.c - finding a NUL inside a JSON string on the raw text (jsonscan.h):
 * escapes and raw bytes, escaped backslashes that only look like one, and the path
 * reported for values, member names, arrays and deep nesting. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "saga/jsonscan.h"

static void expect_nul(const char *json, const char *path)
{
    char where[128] = "x";
    ck_assert_msg(saga_json_find_nul(json, strlen(json), where, sizeof(where)), "missed in %s",
                  json);
    ck_assert_msg(strcmp(where, path) == 0, "%s: path \"%s\", expected \"%s\"", json, where, path);
}

static void expect_clean(const char *json)
{
    char where[128];
    ck_assert_msg(!saga_json_find_nul(json, strlen(json), where, sizeof(where)),
                  "false NUL in %s at %s", json, where);
}

START_TEST(test_escapes)
{
    expect_nul("\"\\u0000\"", "");
    expect_nul("{\"sku\":\"a\\u0000b\"}", "sku");
    expect_nul("{\"items\":[{\"sku\":\"ok\",\"quantity\":1},{\"sku\":\"a\\u0000\"}]}",
               "items[1].sku");
    expect_nul("[1,[2,\"\\u0000\"]]", "[1][1]");
    expect_nul("{\"a\":{\"b\":{\"c\":[\"x\",\"y\",\"\\u0000\"]}}}", "a.b.c[2]");
    /* a NUL in a member name: named by what precedes it */
    expect_nul("{\"ok\":1,\"na\\u0000me\":2}", "na");
    /* no NUL: an escaped backslash followed by the text u0000, other escapes; but
     * \u00000 is U+0000 followed by "0" */
    expect_clean("{\"a\":\"\\\\u0000\"}");
    expect_clean("{\"a\":\"\\\\\\\\u0000\"}");
    expect_clean("{\"a\":\"\\u0001\\u1000\\u0100\\\"x\"}");
    expect_nul("{\"a\":\"\\u00000\"}", "a");
}
END_TEST

START_TEST(test_raw_bytes)
{
    const char text[] = "{\"customerId\":\"alice\0evil\"}";
    char where[64];
    ck_assert(saga_json_find_nul(text, sizeof(text) - 1, where, sizeof(where)));
    ck_assert_str_eq(where, "customerId");
    /* only len bytes are looked at */
    ck_assert(!saga_json_find_nul(text, 20, where, sizeof(where)));
    ck_assert(!saga_json_find_nul(NULL, 0, where, sizeof(where)));
    /* a cut-off escape at the end is no NUL, and no overrun */
    ck_assert(!saga_json_find_nul("\"\\u000", 6, where, sizeof(where)));
    /* no room for a path is fine */
    ck_assert(saga_json_find_nul("{\"a\":\"\\u0000\"}", 14, NULL, 0));
}
END_TEST

START_TEST(test_deep_and_long)
{
    /* nesting deeper than the scanner keeps: still found */
    char deep[512] = "";
    for (int i = 0; i < 100; i++)
        strcat(deep, "[");
    strcat(deep, "\"\\u0000\"");
    for (int i = 0; i < 100; i++)
        strcat(deep, "]");
    char where[16];
    ck_assert(saga_json_find_nul(deep, strlen(deep), where, sizeof(where)));
    ck_assert_uint_lt(strlen(where), sizeof(where)); /* cut to fit */
    /* a long member name is cut to fit the path buffer */
    char longname[400] = "{\"";
    memset(longname + 2, 'n', 300);
    strcpy(longname + 302, "\":\"\\u0000\"}");
    ck_assert(saga_json_find_nul(longname, strlen(longname), where, sizeof(where)));
    ck_assert_str_eq(where, "nnnnnnnnnnnnnnn");
}
END_TEST

int main(void)
{
    Suite *s = suite_create("jsonscan");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_escapes);
    tcase_add_test(tc, test_raw_bytes);
    tcase_add_test(tc, test_deep_and_long);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
