/* check_payment.c - payment-service's domain rules: the decline decision and its
 * order, the wallet PUT and top-up rules, id and setting checks, the draw. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "saga/err.h"
#include "payment.h"

static payment_wallet wallet;
static payment_rules rules;

static void setup(void)
{
    memset(&wallet, 0, sizeof(wallet));
    snprintf(wallet.customer_id, sizeof(wallet.customer_id), "alice");
    wallet.balance = wallet.initial_balance = 10000;
    rules.limit = PAYMENT_LIMIT_DEFAULT;
    rules.failure_rate = 0.0;
}

/* --- core --- */

START_TEST(test_capture_when_every_rule_passes)
{
    ck_assert_int_eq(payment_decide(&wallet, 2500, &rules, 0.0), PAYMENT_DECLINE_NONE);
    ck_assert_int_eq(payment_decide(&wallet, 0, &rules, 0.5), PAYMENT_DECLINE_NONE);
}
END_TEST

START_TEST(test_each_reason_from_its_condition)
{
    ck_assert_int_eq(payment_decide(NULL, 1, &rules, 0.9), PAYMENT_DECLINE_WALLET_NOT_FOUND);
    wallet.blocked = true;
    ck_assert_int_eq(payment_decide(&wallet, 1, &rules, 0.9), PAYMENT_DECLINE_CUSTOMER_BLOCKED);
    wallet.blocked = false;
    wallet.balance = 10 * PAYMENT_LIMIT_DEFAULT;
    ck_assert_int_eq(payment_decide(&wallet, PAYMENT_LIMIT_DEFAULT + 1, &rules, 0.9),
                     PAYMENT_DECLINE_LIMIT_EXCEEDED);
    wallet.balance = 100;
    ck_assert_int_eq(payment_decide(&wallet, 101, &rules, 0.9), PAYMENT_DECLINE_INSUFFICIENT_FUNDS);
    rules.failure_rate = 0.25;
    ck_assert_int_eq(payment_decide(&wallet, 100, &rules, 0.1), PAYMENT_DECLINE_GATEWAY_ERROR);
    ck_assert_int_eq(payment_decide(&wallet, 100, &rules, 0.3), PAYMENT_DECLINE_NONE);
}
END_TEST

START_TEST(test_rules_apply_in_documented_order)
{
    /* everything wrong at once: blocked beats limit beats funds beats gateway */
    rules.failure_rate = 1.0;
    wallet.blocked = true;
    wallet.balance = 0;
    long long huge = PAYMENT_LIMIT_DEFAULT * 5;
    ck_assert_int_eq(payment_decide(NULL, huge, &rules, 0.0), PAYMENT_DECLINE_WALLET_NOT_FOUND);
    ck_assert_int_eq(payment_decide(&wallet, huge, &rules, 0.0), PAYMENT_DECLINE_CUSTOMER_BLOCKED);
    wallet.blocked = false;
    ck_assert_int_eq(payment_decide(&wallet, huge, &rules, 0.0), PAYMENT_DECLINE_LIMIT_EXCEEDED);
    ck_assert_int_eq(payment_decide(&wallet, 5, &rules, 0.0), PAYMENT_DECLINE_INSUFFICIENT_FUNDS);
    wallet.balance = 5;
    ck_assert_int_eq(payment_decide(&wallet, 5, &rules, 0.0), PAYMENT_DECLINE_GATEWAY_ERROR);
}
END_TEST

