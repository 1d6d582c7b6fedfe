/* check_order_watch.c - order-service wakes GET /api/orders/{id}?wait= waiters only
 * after the consumer batch that settled the order has committed: not while the
 * batch is open, never for an attempt that rolls back (services/order/order_events.h,
 * against MariaDB). */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "order.h"
#include "order_service.h"
#include "order_events.h"
#include "order_store.h"
#include "saga/clock.h"
#include "saga/envelope.h"
#include "saga/err.h"
#include "testenv.h"

typedef struct fixture {
    saga_config cfg;
    saga_db *db;
    order_service app;
    order o;
} fixture;

/* A new PENDING order for one unit of "W-1", committed. */
static void fixture_open(fixture *f)
{
    char err[512];
    long long now = saga_clock_wall_ms();

    memset(f, 0, sizeof(*f));
    testenv_config(&f->cfg, "order", "order_watch");
    f->db = saga_db_open(&f->cfg, err, sizeof(err));
    ck_assert_msg(f->db != NULL, "%s", err);
    ck_assert_int_eq(order_watch_init(&f->app.watch), 0);
    saga_uuid_v4(f->o.id);
    snprintf(f->o.customer_id, sizeof(f->o.customer_id), "watcher");
    f->o.status = ORDER_PENDING;
    snprintf(f->o.currency, sizeof(f->o.currency), "EUR");
    saga_time_format_ms(now, f->o.created_at);
    saga_time_format_ms(now, f->o.updated_at);
    saga_time_format_ms(now + 30000, f->o.deadline);
    f->o.nlines = 1;
    snprintf(f->o.lines[0].sku, sizeof(f->o.lines[0].sku), "W-1");
    f->o.lines[0].quantity = 1;
    ck_assert_int_eq(saga_db_begin(f->db), SAGA_OK);
    ck_assert_int_eq(order_events_create(f->db, &(order_creation){.o = &f->o}), SAGA_OK);
    ck_assert_int_eq(saga_db_commit(f->db), SAGA_OK);
}

static void fixture_close(fixture *f)
{
    order_watch_destroy(&f->app.watch);
    saga_db_close(f->db);
}

/* The event `type` about the fixture's order, as inventory or payment emits it. */
static saga_event *event_about(const fixture *f, const char *type, const char *source)
{
    cJSON *data = cJSON_CreateObject();
    cJSON_AddStringToObject(data, "orderId", f->o.id);
    cJSON_AddStringToObject(data, "customerId", "watcher");
    cJSON_AddNumberToObject(data, "amount", 100);
    cJSON_AddStringToObject(data, "currency", "EUR");
    if (strcmp(type, "InventoryReserved") == 0) {
        cJSON *items = cJSON_AddArrayToObject(data, "items");
        cJSON *it = cJSON_CreateObject();
        cJSON_AddStringToObject(it, "sku", "W-1");
        cJSON_AddNumberToObject(it, "quantity", 1);
        cJSON_AddNumberToObject(it, "unitPrice", 100);
        cJSON_AddItemToArray(items, it);
    } else {
        cJSON_AddStringToObject(data, "paymentId", "5b0a4c6e-9d0e-4c1a-8f0e-3f2d1c0b9a87");
    }
    saga_event *ev = saga_event_new(type, source, f->o.id, f->o.id, NULL, data);
    ck_assert_ptr_nonnull(ev);
    return ev;
}

/* Applies ev in an open transaction, as the consumer does. */
static void apply_open(fixture *f, const saga_event *ev)
{
    char why[256] = "";
    saga_msg_meta meta = {.topic = "t",
                          .partition = 0,
                          .offset = 0,
                          .timestamp = -1,
                          .err = why,
                          .errlen = sizeof(why)};
    ck_assert_int_eq(saga_db_begin(f->db), SAGA_OK);
    ck_assert_msg(order_events_handle(f->db, ev, &meta, &f->app) == SAGA_OK, "%s", why);
}

START_TEST(test_waiters_woken_after_the_commit_only)
{
    fixture f;
    fixture_open(&f);
    saga_event *reserved = event_about(&f, "InventoryReserved", "/inventory-service");
    saga_event *paid = event_about(&f, "PaymentCompleted", "/payment-service");

    apply_open(&f, reserved); /* AWAITING_PAYMENT: not settled, nobody to wake */
    ck_assert_int_eq(saga_db_commit(f.db), SAGA_OK);
    unsigned long long gen = order_watch_snapshot(&f.app.watch);

    /* settled in a batch that rolls back: no wake-up, before or after */
    apply_open(&f, paid);
    ck_assert_uint_eq(order_watch_snapshot(&f.app.watch), gen);
    saga_db_rollback(f.db);
    ck_assert_uint_eq(order_watch_snapshot(&f.app.watch), gen);

    /* settled again and committed: one wake-up, after the commit, for this order */
    apply_open(&f, paid);
    ck_assert_uint_eq(order_watch_snapshot(&f.app.watch), gen);
    ck_assert_int_eq(saga_db_commit(f.db), SAGA_OK);
    ck_assert_uint_eq(order_watch_snapshot(&f.app.watch), gen + 1);
    unsigned long long seen = gen;
    ck_assert(order_watch_wait(&f.app.watch, f.o.id, &seen, saga_clock_mono_ms()));
    ck_assert_uint_eq(seen, gen + 1);

    saga_event_free(reserved);
    saga_event_free(paid);
    fixture_close(&f);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("order_watch");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_waiters_woken_after_the_commit_only);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
