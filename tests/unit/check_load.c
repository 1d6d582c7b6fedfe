/* check_load.c - saga-load's pure parts: options and mix, the seeded plan, matching
 * outcomes to orders, the latency histogram, the verdict and the JSON report. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "load_opts.h"
#include "load_orders.h"
#include "load_plan.h"
#include "load_report.h"
#include "load_stats.h"

#define ARGC(a) ((int)(sizeof(a) / sizeof((a)[0])))

/* ---- options and mix ----------------------------------------------------------- */

START_TEST(test_mix_parse)
{
    load_mix m;
    char err[256], text[128];

    ck_assert_int_eq(
        load_mix_parse("confirmed=90,out_of_stock=4,declined=3,cancel=3", &m, err, sizeof(err)), 0);
    ck_assert_uint_eq(m.weight[LOAD_KIND_CONFIRMED], 90);
    ck_assert_uint_eq(m.weight[LOAD_KIND_CANCEL], 3);
    ck_assert_uint_eq(m.total, 100);
    load_mix_format(&m, text, sizeof(text));
    ck_assert_str_eq(text, "confirmed=90,out_of_stock=4,declined=3,cancel=3");

    ck_assert_int_eq(load_mix_parse("declined=1", &m, err, sizeof(err)), 0);
    ck_assert_uint_eq(m.weight[LOAD_KIND_CONFIRMED], 0);
    ck_assert_uint_eq(m.total, 1);
}
END_TEST

START_TEST(test_mix_rejects)
{
    const char *bad[] = {"",
                         "confirmed",
                         "confirmed=",
                         "confirmed=x",
                         "bogus=1",
                         "flash=1",
                         "confirmed=-1",
                         "confirmed=1,",
                         "cancel=0",
                         "confirmed=1,confirmed=2",
                         "confirmed=1000001",
                         "confirmed=5x"};
    load_mix m;
    char err[256];

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err[0] = '\0';
        ck_assert_msg(load_mix_parse(bad[i], &m, err, sizeof(err)) == -1, "accepted '%s'", bad[i]);
        ck_assert_msg(err[0] != '\0', "no reason for '%s'", bad[i]);
    }
}
END_TEST

START_TEST(test_opts_defaults)
{
    char *argv[] = {"saga-load", "--bootstrap", "b:9092"};
    load_opts o;
    char err[256];

    unsetenv("SAGA_ORDER_URL");
    ck_assert_int_eq(load_opts_parse(ARGC(argv), argv, &o, err, sizeof(err)), LOAD_OPTS_RUN);
    ck_assert(o.rate == 100);
    ck_assert(o.duration_s == 10); /* neither --duration nor --orders */
    ck_assert_uint_eq(o.customers, 100000);
    ck_assert_uint_eq(o.products, 1000000);
    ck_assert_uint_eq(o.items_per_order, 1);
    ck_assert_uint_eq(o.connections, 64);
    ck_assert(o.drain_timeout_s == 30);
    ck_assert_str_eq(o.order_url, "http://127.0.0.1:8081");
    ck_assert_str_eq(o.topic, "order-events");
    ck_assert_str_eq(o.jwt_issuer, "saga-local");
    ck_assert(!o.flash_sku);
}
END_TEST

START_TEST(test_opts_values)
{
    char *argv[] = {"saga-load",
                    "--rate",
                    "0",
                    "--concurrency",
                    "8",
                    "--orders",
                    "500",
                    "--seed",
                    "42",
                    "--flash",
                    "load-flash",
                    "--flash-stock",
                    "50",
                    "--order-url",
                    "http://o:1/",
                    "--bootstrap",
                    "k:1",
                    "--json",
                    "out.json",
                    "--no-audit",
                    "--items-per-order",
                    "3"};
    load_opts o;
    char err[256];

    ck_assert_int_eq(load_opts_parse(ARGC(argv), argv, &o, err, sizeof(err)), LOAD_OPTS_RUN);
    ck_assert(o.rate == 0);
    ck_assert_uint_eq(o.concurrency, 8);
    ck_assert_uint_eq(o.orders, 500);
    ck_assert(o.duration_s == 0); /* --orders alone: no time limit */
    ck_assert_uint_eq(o.seed, 42);
    ck_assert_str_eq(o.flash_sku, "load-flash");
    ck_assert_int_eq(o.flash_stock, 50);
    ck_assert_str_eq(o.order_url, "http://o:1/");
    ck_assert_str_eq(o.json_path, "out.json");
    ck_assert(o.no_audit);
    ck_assert_uint_eq(o.items_per_order, 3);
}
END_TEST