START_TEST(test_names_round_trip)
{
    const char *reasons[] = {"WALLET_NOT_FOUND", "CUSTOMER_BLOCKED", "LIMIT_EXCEEDED",
                             "INSUFFICIENT_FUNDS", "GATEWAY_ERROR"};
    for (int d = PAYMENT_DECLINE_WALLET_NOT_FOUND; d <= PAYMENT_DECLINE_GATEWAY_ERROR; d++) {
        payment_decline back;
        ck_assert_str_eq(payment_decline_str((payment_decline)d), reasons[d - 1]);
        ck_assert_int_eq(payment_decline_parse(reasons[d - 1], &back), 0);
        ck_assert_int_eq(back, d);
    }
    ck_assert_ptr_null(payment_decline_str(PAYMENT_DECLINE_NONE));
    const char *statuses[] = {"CAPTURED", "REFUNDED", "DECLINED"};
    for (int s = PAYMENT_CAPTURED; s <= PAYMENT_DECLINED; s++) {
        payment_status back;
        ck_assert_str_eq(payment_status_str((payment_status)s), statuses[s]);
        ck_assert_int_eq(payment_status_parse(statuses[s], &back), 0);
        ck_assert_int_eq(back, s);
    }
}
END_TEST

START_TEST(test_refund_only_captured)
{
    ck_assert(payment_refund_due(PAYMENT_CAPTURED));
    ck_assert(!payment_refund_due(PAYMENT_REFUNDED)); /* exactly once */
    ck_assert(!payment_refund_due(PAYMENT_DECLINED));
}
END_TEST

START_TEST(test_reservation_needs_the_order_created)
{
    payment_order_view v = {.known_customer = NULL};
    /* OrderCreated not seen: parked, whatever else is known */
    ck_assert_int_eq(payment_reserved_decide(&v, "alice"), PAYMENT_RESERVED_PARK);
    v.cancelled = v.has_payment = true;
    ck_assert_int_eq(payment_reserved_decide(&v, "alice"), PAYMENT_RESERVED_PARK);
    /* seen created: the rules of today */
    v = (payment_order_view){.known_customer = "alice"};
    ck_assert_int_eq(payment_reserved_decide(&v, "alice"), PAYMENT_RESERVED_CHARGE);
    v.has_payment = true;
    ck_assert_int_eq(payment_reserved_decide(&v, "alice"), PAYMENT_RESERVED_SKIP_DECIDED);
    v.cancelled = true; /* the cancellation wins over an existing payment */
    ck_assert_int_eq(payment_reserved_decide(&v, "alice"), PAYMENT_RESERVED_SKIP_CANCELLED);
    /* another customer's order is never charged, whatever its state */
    ck_assert_int_eq(payment_reserved_decide(&v, "mallory"), PAYMENT_RESERVED_OTHER_CUSTOMER);
    v.cancelled = v.has_payment = false;
    ck_assert_int_eq(payment_reserved_decide(&v, "mallory"), PAYMENT_RESERVED_OTHER_CUSTOMER);

    ck_assert_int_eq(payment_order_check("alice", "alice"), SAGA_OK);
    ck_assert_int_eq(payment_order_check(NULL, "alice"), SAGA_ERR_NOT_FOUND);
    ck_assert_int_eq(payment_order_check("alice", "bob"), SAGA_ERR_CONFLICT);
    ck_assert_str_eq(payment_reserved_action_str(PAYMENT_RESERVED_PARK), "PARK");
    ck_assert_str_eq(payment_reserved_action_str(PAYMENT_RESERVED_CHARGE), "CHARGE");
}
END_TEST

START_TEST(test_put_create_update_conflict)
{
    payment_put put = {.has_balance = true, .balance = 500};
    payment_put_action action;

    ck_assert_int_eq(payment_put_decide(NULL, &put, &action), SAGA_OK);
    ck_assert_int_eq(action, PAYMENT_PUT_CREATE);
    /* the same balance again (a replayed create) changes nothing */
    wallet.balance = 500;
    ck_assert_int_eq(payment_put_decide(&wallet, &put, &action), SAGA_OK);
    ck_assert_int_eq(action, PAYMENT_PUT_UNCHANGED);
    /* another balance: use topup */
    put.balance = 501;
    ck_assert_int_eq(payment_put_decide(&wallet, &put, &action), SAGA_ERR_CONFLICT);
    /* blocked alone */
    payment_put block = {.has_blocked = true, .blocked = true};
    ck_assert_int_eq(payment_put_decide(&wallet, &block, &action), SAGA_OK);
    ck_assert_int_eq(action, PAYMENT_PUT_UPDATE);
    wallet.blocked = true;
    ck_assert_int_eq(payment_put_decide(&wallet, &block, &action), SAGA_OK);
    ck_assert_int_eq(action, PAYMENT_PUT_UNCHANGED);
}
END_TEST

