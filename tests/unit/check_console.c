/* check_console.c - saga-console's pure parts: an order's events in causal order
 * (console_causal_order, console_time_parse_ms) and the services' /metrics text
 * (console_prom_parse, console_prom_sum). */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "console.h"
#include "saga/err.h"

/* ---- causal order ---- */

static console_causal_node node(const char *id, const char *cause, int64_t ts, int64_t tie)
{
    return (console_causal_node){.id = id, .cause = cause, .timestamp = ts, .tiebreak = tie};
}

/* The ids in the order computed, joined with spaces. */
static void order_ids(console_causal_node *n, size_t count, char *out, size_t len)
{
    size_t order[32];
    ck_assert_int_eq(console_causal_order(n, count, order), SAGA_OK);
    out[0] = '\0';
    for (size_t k = 0; k < count; k++) {
        if (k)
            strncat(out, " ", len - strlen(out) - 1);
        strncat(out, n[order[k]].id, len - strlen(out) - 1);
    }
}

START_TEST(test_causal_chain_in_any_input_order)
{
    /* a confirmed order's saga, given newest first */
    console_causal_node n[] = {
        node("sent", "confirmed", 500, 4), node("confirmed", "paid", 400, 3),
        node("paid", "reserved", 300, 2),  node("reserved", "created", 200, 1),
        node("created", NULL, 100, 0),
    };
    char got[200];
    order_ids(n, 5, got, sizeof(got));
    ck_assert_str_eq(got, "created reserved paid confirmed sent");
    /* depth and the cause's position in the result */
    ck_assert_int_eq(n[4].depth, 0);
    ck_assert_int_eq(n[4].cause_index, -1);
    ck_assert_int_eq(n[0].depth, 4);
    ck_assert_int_eq(n[0].cause_index, 3);
}
END_TEST

START_TEST(test_causes_first_even_when_clocks_disagree)
{
    /* payment's clock runs 50 ms behind: its PaymentCompleted looks older than the
     * InventoryReserved that caused it; the cause still comes first */
    console_causal_node n[] = {
        node("created", NULL, 100, 0),
        node("reserved", "created", 200, 1),
        node("paid", "reserved", 150, 2),
        node("confirmed", "paid", 210, 3),
    };
    char got[200];
    order_ids(n, 4, got, sizeof(got));
    ck_assert_str_eq(got, "created reserved paid confirmed");
}
END_TEST

START_TEST(test_branches_by_time)
{
    /* an OrderCancelled causes three events; a customer's cancellation is a second
     * root, after the first saga's events by time */
    console_causal_node n[] = {
        node("created", NULL, 100, 0),      node("confirmed", "created", 200, 1),
        node("cancel", NULL, 300, 2),       node("refund", "cancel", 420, 3),
        node("release", "cancel", 410, 4),  node("sent2", "cancel", 430, 5),
        node("sent1", "confirmed", 350, 6),
    };
    char got[200];
    order_ids(n, 7, got, sizeof(got));
    ck_assert_str_eq(got, "created confirmed cancel sent1 release refund sent2");
}
END_TEST

START_TEST(test_unknown_cause_duplicates_and_ties)
{
    /* a cause not among the events makes a root; a redelivered event (same id) keeps
     * its children on the first copy; equal times fall back on the tiebreak */
    console_causal_node n[] = {
        node("b", "missing", 100, 2),
        node("a", NULL, 100, 1),
        node("a", NULL, 300, 9),
        node("c", "a", 200, 3),
    };
    char got[200];
    order_ids(n, 4, got, sizeof(got));
    ck_assert_str_eq(got, "a b c a");
    ck_assert_int_eq(n[0].cause_index, -1); /* "missing" is not there */
    ck_assert_int_eq(n[3].cause_index, 0);  /* the first "a" */
    ck_assert_int_eq(n[3].depth, 1);
}
END_TEST

