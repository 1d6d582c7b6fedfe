/* check_text.c - saga/text.h: UTF-8 sequences read within a bound, and untrusted
 * text made safe (the identifier rules are checked in check_order.c). */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "saga/text.h"

START_TEST(test_utf8_sequence_lengths)
{
    ck_assert_uint_eq(saga_utf8_sequence("a", 1), 1);
    ck_assert_uint_eq(saga_utf8_sequence("\0", 1), 1); /* NUL is ASCII; callers decide */
    ck_assert_uint_eq(saga_utf8_sequence("\xc3\xa9", 2), 2);             /* U+00E9 */
    ck_assert_uint_eq(saga_utf8_sequence("\xe2\x82\xac", 3), 3);         /* U+20AC */
    ck_assert_uint_eq(saga_utf8_sequence("\xf0\x9f\x98\x80", 4), 4);     /* U+1F600 */
    ck_assert_uint_eq(saga_utf8_sequence("\xf4\x8f\xbf\xbf", 4), 4);     /* U+10FFFF */
}
END_TEST

START_TEST(test_utf8_sequence_invalid)
{
    ck_assert_uint_eq(saga_utf8_sequence("a", 0), 0);
    ck_assert_uint_eq(saga_utf8_sequence("\x80", 1), 0);                 /* lone continuation */
    ck_assert_uint_eq(saga_utf8_sequence("\xc0\xaf", 2), 0);             /* overlong '/' */
    ck_assert_uint_eq(saga_utf8_sequence("\xe0\x80\xaf", 3), 0);         /* overlong */
    ck_assert_uint_eq(saga_utf8_sequence("\xed\xa0\x80", 3), 0);         /* surrogate */
    ck_assert_uint_eq(saga_utf8_sequence("\xf4\x90\x80\x80", 4), 0);     /* past U+10FFFF */
    ck_assert_uint_eq(saga_utf8_sequence("\xf5\x80\x80\x80", 4), 0);
    ck_assert_uint_eq(saga_utf8_sequence("\xc3\x28", 2), 0);             /* bad continuation */
}
END_TEST

START_TEST(test_utf8_sequence_bounded)
{
    /* a sequence cut by the bound is not read past it: the bytes after it are valid
     * continuations, but they are not the caller's */
    const char buf[] = "\xe2\x82\xac";
    ck_assert_uint_eq(saga_utf8_sequence(buf, 2), 0);
    ck_assert_uint_eq(saga_utf8_sequence(buf, 1), 0);
    ck_assert_uint_eq(saga_utf8_sequence("\xf0\x9f\x98\x80", 3), 0);
    ck_assert_uint_eq(saga_utf8_sequence("\xc3\xa9", 1), 0);
}
END_TEST

START_TEST(test_text_clean)
{
    char s1[] = "caf\xc3\xa9 ok";
    saga_text_clean(s1);
    ck_assert_str_eq(s1, "caf\xc3\xa9 ok");
    char s2[] = "a\tb\x7f" "c\x80" "d\xe2\x82"; /* control, DEL, lone byte, cut sequence */
    saga_text_clean(s2);
    ck_assert_str_eq(s2, "a?b?c?d??");
    char s3[] = "";
    saga_text_clean(s3);
    ck_assert_str_eq(s3, "");
    saga_text_clean(NULL);
}
END_TEST

static Suite *text_suite(void)
{
    Suite *s = suite_create("text");
    TCase *core = tcase_create("core");
    tcase_add_test(core, test_utf8_sequence_lengths);
    tcase_add_test(core, test_text_clean);
    suite_add_tcase(s, core);
    TCase *limits = tcase_create("limits");
    tcase_add_test(limits, test_utf8_sequence_invalid);
    tcase_add_test(limits, test_utf8_sequence_bounded);
    suite_add_tcase(s, limits);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(text_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
