/* check_db_text.c - DATETIME text to and from RFC 3339, and repeated SQL lists. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "saga/db.h"
#include "saga/err.h"

START_TEST(test_time_to_rfc3339)
{
    static const char *const cases[][2] = {
        {"2026-11-22 10:00:00.123", "2026-11-22T10:00:00.123Z"},
        {"2026-11-22 10:00:00", "2026-11-22T10:00:00.000Z"},
        {"2026-11-22 10:00:00.1", "2026-11-22T10:00:00.100Z"},
        {"2026-11-22 10:00:00.5", "2026-11-22T10:00:00.500Z"},
        {"2026-11-22 10:00:00.123456", "2026-11-22T10:00:00.123Z"},
        /* DATE_FORMAT(c, '%Y-%m-%dT%H:%i:%s.%f') */
        {"2026-11-22T10:00:00.123456", "2026-11-22T10:00:00.123Z"},
    };
    char t[SAGA_DB_RFC3339_LEN + 1];
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        ck_assert_int_eq(saga_db_time_to_rfc3339(cases[i][0], t), SAGA_OK);
        ck_assert_str_eq(t, cases[i][1]);
    }
}
END_TEST

START_TEST(test_time_to_rfc3339_bad)
{
    static const char *const bad[] = {"",
                                      "2026-11-22",
                                      "2026-11-22 10:00:00.",
                                      "2026-11-22 10:00:00.1234567",
                                      "2026-11-22 10:00:00Z",
                                      "2026-11-22 10:00",
                                      "abcd-11-22 10:00:00",
                                      "2026/11/22 10:00:00",
                                      "2026-11-22 10:00:00 ",
                                      "2026-11-22 10:00:00.12a"};
    char t[SAGA_DB_RFC3339_LEN + 1];
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        ck_assert_msg(saga_db_time_to_rfc3339(bad[i], t) == SAGA_ERR_INVALID, "accepted %s",
                      bad[i]);
    ck_assert_int_eq(saga_db_time_to_rfc3339(NULL, t), SAGA_ERR_INVALID);
}
END_TEST

START_TEST(test_time_from_ms)
{
    char s[SAGA_DB_TIME_LEN + 1];
    saga_db_time_from_ms(0, s);
    ck_assert_str_eq(s, "1970-01-01 00:00:00.000");
    saga_db_time_from_ms(1795348648476LL, s);
    ck_assert_str_eq(s, "2026-11-22 11:57:28.476");
    saga_db_time_from_ms(1795341600123LL, s);
    ck_assert_str_eq(s, "2026-11-22 10:00:00.123");
    saga_db_time_from_ms(-1, s); /* a millisecond before the epoch */
    ck_assert_str_eq(s, "1969-12-31 23:59:59.999");
}
END_TEST

START_TEST(test_sql_list)
{
    char sql[64];
    size_t len = saga_db_sql_list(sql, sizeof(sql), "VALUES ", "(?,?)", 3, "");
    ck_assert_str_eq(sql, "VALUES (?,?),(?,?),(?,?)");
    ck_assert_uint_eq(len, strlen(sql));
    len = saga_db_sql_list(sql, sizeof(sql), "DELETE FROM t WHERE id IN (", "?", 4, ")");
    ck_assert_str_eq(sql, "DELETE FROM t WHERE id IN (?,?,?,?)");
    ck_assert_uint_eq(len, strlen(sql));
    /* exactly full (the NUL included) fits; one byte short does not */
    char exact[sizeof("a?,?b")];
    ck_assert_uint_eq(saga_db_sql_list(exact, sizeof(exact), "a", "?", 2, "b"), 5);
    ck_assert_str_eq(exact, "a?,?b");
    ck_assert_uint_eq(saga_db_sql_list(exact, sizeof(exact) - 1, "a", "?", 2, "b"), 0);
    ck_assert_uint_eq(saga_db_sql_list(sql, 4, "SELECT", "?", 1, ""), 0);
    ck_assert_uint_eq(saga_db_sql_list(sql, sizeof(sql), "x", "?", 40, ")"), 0);
}
END_TEST

static Suite *db_text_suite(void)
{
    Suite *s = suite_create("db_text");
    TCase *core = tcase_create("core");
    tcase_add_test(core, test_time_to_rfc3339);
    tcase_add_test(core, test_time_from_ms);
    tcase_add_test(core, test_sql_list);
    suite_add_tcase(s, core);
    TCase *limits = tcase_create("limits");
    tcase_add_test(limits, test_time_to_rfc3339_bad);
    suite_add_tcase(s, limits);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(db_text_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