START_TEST(test_cycles_and_dead_letters)
{
    /* forged events that name each other: broken by time, nothing hangs */
    console_causal_node n[] = {
        node("x", "y", 200, 0),
        node("y", "x", 100, 1),
        /* a dead letter follows the event it holds, whatever its timestamp */
        node("dlq:0:5", "x", 50, 2),
    };
    char got[200];
    order_ids(n, 3, got, sizeof(got));
    ck_assert_str_eq(got, "y x dlq:0:5");
    ck_assert_int_eq(n[1].cause_index, -1); /* its cause comes later: shown as a root */
    ck_assert_int_eq(n[0].cause_index, 0);
    ck_assert_int_eq(n[2].cause_index, 1);
    /* no nodes, no ids */
    size_t order[2];
    ck_assert_int_eq(console_causal_order(NULL, 0, order), SAGA_OK);
    console_causal_node anon[] = {node(NULL, NULL, 2, 0), node(NULL, NULL, 1, 0)};
    ck_assert_int_eq(console_causal_order(anon, 2, order), SAGA_OK);
    ck_assert_uint_eq(order[0], 1);
}
END_TEST

START_TEST(test_time_parse)
{
    ck_assert_int_eq(console_time_parse_ms("1970-01-01T00:00:00.000Z"), 0);
    ck_assert_int_eq(console_time_parse_ms("2026-11-22T12:18:22.610Z"), 1795349902610LL);
    ck_assert_int_eq(console_time_parse_ms("2026-11-22T12:18:22Z"), 1795349902000LL);
    ck_assert_int_eq(console_time_parse_ms("2026-11-22T12:18:22.6Z"), 1795349902600LL);
    ck_assert_int_eq(console_time_parse_ms("2026-11-22T12:18:22.123456Z"), 1795349902123LL);
    ck_assert_int_eq(console_time_parse_ms("2026-11-22T12:18:22.610+01:00"), -1);
    ck_assert_int_eq(console_time_parse_ms("2026-13-22T12:18:22.610Z"), -1);
    ck_assert_int_eq(console_time_parse_ms("yesterday"), -1);
    ck_assert_int_eq(console_time_parse_ms(NULL), -1);
}
END_TEST

/* ---- the metrics text ---- */

static const char metrics[] =
    "# HELP saga_events_published_total Events published from the outbox\n"
    "# TYPE saga_events_published_total counter\n"
    "saga_events_published_total{topic=\"order-events\",type=\"OrderConfirmed\"} 12\n"
    "saga_events_published_total{topic=\"order-events\",type=\"OrderCancelled\"} 3\n"
    "saga_outbox_backlog 7\n"
    "saga_consumer_lag{topic=\"order-events\",partition=\"0\"} 4 1700000000000\n"
    "saga_consumer_lag{topic=\"order-events\",partition=\"1\"} 5\r\n"
    "  \n"
    "saga_http_request_seconds_bucket{route=\"/api/orders\",le=\"+Inf\"} 9\n"
    "weird{msg=\"a \\\"quoted\\\", comma\\\\ and\\nnewline\"} 1.5e3\n"
    "saga_up NaN\n"
    "saga_down -Inf\n";

typedef struct seen {
    int n;
    char last_name[64];
    char last_label[128];
    double last_value;
} seen;

static void record(const char *name, const console_prom_label *labels, size_t nlabels, double value,
                   void *ud)
{
    seen *s = ud;
    s->n++;
    strncpy(s->last_name, name, sizeof(s->last_name) - 1);
    s->last_label[0] = '\0';
    if (nlabels)
        strncpy(s->last_label, labels[nlabels - 1].value, sizeof(s->last_label) - 1);
    s->last_value = value;
    if (!strcmp(name, "weird")) {
        ck_assert_uint_eq(nlabels, 1);
        ck_assert_str_eq(labels[0].name, "msg");
        ck_assert_str_eq(labels[0].value, "a \"quoted\", comma\\ and\nnewline");
        ck_assert(value == 1500.0);
    }
    if (!strcmp(name, "saga_up"))
        ck_assert(isnan(value));
    if (!strcmp(name, "saga_down"))
        ck_assert(isinf(value) && value < 0);
}