START_TEST(test_topup)
{
    ck_assert_int_eq(payment_topup_check(&wallet, 1), SAGA_OK);
    ck_assert_int_eq(payment_topup_check(&wallet, PAYMENT_TOPUP_MAX), SAGA_OK);
}
END_TEST

START_TEST(test_ids)
{
    ck_assert(payment_uuid_valid("0b6f3c1e-6d2a-4f7b-9a39-0c1d2e3f4a5b"));
    ck_assert(!payment_uuid_valid("0B6F3C1E-6D2A-4F7B-9A39-0C1D2E3F4A5B")); /* one spelling */
    ck_assert(payment_uuid_valid("019af0c2-7b1e-7a3c-9d4e-5f60718293a4")); /* v7 */
    ck_assert(payment_customer_id_valid("alice"));
    ck_assert(payment_customer_id_valid("happy-1700000000"));
    ck_assert(!payment_customer_id_valid("J\xc3\xbcrgen")); /* Jürgen: ASCII only */
    ck_assert(!payment_customer_id_valid("bob "));
}
END_TEST

START_TEST(test_draw_uniform_and_deterministic)
{
    uint64_t a = 42, b = 42;
    int below = 0;
    for (int i = 0; i < 100000; i++) {
        double x = payment_draw(&a);
        ck_assert(x >= 0.0 && x < 1.0);
        ck_assert(x == payment_draw(&b));
        below += x < 0.3;
    }
    /* a 30 % failure rate fails about 30 % of the time */
    ck_assert_int_gt(below, 29000);
    ck_assert_int_lt(below, 31000);
}
END_TEST

/* --- limits --- */

START_TEST(test_limit_and_balance_boundaries)
{
    wallet.balance = PAYMENT_LIMIT_DEFAULT;
    ck_assert_int_eq(payment_decide(&wallet, PAYMENT_LIMIT_DEFAULT, &rules, 0.0),
                     PAYMENT_DECLINE_NONE); /* equal to the limit and to the balance: fine */
    ck_assert_int_eq(payment_decide(&wallet, PAYMENT_LIMIT_DEFAULT + 1, &rules, 0.0),
                     PAYMENT_DECLINE_LIMIT_EXCEEDED);
    rules.limit = 0;
    ck_assert_int_eq(payment_decide(&wallet, 0, &rules, 0.0), PAYMENT_DECLINE_NONE);
    ck_assert_int_eq(payment_decide(&wallet, 1, &rules, 0.0), PAYMENT_DECLINE_LIMIT_EXCEEDED);
    rules.limit = PAYMENT_MONEY_MAX;
    wallet.balance = PAYMENT_MONEY_MAX;
    ck_assert_int_eq(payment_decide(&wallet, PAYMENT_MONEY_MAX, &rules, 0.0), PAYMENT_DECLINE_NONE);
    wallet.balance = 0;
    ck_assert_int_eq(payment_decide(&wallet, 0, &rules, 0.0), PAYMENT_DECLINE_NONE);
}
END_TEST

START_TEST(test_failure_rate_extremes)
{
    /* rate 0 never fails, rate 1 always does (draws are below 1) */
    for (double draw = 0.0; draw < 1.0; draw += 0.125) {
        rules.failure_rate = 0.0;
        ck_assert_int_eq(payment_decide(&wallet, 1, &rules, draw), PAYMENT_DECLINE_NONE);
        rules.failure_rate = 1.0;
        ck_assert_int_eq(payment_decide(&wallet, 1, &rules, draw), PAYMENT_DECLINE_GATEWAY_ERROR);
    }
    ck_assert_int_eq(payment_decide(&wallet, 1, &rules, 0.9999999999),
                     PAYMENT_DECLINE_GATEWAY_ERROR);
}
END_TEST