START_TEST(test_opts_bad)
{
    char *flash_alone[] = {"saga-load", "--bootstrap", "k:1", "--flash", "x"};
    char *bad_sku[] = {"saga-load", "--bootstrap", "k:1", "--flash", "-x", "--flash-stock", "1"};
    char *unknown[] = {"saga-load", "--bootstrap", "k:1", "--frobnicate"};
    char *no_value[] = {"saga-load", "--bootstrap", "k:1", "--rate"};
    char *negative[] = {"saga-load", "--bootstrap", "k:1", "--orders", "-5"};
    char *items[] = {"saga-load", "--bootstrap",       "k:1", "--products",
                     "2",         "--items-per-order", "3"};
    char *alg[] = {"saga-load", "--bootstrap", "k:1", "--jwt-alg", "none"};
    char *stray[] = {"saga-load", "--bootstrap", "k:1", "extra"};
    char *no_kafka[] = {"saga-load"};
    load_opts o;
    char err[256];

    ck_assert_int_eq(load_opts_parse(ARGC(flash_alone), flash_alone, &o, err, sizeof(err)),
                     LOAD_OPTS_BAD);
    ck_assert_int_eq(load_opts_parse(ARGC(bad_sku), bad_sku, &o, err, sizeof(err)), LOAD_OPTS_BAD);
    ck_assert_int_eq(load_opts_parse(ARGC(unknown), unknown, &o, err, sizeof(err)), LOAD_OPTS_BAD);
    ck_assert_ptr_nonnull(strstr(err, "--frobnicate"));
    ck_assert_int_eq(load_opts_parse(ARGC(no_value), no_value, &o, err, sizeof(err)),
                     LOAD_OPTS_BAD);
    ck_assert_int_eq(load_opts_parse(ARGC(negative), negative, &o, err, sizeof(err)),
                     LOAD_OPTS_BAD);
    ck_assert_int_eq(load_opts_parse(ARGC(items), items, &o, err, sizeof(err)), LOAD_OPTS_BAD);
    ck_assert_int_eq(load_opts_parse(ARGC(alg), alg, &o, err, sizeof(err)), LOAD_OPTS_BAD);
    ck_assert_int_eq(load_opts_parse(ARGC(stray), stray, &o, err, sizeof(err)), LOAD_OPTS_BAD);
    unsetenv("SAGA_KAFKA_BOOTSTRAP");
    ck_assert_int_eq(load_opts_parse(ARGC(no_kafka), no_kafka, &o, err, sizeof(err)),
                     LOAD_OPTS_BAD);
    ck_assert_ptr_nonnull(strstr(err, "bootstrap"));
}
END_TEST

START_TEST(test_opts_env_and_help)
{
    char *argv[] = {"saga-load", "--jwt-issuer", "flag-wins"};
    char *help[] = {"saga-load", "--help"};
    load_opts o;
    char err[256];

    setenv("SAGA_KAFKA_BOOTSTRAP", "env:9092", 1);
    setenv("SAGA_JWT_ISSUER", "from-env", 1);
    setenv("SAGA_JWT_AUDIENCE", "aud-env", 1);
    ck_assert_int_eq(load_opts_parse(ARGC(argv), argv, &o, err, sizeof(err)), LOAD_OPTS_RUN);
    ck_assert_str_eq(o.bootstrap, "env:9092");
    ck_assert_str_eq(o.jwt_issuer, "flag-wins");
    ck_assert_str_eq(o.jwt_audience, "aud-env");
    ck_assert_int_eq(load_opts_parse(ARGC(help), help, &o, err, sizeof(err)), LOAD_OPTS_HELP);
    unsetenv("SAGA_KAFKA_BOOTSTRAP");
    unsetenv("SAGA_JWT_ISSUER");
    unsetenv("SAGA_JWT_AUDIENCE");
}
END_TEST

/* ---- the plan ------------------------------------------------------------------ */

