/* check_text.c - saga/text.h: UTF-8 sequences read within a bound, untrusted text
 * made safe, and an id's text to its 16 bytes and back, the canonical form only
 * (the identifier rules are checked in check_order.c). */
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

START_TEST(test_uuid_bytes)
{
    const char *text = "0193a5b2-7c1d-7e2f-8a3b-4c5d6e7f8091";
    unsigned char b[16], untouched[16];
    char back[SAGA_TEXT_UUID_LEN + 1];

    ck_assert(saga_text_uuid_to_bytes(text, b));
    ck_assert_int_eq(b[0], 0x01);
    ck_assert_int_eq(b[3], 0xb2);
    ck_assert_int_eq(b[4], 0x7c); /* after the first dash */
    ck_assert_int_eq(b[15], 0x91);
    saga_text_uuid_from_bytes(b, back);
    ck_assert_str_eq(back, text);
    /* the bytes sort as the texts do (what keeps v7 ids at the end of an index) */
    unsigned char lo[16], hi[16];
    ck_assert(saga_text_uuid_to_bytes("0193a5b2-7c1d-7e2f-8a3b-4c5d6e7f8091", lo));
    ck_assert(saga_text_uuid_to_bytes("0193a5b2-7c1d-7e2f-8a3b-4c5d6e7f80a0", hi));
    ck_assert_int_lt(memcmp(lo, hi, 16), 0);
    /* only the canonical form: no other spelling is turned into the same bytes */
    memset(untouched, 0xee, sizeof(untouched));
    memcpy(b, untouched, sizeof(b));
    ck_assert(!saga_text_uuid_to_bytes("0193A5B2-7C1D-7E2F-8A3B-4C5D6E7F8091", b));
    ck_assert(!saga_text_uuid_to_bytes("0193a5b27c1d7e2f8a3b4c5d6e7f8091", b));
    ck_assert(!saga_text_uuid_to_bytes("0193a5b2-7c1d-7e2f-8a3b-4c5d6e7f809", b));
    ck_assert(!saga_text_uuid_to_bytes("0193a5b2-7c1d-7e2f-8a3b-4c5d6e7f8091 ", b));
    ck_assert(!saga_text_uuid_to_bytes("", b));
    ck_assert(!saga_text_uuid_to_bytes(NULL, b));
    ck_assert_mem_eq(b, untouched, sizeof(b));
    unsigned char zero[16] = {0};
    saga_text_uuid_from_bytes(zero, back);
    ck_assert_str_eq(back, SAGA_TEXT_UUID_NIL);
}
END_TEST

static Suite *text_suite(void)
{
    Suite *s = suite_create("text");
    TCase *core = tcase_create("core");
    tcase_add_test(core, test_utf8_sequence_lengths);
    tcase_add_test(core, test_text_clean);
    tcase_add_test(core, test_uuid_bytes);
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
