/* check_inventory.c - inventory-service's pure domain rules (services/inventory/inventory.c):
 * skus, names, order ids, page limits, reserve-or-shortage and pricing, reservation
 * transitions, stock limits, the sold-out hint. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "saga/err.h"
#include "inventory.h"

static inventory_line line(const char *sku, long long q, bool found, long long avail,
                           long long price)
{
    return (inventory_line){
        .sku = sku, .quantity = q, .found = found, .available = avail, .price = price};
}

/* --- core --- */

START_TEST(test_sku_pattern)
{
    ck_assert(inventory_sku_valid("A"));
    ck_assert(inventory_sku_valid("sku-1.2_3"));
    ck_assert(inventory_sku_valid("9lives"));
    ck_assert(!inventory_sku_valid(""));
    ck_assert(!inventory_sku_valid(NULL));
    ck_assert(!inventory_sku_valid("-abc"));
    ck_assert(!inventory_sku_valid(".abc"));
    ck_assert(!inventory_sku_valid("a b"));
    ck_assert(!inventory_sku_valid("a/b"));
    ck_assert(!inventory_sku_valid("caf\xc3\xa9"));
}
END_TEST

START_TEST(test_name_rules)
{
    ck_assert(inventory_name_valid("Coffee mug"));
    ck_assert(inventory_name_valid("Caf\xc3\xa9 \xe2\x98\x95 \xf0\x9f\x8d\xb5"));
    ck_assert(!inventory_name_valid(""));
    ck_assert(!inventory_name_valid(NULL));
    ck_assert(!inventory_name_valid("tab\there"));
    ck_assert(!inventory_name_valid("line\nbreak"));
    ck_assert(!inventory_name_valid("bad \xc3"));             /* truncated sequence */
    ck_assert(!inventory_name_valid("over \xc0\xaf"));        /* overlong '/' */
    ck_assert(!inventory_name_valid("sur \xed\xa0\x80"));     /* UTF-16 surrogate */
    ck_assert(!inventory_name_valid("big \xf4\x90\x80\x80")); /* past U+10FFFF */
}
END_TEST

START_TEST(test_order_id_and_currency)
{
    ck_assert(inventory_order_id_valid("0f8fad5b-d9cb-469f-a165-70867728950e"));
    /* one spelling: the database compares ids byte for byte */
    ck_assert(!inventory_order_id_valid("0F8FAD5B-D9CB-469F-A165-70867728950E"));
    ck_assert(!inventory_order_id_valid("0f8fad5b-d9cb-469f-a165-70867728950e "));
    ck_assert(inventory_order_id_valid("019af0c2-7b1e-7a3c-9d4e-5f60718293a4")); /* v7 */
    ck_assert(!inventory_order_id_valid("0f8fad5b-d9cb-469f-a165-70867728950"));
    ck_assert(!inventory_order_id_valid("0f8fad5b-d9cb-469f-a165-70867728950e1"));
    ck_assert(!inventory_order_id_valid("0f8fad5bxd9cb-469f-a165-70867728950e"));
    ck_assert(!inventory_order_id_valid("0f8fad5b-d9cb-469f-a165-70867728950g"));
    ck_assert(!inventory_order_id_valid(NULL));
    ck_assert(inventory_currency_valid("EUR"));
    ck_assert(!inventory_currency_valid("eur"));
    ck_assert(!inventory_currency_valid("EURO"));
    ck_assert(!inventory_currency_valid(""));
}
END_TEST

START_TEST(test_page_limit)
{
    int limit = 0;
    ck_assert_int_eq(inventory_page_limit_parse(NULL, &limit), SAGA_OK);
    ck_assert_int_eq(limit, 20);
    ck_assert_int_eq(inventory_page_limit_parse("1", &limit), SAGA_OK);
    ck_assert_int_eq(limit, 1);
    ck_assert_int_eq(inventory_page_limit_parse("100", &limit), SAGA_OK);
    ck_assert_int_eq(limit, 100);
    ck_assert_int_eq(inventory_page_limit_parse("0", &limit), SAGA_ERR_INVALID);
    ck_assert_int_eq(inventory_page_limit_parse("101", &limit), SAGA_ERR_INVALID);
    ck_assert_int_eq(inventory_page_limit_parse("", &limit), SAGA_ERR_INVALID);
    ck_assert_int_eq(inventory_page_limit_parse("-5", &limit), SAGA_ERR_INVALID);
    ck_assert_int_eq(inventory_page_limit_parse("5x", &limit), SAGA_ERR_INVALID);
    ck_assert_int_eq(inventory_page_limit_parse(" 5", &limit), SAGA_ERR_INVALID);
    ck_assert_int_eq(inventory_page_limit_parse("99999999999999999999", &limit), SAGA_ERR_INVALID);
}
END_TEST