static void opts_for_plan(load_opts *o, unsigned long long seed)
{
    char *argv[] = {"saga-load", "--bootstrap", "k:1", "--customers", "1000", "--products", "50"};
    char err[256];

    ck_assert_int_eq(load_opts_parse(ARGC(argv), argv, o, err, sizeof(err)), LOAD_OPTS_RUN);
    o->seed = seed;
}

START_TEST(test_plan_seeded)
{
    load_opts o;
    load_plan a, b, c;
    load_order_spec sa, sb, sc;
    int differ = 0;

    opts_for_plan(&o, 7);
    load_plan_init(&a, &o);
    load_plan_init(&b, &o);
    for (int i = 0; i < 1000; i++) {
        load_plan_next(&a, &sa);
        load_plan_next(&b, &sb);
        differ += sa.kind != sb.kind || strcmp(sa.customer_id, sb.customer_id) ||
                  strcmp(sa.skus[0], sb.skus[0]);
    }
    ck_assert_int_eq(differ, 0);
    load_plan_init(&a, &o); /* seed 7 again, against seed 8 */
    o.seed = 8;
    load_plan_init(&c, &o);
    for (int i = 0; i < 100; i++) {
        load_plan_next(&a, &sa);
        load_plan_next(&c, &sc);
        differ += strcmp(sa.customer_id, sc.customer_id) != 0;
    }
    ck_assert_int_gt(differ, 90);
}
END_TEST

/* Whether an order follows the load conventions for its kind. Checked without
 * ck_assert inside the loop: each assertion is a write to Check's pipe. */
static bool spec_follows_conventions(const load_order_spec *s)
{
    if (s->nitems != 1)
        return false;
    switch (s->kind) {
    case LOAD_KIND_DECLINED:
        return !strncmp(s->customer_id, "load-poor-", 10) && s->customer >= 1 &&
               s->customer <= 100 && !strncmp(s->skus[0], "load-p-", 7);
    case LOAD_KIND_OUT_OF_STOCK:
        return !strncmp(s->customer_id, "load-c-", 7) && !strncmp(s->skus[0], "load-empty-", 11);
    default:
        return !strncmp(s->customer_id, "load-c-", 7) && s->customer >= 1 && s->customer <= 1000 &&
               strlen(s->skus[0]) == strlen("load-p-0000001") &&
               strcmp(s->skus[0], "load-p-0000001") >= 0 &&
               strcmp(s->skus[0], "load-p-0000050") <= 0;
    }
}

START_TEST(test_plan_kinds_follow_conventions)
{
    load_opts o;
    load_plan p;
    load_order_spec s;
    unsigned counts[LOAD_KIND_COUNT] = {0}, broken = 0;
    const int n = 100000;

    opts_for_plan(&o, 1);
    load_plan_init(&p, &o);
    for (int i = 0; i < n; i++) {
        load_plan_next(&p, &s);
        counts[s.kind]++;
        if (!spec_follows_conventions(&s) && broken++ == 0)
            ck_abort_msg("%s order for %s of %s breaks the conventions", load_kind_name(s.kind),
                         s.skus[0], s.customer_id);
    }
    ck_assert_uint_eq(broken, 0);
    /* 90/4/3/3 within a few standard deviations */
    ck_assert(abs((int)counts[LOAD_KIND_CONFIRMED] - 90000) < 500);
    ck_assert(abs((int)counts[LOAD_KIND_OUT_OF_STOCK] - 4000) < 300);
    ck_assert(abs((int)counts[LOAD_KIND_DECLINED] - 3000) < 300);
    ck_assert(abs((int)counts[LOAD_KIND_CANCEL] - 3000) < 300);
    ck_assert_uint_eq(counts[LOAD_KIND_FLASH], 0);
}
END_TEST

