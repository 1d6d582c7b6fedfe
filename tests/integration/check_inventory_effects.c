/* check_inventory_effects.c - inventory-service publishes what a consumer batch
 * changes outside MySQL (the sold-out hint in Redis, the saga_inventory_* counters)
 * only once the batch's transaction has committed: nothing while it is open,
 * nothing for an attempt that rolls back, once for the attempt that commits
 * (services/inventory/inventory_events.h, against MariaDB and Redis); and its
 * batch's stock lock reads by the key, whatever the statistics say. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "inventory_events.h"
#include "inventory_service.h"
#include "inventory_store.h"
#include "saga/envelope.h"
#include "saga/err.h"
#include "saga/metrics.h"
#include "saga/redis.h"
#include "testenv.h"

/* saga_inventory_orders_total{outcome="reserved"}, 0 before its first count. */
static double reserved_count(void)
{
    static const char name[] = "saga_inventory_orders_total{outcome=\"reserved\"} ";
    size_t len = 0;
    char *text = saga_metrics_render(&len);
    ck_assert_ptr_nonnull(text);
    const char *at = strstr(text, name);
    double v = at ? strtod(at + strlen(name), NULL) : 0;
    free(text);
    return v;
}

static saga_event_handler_fn handler_for(const char *type)
{
    for (size_t i = 0; i < inventory_nhandlers; i++)
        if (strcmp(inventory_handlers[i].event_type, type) == 0)
            return inventory_handlers[i].fn;
    ck_abort_msg("no handler for %s", type);
    return NULL;
}

START_TEST(test_hint_and_counters_only_after_the_commit)
{
    saga_config cfg;
    inventory_service ctx = {.cfg = &cfg, .currency = "EUR"};
    char err[512], run[16], sku[32], key[64], order_id[SAGA_UUID_LEN + 1], why[256] = "";
    saga_db *db;
    saga_redis *redis;

    testenv_config(&cfg, "inventory", "inventory_effects");
    inventory_events_metrics_init(&ctx);
    ck_assert_msg((db = saga_db_open(&cfg, err, sizeof(err))) != NULL, "%s", err);
    ck_assert_ptr_nonnull(redis = saga_redis_new(&cfg));
    testenv_run_id(run);
    snprintf(sku, sizeof(sku), "E-%s", run);
    snprintf(key, sizeof(key), "saga:soldout:%s", sku);
    const char *keys[] = {key};
    ck_assert_int_eq(saga_redis_del(redis, key), SAGA_OK);
    ck_assert_int_eq(inventory_store_product_insert(db, sku, "effects", 100, 1), SAGA_OK);

    /* an order for the last unit: it sells the sku out */
    saga_uuid_v4(order_id);
    cJSON *data = cJSON_CreateObject();
    cJSON_AddStringToObject(data, "orderId", order_id);
    cJSON_AddStringToObject(data, "customerId", "effects");
    cJSON_AddStringToObject(data, "currency", "EUR");
    cJSON *it = cJSON_CreateObject();
    cJSON_AddStringToObject(it, "sku", sku);
    cJSON_AddNumberToObject(it, "quantity", 1);
    cJSON_AddItemToArray(cJSON_AddArrayToObject(data, "items"), it);
    saga_event *ev =
        saga_event_new("OrderCreated", "/order-service", order_id, order_id, NULL, data);
    ck_assert_ptr_nonnull(ev);
    saga_msg_meta meta = {
        .topic = "order-events", .timestamp = -1, .err = why, .errlen = sizeof(why)};
    saga_event_handler_fn fn = handler_for("OrderCreated");
    double before = reserved_count();

    /* applied in a transaction that rolls back: nothing published, then or after */
    ck_assert_int_eq(saga_db_begin(db), SAGA_OK);
    ck_assert_msg(fn(db, ev, &meta, &ctx) == SAGA_OK, "%s", why);
    ck_assert_int_eq(saga_redis_exists(redis, keys, 1), 0);
    ck_assert(reserved_count() == before);
    saga_db_rollback(db);
    ck_assert_int_eq(saga_redis_exists(redis, keys, 1), 0);
    ck_assert(reserved_count() == before);

    /* applied again and committed: the hint and one count, after the commit */
    ck_assert_int_eq(saga_db_begin(db), SAGA_OK);
    ck_assert_msg(fn(db, ev, &meta, &ctx) == SAGA_OK, "%s", why);
    ck_assert_int_eq(saga_redis_exists(redis, keys, 1), 0);
    ck_assert(reserved_count() == before);
    ck_assert_int_eq(saga_db_commit(db), SAGA_OK);
    ck_assert_int_eq(saga_redis_exists(redis, keys, 1), 1);
    ck_assert(reserved_count() == before + 1);

    saga_redis_del(redis, key);
    saga_event_free(ev);
    saga_redis_free(redis);
    saga_db_close(db);
}
END_TEST