START_TEST(test_lines_sorted_for_locking)
{
    inventory_line l[] = {line("b", 1, 0, 0, 0), line("B", 2, 0, 0, 0), line("a", 3, 0, 0, 0),
                          line("A-1", 4, 0, 0, 0)};
    char err[128];
    ck_assert_int_eq(inventory_lines_prepare(l, 4, err, sizeof(err)), SAGA_OK);
    /* byte order, as ascii_bin sorts: upper case before lower case */
    ck_assert_str_eq(l[0].sku, "A-1");
    ck_assert_str_eq(l[1].sku, "B");
    ck_assert_str_eq(l[2].sku, "a");
    ck_assert_str_eq(l[3].sku, "b");
    ck_assert_int_eq(l[0].quantity, 4);
    ck_assert_int_eq(l[3].quantity, 1);
}
END_TEST

START_TEST(test_reserve_prices_the_order)
{
    inventory_line l[] = {line("a", 2, true, 5, 1250), line("b", 1, true, 1, 99)};
    inventory_decision d = INVENTORY_SHORTAGE;
    long long amount = -1;
    ck_assert_int_eq(inventory_decide(l, 2, &d, &amount), SAGA_OK);
    ck_assert_int_eq(d, INVENTORY_RESERVE);
    ck_assert_int_eq(amount, 2 * 1250 + 99);
    ck_assert(!inventory_line_short(&l[1])); /* exactly what is left is enough */
}
END_TEST

START_TEST(test_shortage_holds_nothing)
{
    /* one short line makes the whole order a shortage */
    inventory_line l[] = {line("a", 2, true, 5, 100), line("b", 3, true, 2, 100),
                          line("c", 1, false, 0, 0)};
    inventory_decision d = INVENTORY_RESERVE;
    long long amount = -1;
    ck_assert_int_eq(inventory_decide(l, 3, &d, &amount), SAGA_OK);
    ck_assert_int_eq(d, INVENTORY_SHORTAGE);
    ck_assert_int_eq(amount, 0);
    ck_assert(!inventory_line_short(&l[0]));
    ck_assert(inventory_line_short(&l[1]));
    ck_assert(inventory_line_short(&l[2])); /* unknown sku */
}
END_TEST

START_TEST(test_free_items)
{
    inventory_line l[] = {line("gift", 1, true, 1, 0)};
    inventory_decision d;
    long long amount = -1;
    ck_assert_int_eq(inventory_decide(l, 1, &d, &amount), SAGA_OK);
    ck_assert_int_eq(d, INVENTORY_RESERVE);
    ck_assert_int_eq(amount, 0);
}
END_TEST

START_TEST(test_reservation_transitions)
{
    inventory_delta d;
    ck_assert_str_eq(inventory_reservation_next("HELD", INVENTORY_CONFIRM, 3, &d), "COMMITTED");
    ck_assert_int_eq(d.available, 0);
    ck_assert_int_eq(d.reserved, -3);
    ck_assert_int_eq(d.sold, 3);
    ck_assert_str_eq(inventory_reservation_next("HELD", INVENTORY_CANCEL, 3, &d), "RELEASED");
    ck_assert_int_eq(d.available, 3);
    ck_assert_int_eq(d.reserved, -3);
    ck_assert_int_eq(d.sold, 0);
    ck_assert_str_eq(inventory_reservation_next("COMMITTED", INVENTORY_CANCEL, 3, &d), "RESTOCKED");
    ck_assert_int_eq(d.available, 3);
    ck_assert_int_eq(d.reserved, 0);
    ck_assert_int_eq(d.sold, -3);
}
END_TEST

