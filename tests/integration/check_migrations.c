/* check_migrations.c - a database written before the ids were stored as their bytes
 * is converted in place, for each of the four services against real MariaDB: the
 * migrations up to the NNN_binary_ids.sql files, rows written with text ids as the
 * earlier version wrote them, then every migration: each id column holds the text's
 * 16 bytes (found by the id, read back as the same text), a NULL id stays NULL, the
 * other columns are untouched, and the conversion run a second time (a start that
 * failed part way) changes nothing. */
#include <check.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "saga/db.h"
#include "saga/err.h"
#include "saga/file.h"
#include "testenv.h"

#define ORDER "0193a5b2-7c1d-7e2f-8a3b-4c5d6e7f8091"
#define PAYMENT "0193a5b2-7c1d-7e2f-8a3b-4c5d6e7f8092"
#define EVENT "0193a5b2-7c1d-7e2f-8a3b-4c5d6e7f8093"
#define NOTIFICATION "0193a5b2-7c1d-7e2f-8a3b-4c5d6e7f8094"
#define TOKEN "0193a5b2-7c1d-7e2f-8a3b-4c5d6e7f8095"

/* An id column and the text the row written before holds there. */
typedef struct id_check {
    const char *table, *column, *text;
} id_check;

typedef struct service_case {
    const char *service;
    const char *rows; /* the rows, as the version before wrote them */
    id_check ids[8];
    const char *unchanged; /* a query over other columns: 1 if they are as written */
} service_case;

static const service_case cases[] = {
    {"order",
     "INSERT INTO orders (id, customer_id, status, currency, amount, payment_id, deadline,"
     " created_at, updated_at) VALUES ('" ORDER "', 'alice', 'CONFIRMED', 'EUR', 2250,"
     " '" PAYMENT "', '2026-01-01 00:00:30', '2026-01-01 00:00:00', '2026-01-01 00:00:01');"
     "INSERT INTO order_items (order_id, sku, quantity, unit_price)"
     " VALUES ('" ORDER "', 'A', 2, 1000);"
     "INSERT INTO order_history (order_id, event_id, event_type, kind, status, occurred_at)"
     " VALUES ('" ORDER "', NULL, 'CreateOrder', 'api', 'PENDING', '2026-01-01 00:00:00'),"
     " ('" ORDER "', '" EVENT "', 'OrderCreated', 'emitted', 'PENDING', '2026-01-01 00:00:00');"
     "INSERT INTO idempotency_keys (customer_id, idem_key, request_hash, order_id, created_at)"
     " VALUES ('alice', 'k-1', '0123456789abcdef', '" ORDER "', '2026-01-01 00:00:00');"
     "INSERT INTO inbox (event_id, event_type) VALUES ('" EVENT "', 'InventoryReserved')",
     {{"orders", "id", ORDER},
      {"orders", "payment_id", PAYMENT},
      {"order_items", "order_id", ORDER},
      {"order_history", "order_id", ORDER},
      {"order_history", "event_id", EVENT},
      {"idempotency_keys", "order_id", ORDER},
      {"inbox", "event_id", EVENT}},
     "SELECT (SELECT COUNT(*) FROM orders WHERE amount = 2250 AND customer_id = 'alice') +"
     " (SELECT COUNT(*) FROM order_history WHERE event_id IS NULL AND kind = 'api') +"
     " (SELECT COUNT(*) FROM order_items WHERE sku = 'A' AND quantity = 2) = 3"},
    {"payment",
     "INSERT INTO payments (id, order_id, customer_id, amount, currency, status)"
     " VALUES ('" PAYMENT "', '" ORDER "', 'alice', 2250, 'EUR', 'CAPTURED');"
     "INSERT INTO cancelled_orders (order_id, customer_id, reason)"
     " VALUES ('" ORDER "', 'alice', 'TIMEOUT');"
     "INSERT INTO known_orders (order_id, customer_id) VALUES ('" ORDER "', 'alice');"
     "INSERT INTO pending_reservations (order_id, customer_id, amount, currency, event_id)"
     " VALUES ('" ORDER "', 'alice', 2250, 'EUR', '" EVENT "');"
     "INSERT INTO inbox (event_id, event_type) VALUES ('" EVENT "', 'InventoryReserved')",
     {{"payments", "id", PAYMENT},
      {"payments", "order_id", ORDER},
      {"cancelled_orders", "order_id", ORDER},
      {"known_orders", "order_id", ORDER},
      {"pending_reservations", "order_id", ORDER},
      {"pending_reservations", "event_id", EVENT},
      {"inbox", "event_id", EVENT}},
     "SELECT (SELECT COUNT(*) FROM payments WHERE amount = 2250 AND status = 'CAPTURED') +"
     " (SELECT COUNT(*) FROM pending_reservations WHERE amount = 2250) = 2"},
    {"inventory",
     "INSERT INTO reservations (order_id, sku, customer_id, quantity, unit_price, status)"
     " VALUES ('" ORDER "', 'A', 'alice', 2, 1000, 'COMMITTED'),"
     " ('" ORDER "', 'B', 'alice', 1, 250, 'COMMITTED');"
     "INSERT INTO order_outcomes (order_id, customer_id, outcome, amount)"
     " VALUES ('" ORDER "', 'alice', 'RESERVED', 2250);"
     "INSERT INTO inbox (event_id, event_type) VALUES ('" EVENT "', 'OrderCreated')",
     {{"reservations", "order_id", ORDER},
      {"order_outcomes", "order_id", ORDER},
      {"inbox", "event_id", EVENT}},
     "SELECT (SELECT SUM(quantity * unit_price) FROM reservations) = 2250"},
    {"notification",
     "INSERT INTO notifications (id, order_id, customer_id, trigger_type, trigger_event_id,"
     " channel, status, next_attempt_at, payload, claim_token) VALUES ('" NOTIFICATION "',"
     " '" ORDER "', 'alice', 'OrderConfirmed', '" EVENT "', 'log', 'PENDING',"
     " '2026-01-01 00:00:00', '{}', '" TOKEN "');"
     "INSERT INTO known_orders (order_id, customer_id) VALUES ('" ORDER "', 'alice');"
     "INSERT INTO inbox (event_id, event_type) VALUES ('" EVENT "', 'OrderConfirmed')",
     {{"notifications", "id", NOTIFICATION},
      {"notifications", "order_id", ORDER},
      {"notifications", "trigger_event_id", EVENT},
      {"notifications", "claim_token", TOKEN},
      {"known_orders", "order_id", ORDER},
      {"inbox", "event_id", EVENT}},
     "SELECT COUNT(*) = 1 FROM notifications WHERE payload = '{}' AND channel = 'log'"},
};

