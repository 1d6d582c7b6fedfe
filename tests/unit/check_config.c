/* check_config.c - configuration from the environment: defaults, valid values,
 * and invalid values rejected with a message naming the variable. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "saga/config.h"
#include "saga/err.h"

static const char *const all_vars[] = {
    "SAGA_HTTP_BIND", "SAGA_HTTP_PORT", "SAGA_HTTP_THREADS", "SAGA_HTTP_BODY_MAX",
    "SAGA_MYSQL_HOST", "SAGA_MYSQL_PORT", "SAGA_MYSQL_USER", "SAGA_MYSQL_PASSWORD",
    "SAGA_MYSQL_DATABASE", "SAGA_MYSQL_SOCKET", "SAGA_MIGRATIONS_DIR", "SAGA_SCHEMAS_DIR",
    "SAGA_KAFKA_BOOTSTRAP", "SAGA_KAFKA_GROUP", "SAGA_KAFKA_FETCH_WAIT_MS", "SAGA_REDIS_HOST",
    "SAGA_REDIS_PORT", "SAGA_REDIS_TIMEOUT_MS", "SAGA_KAFKA_SESSION_TIMEOUT_MS",
    "SAGA_KAFKA_GROUP_INSTANCE_ID", "SAGA_BATCH_MAX", "SAGA_BATCH_WAIT_MS", "SAGA_MAX_ATTEMPTS",
    "SAGA_RETRY_BASE_MS", "SAGA_RETRY_MAX_MS", "SAGA_RELAY_BATCH_MAX", "SAGA_RELAY_POLL_MS",
    "SAGA_LOG_LEVEL"};

static void clear_env(void)
{
    for (size_t i = 0; i < sizeof(all_vars) / sizeof(all_vars[0]); i++)
        unsetenv(all_vars[i]);
}

START_TEST(test_defaults)
{
    saga_config cfg;
    char err[256] = "";
    clear_env();
    ck_assert_int_eq(saga_config_load(&cfg, "order", 8081, err, sizeof(err)), SAGA_OK);
    ck_assert_str_eq(cfg.service, "order");
    ck_assert_int_eq(cfg.http_port, 8081);
    ck_assert_str_eq(cfg.http_bind, "127.0.0.1");
    ck_assert_int_eq(cfg.http_threads, 2);
    ck_assert_str_eq(cfg.mysql_database, "saga_order");
    ck_assert_str_eq(cfg.mysql_user, "saga_order");
    ck_assert_str_eq(cfg.kafka_group, "order-service");
    ck_assert_int_eq(cfg.kafka_fetch_wait_ms, 5);
    ck_assert_int_eq(cfg.redis_timeout_ms, 250);
    ck_assert_str_eq(cfg.kafka_group_instance_id, "");
    ck_assert_int_eq(cfg.batch_max, 500);
    ck_assert_int_eq(cfg.batch_wait_ms, 5);
    ck_assert_int_eq(cfg.max_attempts, 3);
    ck_assert_int_eq(cfg.log_level, SAGA_LOG_INFO);
}
END_TEST

START_TEST(test_values_from_env)
{
    saga_config cfg;
    char err[256] = "";
    clear_env();
    setenv("SAGA_HTTP_PORT", "0", 1);
    setenv("SAGA_MYSQL_DATABASE", "shop", 1);
    setenv("SAGA_BATCH_MAX", "1000", 1);
    setenv("SAGA_LOG_LEVEL", "DEBUG", 1);
    setenv("SAGA_KAFKA_GROUP", "", 1); /* empty means the default */
    setenv("SAGA_KAFKA_GROUP_INSTANCE_ID", "payment-service-host1.8082", 1);
    setenv("SAGA_REDIS_TIMEOUT_MS", "1500", 1);
    ck_assert_int_eq(saga_config_load(&cfg, "payment", 8082, err, sizeof(err)), SAGA_OK);
    ck_assert_str_eq(cfg.kafka_group_instance_id, "payment-service-host1.8082");
    ck_assert_int_eq(cfg.redis_timeout_ms, 1500);
    ck_assert_int_eq(cfg.http_port, 0);
    ck_assert_str_eq(cfg.mysql_database, "shop");
    ck_assert_int_eq(cfg.batch_max, 1000);
    ck_assert_int_eq(cfg.log_level, SAGA_LOG_DEBUG);
    ck_assert_str_eq(cfg.kafka_group, "payment-service");
}
END_TEST