START_TEST(test_plan_distinct_skus_and_body)
{
    load_opts o;
    load_plan p;
    load_order_spec s;
    char body[8192];

    opts_for_plan(&o, 3);
    o.products = 5;
    o.items_per_order = 5; /* every product, each once */
    load_plan_init(&p, &o);
    for (int i = 0; i < 200; i++) {
        load_plan_next(&p, &s);
        ck_assert_uint_eq(s.nitems, 5);
        for (unsigned a = 0; a < s.nitems; a++)
            for (unsigned b = a + 1; b < s.nitems; b++)
                ck_assert_str_ne(s.skus[a], s.skus[b]);
    }
    memset(&s, 0, sizeof(s));
    snprintf(s.customer_id, sizeof(s.customer_id), "load-c-000042");
    s.nitems = 2;
    snprintf(s.skus[0], sizeof(s.skus[0]), "load-p-0000001");
    snprintf(s.skus[1], sizeof(s.skus[1]), "load-empty-03");
    ck_assert_int_eq(load_plan_body(&s, body, sizeof(body)), (int)strlen(body));
    ck_assert_str_eq(body,
                     "{\"customerId\":\"load-c-000042\",\"items\":[{\"sku\":\"load-p-0000001\","
                     "\"quantity\":1},{\"sku\":\"load-empty-03\",\"quantity\":1}]}");
    ck_assert_int_eq(load_plan_body(&s, body, 20), -1);
}
END_TEST

START_TEST(test_plan_flash)
{
    load_opts o;
    load_plan p;
    load_order_spec s;
    int wrong = 0;

    opts_for_plan(&o, 5);
    o.flash_sku = "load-flash";
    o.flash_stock = 10;
    o.items_per_order = 3; /* ignored: a flash order is one unit of the flash sku */
    load_plan_init(&p, &o);
    for (int i = 0; i < 1000; i++) {
        load_plan_next(&p, &s);
        wrong += s.kind != LOAD_KIND_FLASH || s.nitems != 1 || strcmp(s.skus[0], "load-flash") ||
                 strncmp(s.customer_id, "load-c-", 7);
    }
    ck_assert_int_eq(wrong, 0);
}
END_TEST

START_TEST(test_rng_below_covers_range)
{
    load_rng r;
    unsigned seen[10] = {0};

    load_rng_seed(&r, 99);
    for (int i = 0; i < 10000; i++) {
        uint64_t v = load_rng_below(&r, 10);
        if (v >= 10)
            ck_abort_msg("%llu is out of range", (unsigned long long)v);
        seen[v]++;
    }
    for (int i = 0; i < 10; i++)
        ck_assert_uint_gt(seen[i], 850);
}
END_TEST

/* ---- matching outcomes --------------------------------------------------------- */

static const char *uuid(int n)
{
    static char buf[8][LOAD_ORDER_ID_LEN + 1];
    static int next;
    char *b = buf[next++ % 8];
    snprintf(b, LOAD_ORDER_ID_LEN + 1, "00000000-0000-4000-8000-%012d", n);
    return b;
}

START_TEST(test_orders_placed_then_event)
{
    load_orders t;
    load_completion c;

    ck_assert_int_eq(load_orders_init(&t, 10), 0);
    ck_assert_int_eq(load_orders_placed(&t, uuid(1), 36, LOAD_KIND_CONFIRMED, 1000, false, &c), 0);
    ck_assert_int_eq(load_orders_event(&t, uuid(1), 36, true, LOAD_OUTCOME_NONE, 5000, &c), 1);
    ck_assert_int_eq(c.outcome, LOAD_OUTCOME_CONFIRMED);
    ck_assert_int_eq(c.kind, LOAD_KIND_CONFIRMED);
    ck_assert_int_eq(c.latency_us, 4000);
    ck_assert_int_eq(c.at_us, 5000);
    ck_assert(!c.after_confirmed);
    /* a second outcome for a finished order changes nothing */
    ck_assert_int_eq(
        load_orders_event(&t, uuid(1), 36, false, LOAD_OUTCOME_CUSTOMER_REQUEST, 6000, &c), 0);
    ck_assert_uint_eq(t.done, 1);
    ck_assert_uint_eq(load_orders_missing(&t, NULL, NULL, 0), 0);
    load_orders_free(&t);
}
END_TEST