START_TEST(test_exactly_once_guards)
{
    /* what was done before is not done again */
    inventory_delta d = {1, 1, 1};
    ck_assert_ptr_null(inventory_reservation_next("COMMITTED", INVENTORY_CONFIRM, 3, &d));
    ck_assert_int_eq(d.available + d.reserved + d.sold, 0);
    ck_assert_ptr_null(inventory_reservation_next("RELEASED", INVENTORY_CONFIRM, 3, &d));
    ck_assert_ptr_null(inventory_reservation_next("RESTOCKED", INVENTORY_CONFIRM, 3, &d));
    ck_assert_ptr_null(inventory_reservation_next("RELEASED", INVENTORY_CANCEL, 3, &d));
    ck_assert_ptr_null(inventory_reservation_next("RESTOCKED", INVENTORY_CANCEL, 3, &d));
    ck_assert_ptr_null(inventory_reservation_next("BOGUS", INVENTORY_CANCEL, 3, &d));
    ck_assert_ptr_null(inventory_reservation_next(NULL, INVENTORY_CANCEL, 3, &d));
}
END_TEST

START_TEST(test_events_only_for_orders_seen_created)
{
    /* order_outcomes is the record of every OrderCreated: no row, an unknown order */
    ck_assert_int_eq(inventory_order_check("alice", "alice"), SAGA_OK);
    ck_assert_int_eq(inventory_order_check(NULL, "alice"), SAGA_ERR_NOT_FOUND);
    ck_assert_int_eq(inventory_order_check("alice", "mallory"), SAGA_ERR_CONFLICT);
    ck_assert_int_eq(inventory_order_check("alice", "Alice"), SAGA_ERR_CONFLICT);
    ck_assert_int_eq(inventory_order_check("alice", "alice "), SAGA_ERR_CONFLICT);
    ck_assert_int_eq(inventory_order_check("alice", NULL), SAGA_ERR_CONFLICT);
    ck_assert_int_eq(inventory_order_check(NULL, NULL), SAGA_ERR_NOT_FOUND);
}
END_TEST

START_TEST(test_invariant_kept_by_transitions)
{
    /* initial + restocked = available + reserved + sold through a whole life */
    long long initial = 10, available = 10, reserved = 0, sold = 0;
    inventory_delta d;
    available -= 4, reserved += 4; /* OrderCreated holds 4 */
    ck_assert_ptr_nonnull(inventory_reservation_next("HELD", INVENTORY_CONFIRM, 4, &d));
    available += d.available, reserved += d.reserved, sold += d.sold;
    ck_assert_int_eq(available + reserved + sold, initial);
    ck_assert_ptr_nonnull(inventory_reservation_next("COMMITTED", INVENTORY_CANCEL, 4, &d));
    available += d.available, reserved += d.reserved, sold += d.sold;
    ck_assert_int_eq(available, 10);
    ck_assert_int_eq(reserved, 0);
    ck_assert_int_eq(sold, 0);
}
END_TEST

START_TEST(test_stock_changes)
{
    long long delta = 0;
    ck_assert_int_eq(inventory_stock_set(10, 2, 3, 25, &delta), SAGA_OK);
    ck_assert_int_eq(delta, 15);
    ck_assert_int_eq(inventory_stock_set(10, 2, 3, 4, &delta), SAGA_OK);
    ck_assert_int_eq(delta, -6);
    ck_assert_int_eq(inventory_restock_check(10, 0, 0, 5), SAGA_OK);
    ck_assert_int_eq(inventory_hint_for(0), INVENTORY_HINT_SET);
    ck_assert_int_eq(inventory_hint_for(1), INVENTORY_HINT_DEL);
    char key[128];
    ck_assert_int_eq(inventory_soldout_key("sku-1", key, sizeof(key)), SAGA_OK);
    ck_assert_str_eq(key, "saga:soldout:sku-1");
}
END_TEST

/* --- limits --- */

START_TEST(test_sku_length_limit)
{
    char sku[80];
    memset(sku, 'a', sizeof(sku));
    sku[64] = '\0';
    ck_assert(inventory_sku_valid(sku));
    sku[64] = 'a';
    sku[65] = '\0';
    ck_assert(!inventory_sku_valid(sku));
    char key[13 + 64]; /* "saga:soldout:" + sku, no room for the NUL */
    sku[64] = '\0';
    ck_assert_int_eq(inventory_soldout_key(sku, key, sizeof(key)), SAGA_ERR_INVALID);
    char key2[13 + 64 + 1];
    ck_assert_int_eq(inventory_soldout_key(sku, key2, sizeof(key2)), SAGA_OK);
}
END_TEST