/* Each invalid value stops loading with a message naming the variable. */
static void expect_invalid(const char *var, const char *value)
{
    saga_config cfg;
    char err[256] = "";
    clear_env();
    setenv(var, value, 1);
    ck_assert_int_eq(saga_config_load(&cfg, "order", 8081, err, sizeof(err)), SAGA_ERR_INVALID);
    ck_assert_msg(strstr(err, var) != NULL, "message '%s' does not name %s", err, var);
}

START_TEST(test_invalid_values)
{
    expect_invalid("SAGA_HTTP_PORT", "eighty");
    expect_invalid("SAGA_HTTP_PORT", "70000");
    expect_invalid("SAGA_HTTP_PORT", "-1");
    expect_invalid("SAGA_HTTP_PORT", "80x");
    expect_invalid("SAGA_BATCH_MAX", "0");
    expect_invalid("SAGA_BATCH_MAX", "99999999999999999999");
    expect_invalid("SAGA_MAX_ATTEMPTS", "0");
    expect_invalid("SAGA_LOG_LEVEL", "loud");
    expect_invalid("SAGA_RETRY_MAX_MS", "1"); /* below the base (50) */
    expect_invalid("SAGA_REDIS_TIMEOUT_MS", "0");
    expect_invalid("SAGA_KAFKA_GROUP_INSTANCE_ID", "order service 1");
    expect_invalid("SAGA_KAFKA_GROUP_INSTANCE_ID", "order/1");
}
END_TEST

START_TEST(test_limits)
{
    char err[256] = "", out[8];
    long n;
    bool b;
    clear_env();
    setenv("SAGA_X", "12345678", 1);
    ck_assert_int_eq(saga_config_str("SAGA_X", "d", out, sizeof(out), err, sizeof(err)),
                     SAGA_ERR_INVALID);
    ck_assert_ptr_nonnull(strstr(err, "SAGA_X"));
    setenv("SAGA_X", "1234567", 1);
    ck_assert_int_eq(saga_config_str("SAGA_X", "d", out, sizeof(out), err, sizeof(err)), SAGA_OK);
    ck_assert_str_eq(out, "1234567");
    setenv("SAGA_X", "10", 1);
    ck_assert_int_eq(saga_config_int("SAGA_X", 1, 10, 10, &n, err, sizeof(err)), SAGA_OK);
    ck_assert_int_eq(n, 10);
    ck_assert_int_eq(saga_config_int("SAGA_X", 1, 11, 20, &n, err, sizeof(err)),
                     SAGA_ERR_INVALID);
    setenv("SAGA_X", "yes", 1);
    ck_assert_int_eq(saga_config_bool("SAGA_X", false, &b, err, sizeof(err)), SAGA_OK);
    ck_assert(b);
    setenv("SAGA_X", "Off", 1);
    ck_assert_int_eq(saga_config_bool("SAGA_X", true, &b, err, sizeof(err)), SAGA_OK);
    ck_assert(!b);
    setenv("SAGA_X", "maybe", 1);
    ck_assert_int_eq(saga_config_bool("SAGA_X", true, &b, err, sizeof(err)), SAGA_ERR_INVALID);
    ck_assert_ptr_nonnull(strstr(err, "SAGA_X"));
    unsetenv("SAGA_X");
    ck_assert_int_eq(saga_config_bool("SAGA_X", true, &b, err, sizeof(err)), SAGA_OK);
    ck_assert(b);
}
END_TEST

static Suite *config_suite(void)
{
    Suite *s = suite_create("config");
    TCase *core = tcase_create("core");
    tcase_add_test(core, test_defaults);
    tcase_add_test(core, test_values_from_env);
    tcase_add_test(core, test_invalid_values);
    suite_add_tcase(s, core);
    TCase *limits = tcase_create("limits");
    tcase_add_test(limits, test_limits);
    suite_add_tcase(s, limits);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(config_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