START_TEST(test_orders_event_before_answer)
{
    load_orders t;
    load_completion c;

    ck_assert_int_eq(load_orders_init(&t, 10), 0);
    ck_assert_int_eq(load_orders_event(&t, uuid(2), 36, false, LOAD_OUTCOME_OUT_OF_STOCK, 3000, &c),
                     0);
    ck_assert_uint_eq(load_orders_foreign(&t), 1);
    ck_assert_int_eq(load_orders_placed(&t, uuid(2), 36, LOAD_KIND_OUT_OF_STOCK, 1000, false, &c),
                     1);
    ck_assert_int_eq(c.outcome, LOAD_OUTCOME_OUT_OF_STOCK);
    ck_assert_int_eq(c.latency_us, 2000);
    ck_assert_uint_eq(load_orders_foreign(&t), 0);
    load_orders_free(&t);
}
END_TEST

START_TEST(test_orders_cancel_kind)
{
    load_orders t;
    load_completion c;

    ck_assert_int_eq(load_orders_init(&t, 10), 0);
    /* confirmed before the customer's cancel: waits for the OrderCancelled */
    ck_assert_int_eq(load_orders_placed(&t, uuid(3), 36, LOAD_KIND_CANCEL, 100, true, &c), 0);
    ck_assert_int_eq(load_orders_event(&t, uuid(3), 36, true, LOAD_OUTCOME_NONE, 200, &c), 0);
    ck_assert_int_eq(
        load_orders_event(&t, uuid(3), 36, false, LOAD_OUTCOME_CUSTOMER_REQUEST, 300, &c), 1);
    ck_assert_int_eq(c.outcome, LOAD_OUTCOME_CUSTOMER_REQUEST);
    ck_assert(c.after_confirmed);
    ck_assert_int_eq(c.latency_us, 200);
    ck_assert(load_outcome_expected(c.kind, c.outcome));

    /* the cancel request failed: the OrderConfirmed is the outcome after all */
    ck_assert_int_eq(load_orders_placed(&t, uuid(4), 36, LOAD_KIND_CANCEL, 100, true, &c), 0);
    ck_assert_int_eq(load_orders_event(&t, uuid(4), 36, true, LOAD_OUTCOME_NONE, 250, &c), 0);
    ck_assert_int_eq(load_orders_cancel_failed(&t, uuid(4), 36, &c), 1);
    ck_assert_int_eq(c.outcome, LOAD_OUTCOME_CONFIRMED);
    ck_assert_int_eq(c.latency_us, 150);
    ck_assert(!load_outcome_expected(c.kind, c.outcome));

    /* cancel failed first, confirmation later */
    ck_assert_int_eq(load_orders_placed(&t, uuid(5), 36, LOAD_KIND_CANCEL, 100, true, &c), 0);
    ck_assert_int_eq(load_orders_cancel_failed(&t, uuid(5), 36, &c), 0);
    ck_assert_int_eq(load_orders_event(&t, uuid(5), 36, true, LOAD_OUTCOME_NONE, 900, &c), 1);
    load_orders_free(&t);
}
END_TEST

START_TEST(test_orders_missing_and_bad_ids)
{
    load_orders t;
    load_completion c;
    const char *sample[2];
    size_t by_kind[LOAD_KIND_COUNT] = {0};

    ck_assert_int_eq(load_orders_init(&t, 10), 0);
    ck_assert_int_eq(load_orders_placed(&t, "short", 5, LOAD_KIND_CONFIRMED, 1, false, &c), -1);
    ck_assert_int_eq(load_orders_event(&t, "short", 5, true, LOAD_OUTCOME_NONE, 1, &c), -1);
    for (int i = 10; i < 15; i++)
        load_orders_placed(&t, uuid(i), 36, i % 2 ? LOAD_KIND_DECLINED : LOAD_KIND_CONFIRMED, 1,
                           false, &c);
    load_orders_event(&t, uuid(10), 36, true, LOAD_OUTCOME_NONE, 5, &c);
    ck_assert_uint_eq(load_orders_missing(&t, by_kind, sample, 2), 4);
    ck_assert_uint_eq(by_kind[LOAD_KIND_CONFIRMED], 2);
    ck_assert_uint_eq(by_kind[LOAD_KIND_DECLINED], 2);
    ck_assert_str_eq(sample[0], uuid(11));
    ck_assert_str_eq(sample[1], uuid(12));
    load_orders_free(&t);
}
END_TEST