START_TEST(test_rate_parse)
{
    double r = -1;
    ck_assert_int_eq(payment_rate_parse(NULL, &r), 0);
    ck_assert(r == 0.0);
    ck_assert_int_eq(payment_rate_parse("", &r), 0);
    ck_assert_int_eq(payment_rate_parse("0.25", &r), 0);
    ck_assert(r == 0.25);
    ck_assert_int_eq(payment_rate_parse("1", &r), 0);
    ck_assert(r == 1.0);
    ck_assert_int_eq(payment_rate_parse("1.0", &r), 0);
    ck_assert_int_eq(payment_rate_parse(".5", &r), 0);
    ck_assert(r == 0.5);
    const char *bad[] = {"-0.1", "1.01", "2",     "abc",  "0.5x", " 0.5",
                         "nan",  "inf",  "0x0.8", "+0.5", "1e9"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        ck_assert_msg(payment_rate_parse(bad[i], &r) == -1, "accepted %s", bad[i]);
}
END_TEST

START_TEST(test_topup_limits)
{
    ck_assert_int_eq(payment_topup_check(&wallet, 0), SAGA_ERR_INVALID);
    ck_assert_int_eq(payment_topup_check(&wallet, -5), SAGA_ERR_INVALID);
    ck_assert_int_eq(payment_topup_check(&wallet, PAYMENT_TOPUP_MAX + 1), SAGA_ERR_INVALID);
    wallet.balance = wallet.initial_balance = PAYMENT_MONEY_MAX - 10;
    ck_assert_int_eq(payment_topup_check(&wallet, 10), SAGA_OK);
    ck_assert_int_eq(payment_topup_check(&wallet, 11), SAGA_ERR_CONFLICT);
    /* most of the money is captured: a refund would bring it back past the maximum */
    wallet.initial_balance = 0;
    wallet.topped_up = PAYMENT_MONEY_MAX - 5;
    wallet.balance = 0;
    ck_assert_int_eq(payment_topup_check(&wallet, 5), SAGA_OK);
    ck_assert_int_eq(payment_topup_check(&wallet, 6), SAGA_ERR_CONFLICT);
}
END_TEST

START_TEST(test_id_limits)
{
    char id[300];
    memset(id, 'a', 64);
    id[64] = '\0';
    ck_assert(payment_customer_id_valid(id));
    id[64] = 'a';
    id[65] = '\0';
    ck_assert(!payment_customer_id_valid(id));
    /* ASCII only: one spelling, no Unicode look-alikes or normal forms */
    for (int i = 0; i < 64; i++)
        memcpy(id + 2 * i, "\xc3\xa9", 2);
    id[128] = '\0';
    ck_assert(!payment_customer_id_valid(id));
    ck_assert(!payment_customer_id_valid(""));
    ck_assert(!payment_customer_id_valid(NULL));
    ck_assert(!payment_customer_id_valid("tab\there"));
    ck_assert(!payment_customer_id_valid("del\x7f"));
    ck_assert(!payment_customer_id_valid("c1\xc2\x85"));      /* NEL */
    ck_assert(!payment_customer_id_valid("bad\xff"));         /* not UTF-8 */
    ck_assert(!payment_customer_id_valid("cut\xc3"));         /* truncated sequence */
    ck_assert(!payment_customer_id_valid("over\xc0\xaf"));    /* overlong '/' */
    ck_assert(!payment_customer_id_valid("sur\xed\xa0\x80")); /* surrogate */
    ck_assert(!payment_customer_id_valid("big\xf4\x90\x80\x80"));

    ck_assert(!payment_uuid_valid(NULL));
    ck_assert(!payment_uuid_valid(""));
    ck_assert(!payment_uuid_valid("0b6f3c1e-6d2a-4f7b-9a39-0c1d2e3f4a5"));   /* short */
    ck_assert(!payment_uuid_valid("0b6f3c1e-6d2a-4f7b-9a39-0c1d2e3f4a5bb")); /* long */
    ck_assert(!payment_uuid_valid("0b6f3c1e 6d2a-4f7b-9a39-0c1d2e3f4a5b"));
    ck_assert(!payment_uuid_valid("0b6f3c1g-6d2a-4f7b-9a39-0c1d2e3f4a5b"));
}
END_TEST

START_TEST(test_amount_limits)
{
    long long v = -1;
    ck_assert(payment_amount_from_double(0.0, &v));
    ck_assert_int_eq(v, 0);
    ck_assert(payment_amount_from_double(9007199254740991.0, &v));
    ck_assert_int_eq(v, PAYMENT_MONEY_MAX);
    ck_assert(!payment_amount_from_double(9007199254740992.0, &v));
    ck_assert(!payment_amount_from_double(-1.0, &v));
    ck_assert(!payment_amount_from_double(1.5, &v));
    ck_assert(!payment_amount_from_double(strtod("nan", NULL), &v));
    ck_assert(!payment_amount_from_double(strtod("inf", NULL), &v));
}
END_TEST

START_TEST(test_unknown_names)
{
    payment_status s;
    payment_decline d;
    ck_assert_int_eq(payment_status_parse("captured", &s), -1);
    ck_assert_int_eq(payment_status_parse(NULL, &s), -1);
    ck_assert_int_eq(payment_decline_parse("", &d), -1);
    ck_assert_int_eq(payment_decline_parse(NULL, &d), -1);
    ck_assert_str_eq(payment_status_str((payment_status)99), "UNKNOWN");
    ck_assert_ptr_null(payment_decline_str((payment_decline)99));
}
END_TEST

START_TEST(test_order_check_limits)
{
    /* exact comparison: case, trailing blanks and other normalisations differ */
    ck_assert_int_eq(payment_order_check("alice", "Alice"), SAGA_ERR_CONFLICT);
    ck_assert_int_eq(payment_order_check("alice", "alice "), SAGA_ERR_CONFLICT);
    ck_assert_int_eq(payment_order_check("caf\xc3\xa9", "cafe\xcc\x81"), SAGA_ERR_CONFLICT);
    ck_assert_int_eq(payment_order_check("alice", NULL), SAGA_ERR_CONFLICT);
    ck_assert_int_eq(payment_order_check(NULL, NULL), SAGA_ERR_NOT_FOUND);
    payment_order_view v = {.known_customer = ""};
    ck_assert_int_eq(payment_reserved_decide(&v, "alice"), PAYMENT_RESERVED_OTHER_CUSTOMER);
    ck_assert_str_eq(payment_reserved_action_str((payment_reserved_action)99), "UNKNOWN");
}
END_TEST

static Suite *payment_suite(void)
{
    Suite *s = suite_create("payment");
    TCase *core = tcase_create("core");
    tcase_add_checked_fixture(core, setup, NULL);
    tcase_add_test(core, test_capture_when_every_rule_passes);
    tcase_add_test(core, test_each_reason_from_its_condition);
    tcase_add_test(core, test_rules_apply_in_documented_order);
    tcase_add_test(core, test_names_round_trip);
    tcase_add_test(core, test_refund_only_captured);
    tcase_add_test(core, test_reservation_needs_the_order_created);
    tcase_add_test(core, test_put_create_update_conflict);
    tcase_add_test(core, test_topup);
    tcase_add_test(core, test_ids);
    tcase_add_test(core, test_draw_uniform_and_deterministic);
    suite_add_tcase(s, core);
    TCase *limits = tcase_create("limits");
    tcase_add_checked_fixture(limits, setup, NULL);
    tcase_add_test(limits, test_limit_and_balance_boundaries);
    tcase_add_test(limits, test_failure_rate_extremes);
    tcase_add_test(limits, test_rate_parse);
    tcase_add_test(limits, test_topup_limits);
    tcase_add_test(limits, test_id_limits);
    tcase_add_test(limits, test_amount_limits);
    tcase_add_test(limits, test_unknown_names);
    tcase_add_test(limits, test_order_check_limits);
    suite_add_tcase(s, limits);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(payment_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