/* EXPLAIN's type and key columns (MariaDB's layout: id, select_type, table, type,
 * possible_keys, key, ...) */
typedef struct plan {
    char type[32], key[64];
} plan;

static int plan_row(const saga_row *row, void *ud)
{
    plan *p = ud;
    saga_row_copy(row, 3, p->type, sizeof(p->type));
    saga_row_copy(row, 5, p->key, sizeof(p->key));
    return 0;
}

/* The batch's stock lock reads its products by the key whatever the table's
 * statistics say. Here they say none while 40 products are there, as they
 * did after a catalogue was bulk-loaded (LOAD DATA did not update them): costed from
 * those, the IN list was read, and every product locked, by a scan of the whole
 * table, and inventory ran at a third of its rate. */
START_TEST(test_stock_lock_reads_by_the_key)
{
    enum { NPRODUCTS = 40, NKEYS = 20 };
    saga_config cfg;
    char err[512], sql[1024], run[16], skus[NPRODUCTS][32], marks[2 * NKEYS] = "";
    saga_param keys[NKEYS];
    saga_db *db;
    plan p = {"", ""};

    /* a new database (testenv_config): the statistics taken of the empty table stay */
    testenv_config(&cfg, "inventory", "inventory_effects");
    ck_assert_msg((db = saga_db_open(&cfg, err, sizeof(err))) != NULL, "%s", err);
    ck_assert_int_eq(
        saga_db_exec(db, "ALTER TABLE products STATS_AUTO_RECALC = 0", NULL, 0, NULL, NULL),
        SAGA_OK);
    ck_assert_int_eq(saga_db_query_one(db, "ANALYZE TABLE products", NULL, 0, NULL, NULL), SAGA_OK);
    testenv_run_id(run);
    for (size_t i = 0; i < NPRODUCTS; i++) {
        snprintf(skus[i], sizeof(skus[i]), "P-%s-%02zu", run, i);
        ck_assert_int_eq(inventory_store_product_insert(db, skus[i], "plan", 100, 1), SAGA_OK);
    }
    for (size_t i = 0; i < NKEYS; i++) {
        keys[i] = SAGA_P_STR(skus[i]);
        strcat(marks, i ? ",?" : "?");
    }
    snprintf(sql, sizeof(sql), "EXPLAIN %s%s%s", inventory_stock_lock_query.batch_head, marks,
             inventory_stock_lock_query.batch_tail);
    ck_assert_int_eq(saga_db_query_one(db, sql, keys, NKEYS, plan_row, &p), SAGA_OK);
    ck_assert_msg(strcmp(p.key, "PRIMARY") == 0 && strcmp(p.type, "ALL") != 0,
                  "the stock lock: %s on key '%s'", p.type, p.key);
    saga_db_close(db);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("inventory_effects");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_hint_and_counters_only_after_the_commit);
    tcase_add_test(tc, test_stock_lock_reads_by_the_key);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