START_TEST(test_orders_many)
{
    load_orders t;
    load_completion c;
    const int n = 200000; /* far past the size hint: the table grows */
    int wrong = 0;

    ck_assert_int_eq(load_orders_init(&t, 16), 0);
    for (int i = 0; i < n; i++)
        wrong += load_orders_placed(&t, uuid(i), 36, LOAD_KIND_CONFIRMED, i, false, &c) != 0;
    for (int i = n - 1; i >= 0; i--)
        wrong += load_orders_event(&t, uuid(i), 36, false, LOAD_OUTCOME_TIMEOUT, (int64_t)i + 10,
                                   &c) != 1 ||
                 c.latency_us != 10;
    ck_assert_int_eq(wrong, 0);
    ck_assert_uint_eq(t.placed, (size_t)n);
    ck_assert_uint_eq(t.done, (size_t)n);
    ck_assert_uint_eq(load_orders_foreign(&t), 0);
    load_orders_free(&t);
}
END_TEST

START_TEST(test_outcome_reasons)
{
    ck_assert_int_eq(load_outcome_from_reason("OUT_OF_STOCK", 12), LOAD_OUTCOME_OUT_OF_STOCK);
    ck_assert_int_eq(load_outcome_from_reason("PAYMENT_DECLINED", 16),
                     LOAD_OUTCOME_PAYMENT_DECLINED);
    ck_assert_int_eq(load_outcome_from_reason("CUSTOMER_REQUEST", 16),
                     LOAD_OUTCOME_CUSTOMER_REQUEST);
    ck_assert_int_eq(load_outcome_from_reason("TIMEOUT", 7), LOAD_OUTCOME_TIMEOUT);
    ck_assert_int_eq(load_outcome_from_reason("TIMEOUTX", 8), LOAD_OUTCOME_OTHER);
    ck_assert_int_eq(load_outcome_from_reason("CONFIRMED", 9), LOAD_OUTCOME_OTHER);
    ck_assert_int_eq(load_outcome_from_reason(NULL, 0), LOAD_OUTCOME_OTHER);
    ck_assert(load_outcome_expected(LOAD_KIND_FLASH, LOAD_OUTCOME_OUT_OF_STOCK));
    ck_assert(!load_outcome_expected(LOAD_KIND_CONFIRMED, LOAD_OUTCOME_TIMEOUT));
}
END_TEST

/* ---- histogram ----------------------------------------------------------------- */

START_TEST(test_hist_exact_small_values)
{
    load_hist *h = malloc(sizeof(*h));

    load_hist_init(h);
    ck_assert_uint_eq(load_hist_percentile(h, 50), 0);
    ck_assert(load_hist_mean(h) == 0);
    for (int v = 1; v <= 100; v++)
        load_hist_add(h, v);
    ck_assert_uint_eq(load_hist_percentile(h, 50), 50);
    ck_assert_uint_eq(load_hist_percentile(h, 95), 95);
    ck_assert_uint_eq(load_hist_percentile(h, 99), 99);
    ck_assert_uint_eq(load_hist_percentile(h, 100), 100);
    ck_assert_uint_eq(load_hist_percentile(h, 0.001), 1);
    ck_assert(fabs(load_hist_mean(h) - 50.5) < 1e-9);
    load_hist_add(h, -5); /* a clock step backwards counts as 0 */
    ck_assert_uint_eq(h->min, 0);
    free(h);
}
END_TEST

START_TEST(test_hist_relative_precision)
{
    load_hist *h = malloc(sizeof(*h));

    load_hist_init(h);
    /* 1 ms .. 10 s in 1 ms steps */
    for (int64_t v = 1000; v <= 10000000; v += 1000)
        load_hist_add(h, v);
    double expect[][2] = {{50, 5000000}, {95, 9500000}, {99, 9900000}, {99.9, 9990000}};
    for (size_t i = 0; i < sizeof(expect) / sizeof(expect[0]); i++) {
        double got = (double)load_hist_percentile(h, expect[i][0]);
        ck_assert_msg(fabs(got - expect[i][1]) / expect[i][1] < 0.008, "p%g: %g, not %g",
                      expect[i][0], got, expect[i][1]);
        ck_assert(got >= expect[i][1]); /* a bucket's top: never below the true value */
    }
    ck_assert_uint_eq(load_hist_percentile(h, 100), 10000000);
    ck_assert_uint_eq(h->min, 1000);
    load_hist_add(h, (int64_t)1 << 50); /* clamped, not out of bounds */
    ck_assert_uint_eq(h->max, LOAD_HIST_MAX_US - 1);
    free(h);
}
END_TEST