START_TEST(test_prom_parse)
{
    seen s = {0};
    size_t bad = console_prom_parse(metrics, strlen(metrics), record, &s);
    ck_assert_uint_eq(bad, 0);
    ck_assert_int_eq(s.n, 9);
    ck_assert_str_eq(s.last_name, "saga_down");
}
END_TEST

START_TEST(test_prom_sum)
{
    bool found = false;
    size_t len = strlen(metrics);
    ck_assert(console_prom_sum(metrics, len, "saga_events_published_total", "type",
                               "OrderConfirmed", &found) == 12.0);
    ck_assert(found);
    ck_assert(console_prom_sum(metrics, len, "saga_events_published_total", NULL, NULL, &found) ==
              15.0);
    ck_assert(console_prom_sum(metrics, len, "saga_consumer_lag", NULL, NULL, &found) == 9.0);
    ck_assert(console_prom_sum(metrics, len, "saga_outbox_backlog", NULL, NULL, &found) == 7.0);
    /* a name that is only a prefix of another, or absent: nothing */
    ck_assert(console_prom_sum(metrics, len, "saga_outbox", NULL, NULL, &found) == 0.0);
    ck_assert(!found);
    ck_assert(console_prom_sum(metrics, len, "saga_events_published_total", "type", "Nope",
                               &found) == 0.0);
    ck_assert(!found);
}
END_TEST

START_TEST(test_prom_bad_lines_skipped)
{
    static const char text[] = "good 1\n"
                               "{no_name=\"x\"} 1\n"
                               "unterminated{a=\"x} 1\n"
                               "bad_escape{a=\"\\q\"} 1\n"
                               "no_value\n"
                               "two_values 1 2 3\n"
                               "bad_label{1a=\"x\"} 1\n"
                               "also_good{a=\"x\",} 2\n";
    seen s = {0};
    ck_assert_uint_eq(console_prom_parse(text, strlen(text), record, &s), 6);
    ck_assert_int_eq(s.n, 2);
    ck_assert_str_eq(s.last_name, "also_good");
    ck_assert(s.last_value == 2.0);
    /* the text need not end with a newline, nor be NUL-terminated */
    seen t = {0};
    ck_assert_uint_eq(console_prom_parse("x 1\ny 2XXXX", 7, record, &t), 0);
    ck_assert_int_eq(t.n, 2);
    ck_assert(t.last_value == 2.0);
    /* a line longer than the parser's buffer is skipped, not cut */
    size_t big = 10000;
    char *line = malloc(big + 8);
    memset(line, 'a', big);
    memcpy(line + big, " 1\nz 3\n", 7);
    seen u = {0};
    ck_assert_uint_eq(console_prom_parse(line, big + 7, record, &u), 1);
    ck_assert_int_eq(u.n, 1);
    ck_assert_str_eq(u.last_name, "z");
    free(line);
}
END_TEST

static Suite *console_suite(void)
{
    Suite *s = suite_create("console");
    TCase *core = tcase_create("core");
    tcase_add_test(core, test_causal_chain_in_any_input_order);
    tcase_add_test(core, test_causes_first_even_when_clocks_disagree);
    tcase_add_test(core, test_branches_by_time);
    tcase_add_test(core, test_time_parse);
    tcase_add_test(core, test_prom_parse);
    tcase_add_test(core, test_prom_sum);
    suite_add_tcase(s, core);
    TCase *limits = tcase_create("limits");
    tcase_add_test(limits, test_unknown_cause_duplicates_and_ties);
    tcase_add_test(limits, test_cycles_and_dead_letters);
    tcase_add_test(limits, test_prom_bad_lines_skipped);
    suite_add_tcase(s, limits);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(console_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