static int uuid_text(const saga_row *row, void *ud)
{
    ck_assert(saga_row_uuid(row, 0, ud));
    return 0;
}

/* Every id of c is stored as its bytes: found by the id, read back as its text. */
static void check_ids(saga_db *db, const service_case *c)
{
    char sql[256], text[SAGA_TEXT_UUID_LEN + 1];
    long long n = -1;

    for (const id_check *id = c->ids; id->table; id++) {
        saga_param p[] = {SAGA_P_UUID(id->text)};
        snprintf(sql, sizeof(sql), "SELECT COUNT(*) FROM %s WHERE %s = ?", id->table, id->column);
        ck_assert_int_eq(saga_db_query_i64(db, sql, p, 1, &n), SAGA_OK);
        ck_assert_msg(n >= 1, "%s.%s: no row for %s", id->table, id->column, id->text);
        snprintf(sql, sizeof(sql), "SELECT %s FROM %s WHERE %s IS NOT NULL LIMIT 1", id->column,
                 id->table, id->column);
        ck_assert_int_eq(saga_db_query_one(db, sql, NULL, 0, uuid_text, text), SAGA_OK);
        ck_assert_str_eq(text, id->text);
        snprintf(sql, sizeof(sql), "SELECT COUNT(*) FROM %s WHERE LENGTH(%s) <> 16", id->table,
                 id->column);
        ck_assert_int_eq(saga_db_query_i64(db, sql, NULL, 0, &n), SAGA_OK);
        ck_assert_msg(n == 0, "%s.%s: %lld values are not 16 bytes", id->table, id->column, n);
    }
    ck_assert_int_eq(saga_db_query_i64(db, c->unchanged, NULL, 0, &n), SAGA_OK);
    ck_assert_msg(n == 1, "%s: the other columns changed", c->service);
}

START_TEST(test_text_ids_converted_in_place)
{
    const service_case *c = &cases[_i];
    saga_config cfg;
    char dbname[64], dir[512], cmd[600], err[512];

    snprintf(dbname, sizeof(dbname), "migrate_%s", c->service);
    testenv_config_empty(&cfg, c->service, dbname);
    saga_db *db = saga_db_open(&cfg, err, sizeof(err));
    ck_assert_msg(db != NULL, "%s", err);

    /* the schema as the version before left it: every migration but the conversion */
    snprintf(cmd, sizeof(cmd), "migrations-before-%s", c->service);
    testenv_migrations_copy(&cfg, c->service, cmd, "_binary_ids.sql", dir, sizeof(dir));
    ck_assert_int_eq(saga_db_migrate(db, dir, c->service, err, sizeof(err)), SAGA_OK);
    ck_assert_msg(saga_db_exec_script(db, c->rows) == SAGA_OK, "%s", saga_db_error(db));

    /* this version's start: the conversion */
    ck_assert_msg(saga_db_migrate(db, cfg.migrations_dir, c->service, err, sizeof(err)) ==
                      SAGA_OK,
                  "%s", err);
    check_ids(db, c);

    /* a start that failed part way runs the files again: nothing converts twice */
    const char *subs[] = {"common", c->service};
    for (size_t s = 0; s < 2; s++) {
        glob_t files;
        snprintf(cmd, sizeof(cmd), "%s/%s/*_binary_ids.sql", cfg.migrations_dir, subs[s]);
        ck_assert_int_eq(glob(cmd, 0, NULL, &files), 0);
        ck_assert_int_eq(files.gl_pathc, 1);
        char *sql = NULL;
        size_t len;
        ck_assert_int_eq(saga_file_read(files.gl_pathv[0], 1 << 20, &sql, &len), SAGA_OK);
        ck_assert_msg(saga_db_exec_script(db, sql) == SAGA_OK, "%s: %s", files.gl_pathv[0],
                      saga_db_error(db));
        free(sql);
        globfree(&files);
    }
    check_ids(db, c);
    saga_db_close(db);
}
END_TEST

static Suite *migrations_suite(void)
{
    Suite *s = suite_create("migrations");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_loop_test(tc, test_text_ids_converted_in_place, 0,
                        (int)(sizeof(cases) / sizeof(cases[0])));
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(migrations_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