/* ---- verdict and report -------------------------------------------------------- */

static load_results *results_good(load_opts *o)
{
    char *argv[] = {"saga-load", "--bootstrap", "k:1", "--seed", "18446744073709551615"};
    char err[256];
    load_results *r = malloc(sizeof(*r));

    ck_assert_int_eq(load_opts_parse(ARGC(argv), argv, o, err, sizeof(err)), LOAD_OPTS_RUN);
    load_results_init(r, o);
    r->offered = 12;
    r->accepted = 10;
    r->refused = 2;
    r->by_status[202] = 10;
    r->by_status[503] = 2;
    r->completed = 10;
    r->outcomes[LOAD_OUTCOME_CONFIRMED] = 9;
    r->outcomes[LOAD_OUTCOME_OUT_OF_STOCK] = 1;
    r->offered_by_kind[LOAD_KIND_CONFIRMED] = 12;
    r->by_kind[LOAD_KIND_CONFIRMED][LOAD_OUTCOME_CONFIRMED] = 9;
    r->by_kind[LOAD_KIND_CONFIRMED][LOAD_OUTCOME_OUT_OF_STOCK] = 1;
    r->unexpected = 1;
    r->send_s = 2;
    r->completion_s = 2.5;
    for (int i = 1; i <= 10; i++)
        load_hist_add(&r->e2e, i * 1000);
    return r;
}

START_TEST(test_judge)
{
    load_opts o;
    load_results *r = results_good(&o);

    load_results_judge(r);
    ck_assert(r->ok);
    ck_assert_int_eq(r->exit_status, 0);

    o.strict = true; /* the OUT_OF_STOCK of a confirmed-kind order now fails */
    load_results_judge(r);
    ck_assert_int_eq(r->exit_status, 1);
    o.strict = false;

    r->audit_ran = true;
    r->audit_status = 1;
    load_results_judge(r);
    ck_assert_int_eq(r->exit_status, 1);
    ck_assert_ptr_nonnull(strstr(r->failure, "audit"));
    r->audit_status = 0;

    r->missing = 1;
    load_results_judge(r);
    ck_assert_int_eq(r->exit_status, 1);
    ck_assert_ptr_nonnull(strstr(r->failure, "no outcome"));
    r->missing = 0;

    o.flash_sku = "load-flash";
    o.flash_stock = 8; /* 9 confirmed */
    r->flash_setup_ok = true;
    load_results_judge(r);
    ck_assert_int_eq(r->exit_status, 1);
    ck_assert_uint_eq(r->flash_oversell, 1);
    o.flash_stock = 9;
    r->flash_oversell = 0;
    load_results_judge(r);
    ck_assert_int_eq(r->exit_status, 0);
    o.flash_sku = NULL;

    r->accepted = 0; /* nothing accepted proves nothing */
    load_results_judge(r);
    ck_assert_int_eq(r->exit_status, 1);
    free(r);
}
END_TEST