START_TEST(test_name_length_limit)
{
    /* 255 characters of 4 bytes each: fine; one more: not */
    char name[4 * 256 + 1];
    for (int i = 0; i < 256; i++)
        memcpy(name + 4 * i, "\xf0\x9f\x8d\xb5", 4);
    name[4 * 255] = '\0';
    ck_assert(inventory_name_valid(name));
    memcpy(name + 4 * 255, "\xf0\x9f\x8d\xb5", 4);
    name[4 * 256] = '\0';
    ck_assert(!inventory_name_valid(name));
}
END_TEST

START_TEST(test_lines_limits)
{
    inventory_line l[101];
    char skus[101][8];
    char err[128];
    for (int i = 0; i < 101; i++) {
        snprintf(skus[i], sizeof(skus[i]), "s%03d", i);
        l[i] = line(skus[i], 1, false, 0, 0);
    }
    ck_assert_int_eq(inventory_lines_prepare(l, 100, err, sizeof(err)), SAGA_OK);
    ck_assert_int_eq(inventory_lines_prepare(l, 101, err, sizeof(err)), SAGA_ERR_INVALID);
    ck_assert_int_eq(inventory_lines_prepare(l, 0, err, sizeof(err)), SAGA_ERR_INVALID);

    inventory_line q[] = {line("a", 1000, 0, 0, 0), line("b", 1, 0, 0, 0)};
    ck_assert_int_eq(inventory_lines_prepare(q, 2, err, sizeof(err)), SAGA_OK);
    inventory_line big[] = {line("a", 1001, 0, 0, 0)};
    ck_assert_int_eq(inventory_lines_prepare(big, 1, err, sizeof(err)), SAGA_ERR_INVALID);
    inventory_line zero[] = {line("a", 0, 0, 0, 0)};
    ck_assert_int_eq(inventory_lines_prepare(zero, 1, err, sizeof(err)), SAGA_ERR_INVALID);
    inventory_line badsku[] = {line("a b", 1, 0, 0, 0)};
    ck_assert_int_eq(inventory_lines_prepare(badsku, 1, err, sizeof(err)), SAGA_ERR_INVALID);

    /* a sku twice: refused, and the reason names it */
    inventory_line dup[] = {line("x", 1, 0, 0, 0), line("y", 1, 0, 0, 0), line("x", 2, 0, 0, 0)};
    ck_assert_int_eq(inventory_lines_prepare(dup, 3, err, sizeof(err)), SAGA_ERR_INVALID);
    ck_assert_ptr_nonnull(strstr(err, "x"));
}
END_TEST

START_TEST(test_amount_overflow)
{
    /* the largest total an event can carry is fine; one more is too large */
    inventory_line l[] = {line("a", 1, true, 10, INVENTORY_AMOUNT_MAX - 1),
                          line("b", 1, true, 10, 1)};
    inventory_decision d;
    long long amount;
    ck_assert_int_eq(inventory_decide(l, 2, &d, &amount), SAGA_OK);
    ck_assert_int_eq(amount, INVENTORY_AMOUNT_MAX);
    l[1].price = 2;
    ck_assert_int_eq(inventory_decide(l, 2, &d, &amount), SAGA_ERR_TOO_LARGE);
    /* a price over the PUT limit (a row from before it) can still overflow */
    inventory_line m[] = {line("a", 1000, true, 1000, INVENTORY_AMOUNT_MAX / 100)};
    ck_assert_int_eq(inventory_decide(m, 1, &d, &amount), SAGA_ERR_TOO_LARGE);
    /* a shortage is decided before pricing: no overflow to report */
    m[0].available = 999;
    ck_assert_int_eq(inventory_decide(m, 1, &d, &amount), SAGA_OK);
    ck_assert_int_eq(d, INVENTORY_SHORTAGE);
    ck_assert_int_eq(inventory_decide(NULL, 0, &d, &amount), SAGA_ERR_INVALID);
}
END_TEST