START_TEST(test_report_json)
{
    load_opts o;
    load_results *r = results_good(&o);
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    cJSON *doc;

    load_results_error(r, "Timeout was reached");
    load_results_error(r, "Timeout was reached");
    load_results_error(r, "Couldn't connect to server");
    load_results_judge(r);
    ck_assert_int_eq(load_report_json(r, f), 0);
    fclose(f);
    ck_assert_ptr_nonnull(doc = cJSON_Parse(text));
    ck_assert(cJSON_IsTrue(cJSON_GetObjectItem(doc, "ok")));
    ck_assert_int_eq(cJSON_GetObjectItem(doc, "exit_status")->valueint, 0);
    ck_assert_str_eq(cJSON_GetObjectItem(cJSON_GetObjectItem(doc, "config"), "seed")->valuestring,
                     "18446744073709551615");
    cJSON *orders = cJSON_GetObjectItem(doc, "orders");
    ck_assert_int_eq(cJSON_GetObjectItem(orders, "accepted")->valueint, 10);
    ck_assert_int_eq(cJSON_GetObjectItem(orders, "errors")->valueint, 3);
    ck_assert_int_eq(cJSON_GetObjectItem(cJSON_GetObjectItem(orders, "by_status"), "503")->valueint,
                     2);
    ck_assert_int_eq(
        cJSON_GetObjectItem(cJSON_GetObjectItem(orders, "errors_by_kind"), "Timeout was reached")
            ->valueint,
        2);
    cJSON *tp = cJSON_GetObjectItem(doc, "throughput_per_s");
    ck_assert(fabs(cJSON_GetObjectItem(tp, "accepted")->valuedouble - 5.0) < 1e-9);
    ck_assert(fabs(cJSON_GetObjectItem(tp, "completed")->valuedouble - 4.0) < 1e-9);
    cJSON *e2e = cJSON_GetObjectItem(cJSON_GetObjectItem(doc, "latency_ms"), "e2e");
    ck_assert_int_eq(cJSON_GetObjectItem(e2e, "count")->valueint, 10);
    ck_assert(fabs(cJSON_GetObjectItem(e2e, "p50")->valuedouble - 5.0) < 0.05); /* bucket top */
    ck_assert(fabs(cJSON_GetObjectItem(e2e, "max")->valuedouble - 10.0) < 1e-9);
    cJSON *out = cJSON_GetObjectItem(doc, "outcomes");
    ck_assert_int_eq(
        cJSON_GetObjectItem(cJSON_GetObjectItem(out, "by_outcome"), "CONFIRMED")->valueint, 9);
    ck_assert_int_eq(cJSON_GetObjectItem(out, "missing")->valueint, 0);
    ck_assert(cJSON_IsNull(cJSON_GetObjectItem(doc, "flash")));
    ck_assert(cJSON_IsFalse(cJSON_GetObjectItem(cJSON_GetObjectItem(doc, "audit"), "ran")));
    cJSON_Delete(doc);
    free(text);
    free(r);
}
END_TEST

START_TEST(test_report_text)
{
    load_opts o;
    load_results *r = results_good(&o);
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);

    r->refused_by_kind[LOAD_KIND_CONFIRMED] = 2;
    r->missing = 1;
    snprintf(r->missing_sample[0], sizeof(r->missing_sample[0]), "%s", uuid(77));
    load_results_judge(r);
    load_report_text(r, f);
    fclose(f);
    ck_assert_ptr_nonnull(strstr(text, "offered 12, accepted 10, refused 2"));
    ck_assert_ptr_nonnull(strstr(text, "503: 2"));
    ck_assert_ptr_nonnull(strstr(text, "offered 12: CONFIRMED 9 OUT_OF_STOCK 1, refused 2\n"));
    ck_assert_ptr_nonnull(strstr(text, uuid(77)));
    ck_assert_ptr_nonnull(strstr(text, "FAILED (exit status 1)"));
    free(text);
    free(r);
}
END_TEST

static Suite *load_suite(void)
{
    Suite *s = suite_create("load");
    TCase *core = tcase_create("core");
    tcase_add_test(core, test_mix_parse);
    tcase_add_test(core, test_opts_defaults);
    tcase_add_test(core, test_opts_values);
    tcase_add_test(core, test_opts_env_and_help);
    tcase_add_test(core, test_plan_seeded);
    tcase_add_test(core, test_plan_kinds_follow_conventions);
    tcase_add_test(core, test_plan_distinct_skus_and_body);
    tcase_add_test(core, test_plan_flash);
    tcase_add_test(core, test_orders_placed_then_event);
    tcase_add_test(core, test_orders_event_before_answer);
    tcase_add_test(core, test_orders_cancel_kind);
    tcase_add_test(core, test_outcome_reasons);
    tcase_add_test(core, test_hist_exact_small_values);
    tcase_add_test(core, test_judge);
    tcase_add_test(core, test_report_json);
    tcase_add_test(core, test_report_text);
    suite_add_tcase(s, core);
    TCase *limits = tcase_create("limits");
    tcase_add_test(limits, test_mix_rejects);
    tcase_add_test(limits, test_opts_bad);
    tcase_add_test(limits, test_rng_below_covers_range);
    tcase_add_test(limits, test_orders_missing_and_bad_ids);
    tcase_add_test(limits, test_orders_many);
    tcase_add_test(limits, test_hist_relative_precision);
    suite_add_tcase(s, limits);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(load_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