START_TEST(test_price_limit_keeps_orders_representable)
{
    /* the largest order an event may carry, every line at the highest price a
     * product may have, is priced: no order can be accepted that cannot be priced */
    ck_assert_int_eq(INVENTORY_PRICE_MAX, 90071992547LL);
    inventory_line l[INVENTORY_LINES_MAX];
    char skus[INVENTORY_LINES_MAX][8];
    for (int i = 0; i < INVENTORY_LINES_MAX; i++) {
        snprintf(skus[i], sizeof(skus[i]), "s%03d", i);
        l[i] = line(skus[i], INVENTORY_QUANTITY_MAX, true, INVENTORY_QUANTITY_MAX,
                    INVENTORY_PRICE_MAX);
    }
    inventory_decision d;
    long long amount;
    ck_assert_int_eq(inventory_decide(l, INVENTORY_LINES_MAX, &d, &amount), SAGA_OK);
    ck_assert_int_eq(d, INVENTORY_RESERVE);
    ck_assert(amount <= INVENTORY_AMOUNT_MAX);
    ck_assert_int_eq(amount,
                     (long long)INVENTORY_LINES_MAX * INVENTORY_QUANTITY_MAX * INVENTORY_PRICE_MAX);
}
END_TEST

START_TEST(test_stock_limits)
{
    long long delta;
    ck_assert_int_eq(inventory_stock_set(0, 0, 0, 1000000000LL, &delta), SAGA_OK);
    ck_assert_int_eq(inventory_stock_set(0, 0, 0, 1000000001LL, &delta), SAGA_ERR_INVALID);
    ck_assert_int_eq(inventory_stock_set(0, 0, 0, -1, &delta), SAGA_ERR_INVALID);
    ck_assert_int_eq(inventory_stock_set(0, 1000000000LL, 1000000000LL, 1000000000LL, &delta),
                     SAGA_ERR_CONFLICT);
    ck_assert_int_eq(inventory_restock_check(0, 0, 0, 0), SAGA_ERR_INVALID);
    ck_assert_int_eq(inventory_restock_check(0, 0, 0, 1000000), SAGA_OK);
    ck_assert_int_eq(inventory_restock_check(0, 0, 0, 1000001), SAGA_ERR_INVALID);
    ck_assert_int_eq(inventory_restock_check(999999999LL, 0, 0, 1), SAGA_OK);
    ck_assert_int_eq(inventory_restock_check(1000000000LL, 0, 0, 1), SAGA_ERR_CONFLICT);
    ck_assert_int_eq(inventory_restock_check(1, 2000000000LL, 147483647LL, 1), SAGA_ERR_CONFLICT);
    inventory_delta d = {.available = -1};
    ck_assert(!inventory_delta_fits(0, 0, 0, &d));
    d = (inventory_delta){.reserved = 1};
    ck_assert(!inventory_delta_fits(0, INVENTORY_COUNTER_MAX, 0, &d));
    ck_assert(inventory_delta_fits(0, INVENTORY_COUNTER_MAX - 1, 0, &d));
}
END_TEST

static Suite *inventory_suite(void)
{
    Suite *s = suite_create("inventory");
    TCase *core = tcase_create("core");
    tcase_add_test(core, test_sku_pattern);
    tcase_add_test(core, test_name_rules);
    tcase_add_test(core, test_order_id_and_currency);
    tcase_add_test(core, test_page_limit);
    tcase_add_test(core, test_lines_sorted_for_locking);
    tcase_add_test(core, test_reserve_prices_the_order);
    tcase_add_test(core, test_shortage_holds_nothing);
    tcase_add_test(core, test_free_items);
    tcase_add_test(core, test_reservation_transitions);
    tcase_add_test(core, test_exactly_once_guards);
    tcase_add_test(core, test_events_only_for_orders_seen_created);
    tcase_add_test(core, test_invariant_kept_by_transitions);
    tcase_add_test(core, test_stock_changes);
    suite_add_tcase(s, core);
    TCase *limits = tcase_create("limits");
    tcase_add_test(limits, test_sku_length_limit);
    tcase_add_test(limits, test_name_length_limit);
    tcase_add_test(limits, test_lines_limits);
    tcase_add_test(limits, test_amount_overflow);
    tcase_add_test(limits, test_price_limit_keeps_orders_representable);
    tcase_add_test(limits, test_stock_limits);
    suite_add_tcase(s, limits);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(inventory_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
