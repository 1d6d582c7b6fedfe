/* check_config.c - configuration from the environment: defaults, valid values,
 * and invalid values rejected with a message naming the variable. */
#include <check.h>
#include <stdio.h>
#include <unistd.h>
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
    "SAGA_LOG_LEVEL", "SAGA_HTTP_MAX_CONNECTIONS", "SAGA_HTTP_MAX_CONNECTIONS_PER_ADDRESS",
    "SAGA_HTTP_TIMEOUT_S", "SAGA_HTTP_READY_CACHE_MS", "SAGA_MYSQL_PASSWORD_FILE",
    "SAGA_MYSQL_MIGRATE_USER", "SAGA_MYSQL_MIGRATE_PASSWORD", "SAGA_REDIS_PASSWORD",
    "SAGA_MYSQL_MIGRATE_PASSWORD_FILE", "SAGA_REDIS_PASSWORD_FILE"};

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
    ck_assert_int_eq(cfg.http_max_connections, 512);
    ck_assert_int_eq(cfg.http_max_per_address, 128);
    ck_assert_int_eq(cfg.http_timeout_s, 10);
    ck_assert_int_eq(cfg.http_ready_cache_ms, 1000);
    ck_assert_str_eq(cfg.mysql_migrate_user, ""); /* migrations as SAGA_MYSQL_USER */
    ck_assert_str_eq(cfg.redis_password, "");
}
END_TEST

START_TEST(test_http_limits)
{
    saga_config cfg;
    char err[256] = "";
    clear_env();
    setenv("SAGA_HTTP_MAX_CONNECTIONS_PER_ADDRESS", "0", 1); /* no limit, behind a proxy */
    setenv("SAGA_HTTP_TIMEOUT_S", "3", 1);
    ck_assert_int_eq(saga_config_load(&cfg, "order", 8081, err, sizeof(err)), SAGA_OK);
    ck_assert_int_eq(cfg.http_max_per_address, 0);
    ck_assert_int_eq(cfg.http_timeout_s, 3);
    setenv("SAGA_HTTP_TIMEOUT_S", "0", 1); /* a request must have a deadline */
    ck_assert_int_eq(saga_config_load(&cfg, "order", 8081, err, sizeof(err)), SAGA_ERR_INVALID);
    ck_assert_ptr_nonnull(strstr(err, "SAGA_HTTP_TIMEOUT_S"));
    clear_env();
    setenv("SAGA_HTTP_MAX_CONNECTIONS", "0", 1);
    ck_assert_int_eq(saga_config_load(&cfg, "order", 8081, err, sizeof(err)), SAGA_ERR_INVALID);
    ck_assert_ptr_nonnull(strstr(err, "SAGA_HTTP_MAX_CONNECTIONS"));
    clear_env();
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
    setenv("SAGA_MYSQL_MIGRATE_USER", "saga_payment_migrate", 1);
    setenv("SAGA_MYSQL_MIGRATE_PASSWORD", "m1gr4te", 1);
    setenv("SAGA_REDIS_PASSWORD", "r3dis", 1);
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
    ck_assert_str_eq(cfg.mysql_migrate_user, "saga_payment_migrate");
    ck_assert_str_eq(cfg.mysql_migrate_password, "m1gr4te");
    ck_assert_str_eq(cfg.redis_password, "r3dis");
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

/* secret_file(CONTENT, LEN): a new temporary file holding LEN bytes of CONTENT; its
 * path in a static buffer (one at a time). */
static const char *secret_file(const char *content, size_t len)
{
    static char path[64];
    snprintf(path, sizeof(path), "/tmp/check_config.XXXXXX");
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, content, len), (ssize_t)len);
    close(fd);
    return path;
}

/* The secret NAME read from a file holding LEN bytes of CONTENT into an outlen
 * buffer; returns the rc, the value in out and the message in err. */
static int secret_from(const char *content, size_t len, char *out, size_t outlen, char *err,
                       size_t errlen)
{
    const char *path = secret_file(content, len);
    unsetenv("SAGA_S");
    setenv("SAGA_S_FILE", path, 1);
    int rc = saga_config_secret("SAGA_S", "def", out, outlen, err, errlen);
    unlink(path);
    unsetenv("SAGA_S_FILE");
    return rc;
}

START_TEST(test_secret_file)
{
    char err[256] = "", out[8];

    /* neither set: the default; the variable itself: its value */
    unsetenv("SAGA_S");
    unsetenv("SAGA_S_FILE");
    ck_assert_int_eq(saga_config_secret("SAGA_S", "def", out, sizeof(out), err, sizeof(err)),
                     SAGA_OK);
    ck_assert_str_eq(out, "def");
    setenv("SAGA_S", "plain", 1);
    ck_assert_int_eq(saga_config_secret("SAGA_S", "def", out, sizeof(out), err, sizeof(err)),
                     SAGA_OK);
    ck_assert_str_eq(out, "plain");
    setenv("SAGA_S_FILE", "", 1); /* empty counts as unset, like every setting */
    ck_assert_int_eq(saga_config_secret("SAGA_S", "def", out, sizeof(out), err, sizeof(err)),
                     SAGA_OK);
    ck_assert_str_eq(out, "plain");

    /* the file: its content minus exactly one trailing newline */
    ck_assert_int_eq(secret_from("s3cret\n", 7, out, sizeof(out), err, sizeof(err)), SAGA_OK);
    ck_assert_str_eq(out, "s3cret");
    ck_assert_int_eq(secret_from("s3cret", 6, out, sizeof(out), err, sizeof(err)), SAGA_OK);
    ck_assert_str_eq(out, "s3cret");
    ck_assert_int_eq(secret_from("a b\n\n", 5, out, sizeof(out), err, sizeof(err)), SAGA_OK);
    ck_assert_str_eq(out, "a b\n");
    ck_assert_int_eq(secret_from("\n", 1, out, sizeof(out), err, sizeof(err)) == SAGA_OK, 0);
    /* the longest value that fits, with and without its newline */
    ck_assert_int_eq(secret_from("1234567\n", 8, out, sizeof(out), err, sizeof(err)), SAGA_OK);
    ck_assert_str_eq(out, "1234567");
    ck_assert_int_eq(secret_from("1234567", 7, out, sizeof(out), err, sizeof(err)), SAGA_OK);
    ck_assert_str_eq(out, "1234567");
}
END_TEST

/* Every way a secret setting can be wrong names the variable at fault. */
START_TEST(test_secret_invalid)
{
    char err[256] = "", out[8];

    setenv("SAGA_S", "plain", 1);
    setenv("SAGA_S_FILE", "/nonexistent", 1);
    ck_assert_int_eq(saga_config_secret("SAGA_S", "", out, sizeof(out), err, sizeof(err)),
                     SAGA_ERR_INVALID);
    ck_assert_msg(strstr(err, "SAGA_S and SAGA_S_FILE are both set"), "%s", err);
    unsetenv("SAGA_S");
    ck_assert_int_eq(saga_config_secret("SAGA_S", "", out, sizeof(out), err, sizeof(err)),
                     SAGA_ERR_INVALID);
    ck_assert_msg(strstr(err, "SAGA_S_FILE: cannot read /nonexistent"), "%s", err);
    setenv("SAGA_S_FILE", "/tmp", 1); /* a directory */
    ck_assert_int_eq(saga_config_secret("SAGA_S", "", out, sizeof(out), err, sizeof(err)),
                     SAGA_ERR_INVALID);
    ck_assert_msg(strstr(err, "SAGA_S_FILE: cannot read /tmp"), "%s", err);

    ck_assert_int_eq(secret_from("", 0, out, sizeof(out), err, sizeof(err)), SAGA_ERR_INVALID);
    ck_assert_msg(strstr(err, "SAGA_S_FILE:") && strstr(err, "is empty"), "%s", err);
    ck_assert_int_eq(secret_from("12345678", 8, out, sizeof(out), err, sizeof(err)),
                     SAGA_ERR_INVALID);
    ck_assert_msg(strstr(err, "SAGA_S_FILE:") && strstr(err, "more than 7 bytes"), "%s", err);
    ck_assert_str_eq(out, ""); /* nothing half-read is left behind */
    ck_assert_int_eq(secret_from("1234567\n\n", 9, out, sizeof(out), err, sizeof(err)),
                     SAGA_ERR_INVALID);
    ck_assert_msg(strstr(err, "more than 7 bytes"), "%s", err);
    ck_assert_int_eq(secret_from("12345678\n", 9, out, sizeof(out), err, sizeof(err)),
                     SAGA_ERR_INVALID);
    ck_assert_int_eq(secret_from("ab\0cd", 5, out, sizeof(out), err, sizeof(err)),
                     SAGA_ERR_INVALID);
    ck_assert_msg(strstr(err, "SAGA_S_FILE:") && strstr(err, "NUL"), "%s", err);
}
END_TEST

/* The services' own secret, SAGA_MYSQL_PASSWORD, has its _FILE variant. */
START_TEST(test_secret_in_config)
{
    saga_config cfg;
    char err[256] = "";
    clear_env();
    const char *path = secret_file("from-a-file\n", 12);
    setenv("SAGA_MYSQL_PASSWORD_FILE", path, 1);
    ck_assert_int_eq(saga_config_load(&cfg, "order", 8081, err, sizeof(err)), SAGA_OK);
    ck_assert_str_eq(cfg.mysql_password, "from-a-file");
    setenv("SAGA_MYSQL_PASSWORD", "from-the-env", 1);
    ck_assert_int_eq(saga_config_load(&cfg, "order", 8081, err, sizeof(err)), SAGA_ERR_INVALID);
    ck_assert_msg(strstr(err, "SAGA_MYSQL_PASSWORD and SAGA_MYSQL_PASSWORD_FILE are both set"),
                  "%s", err);
    unlink(path);
    unsetenv("SAGA_MYSQL_PASSWORD");
    ck_assert_int_eq(saga_config_load(&cfg, "order", 8081, err, sizeof(err)), SAGA_ERR_INVALID);
    ck_assert_msg(strstr(err, "SAGA_MYSQL_PASSWORD_FILE: cannot read"), "%s", err);
    clear_env();
}
END_TEST

static Suite *config_suite(void)
{
    Suite *s = suite_create("config");
    TCase *core = tcase_create("core");
    tcase_add_test(core, test_defaults);
    tcase_add_test(core, test_http_limits);
    tcase_add_test(core, test_values_from_env);
    tcase_add_test(core, test_invalid_values);
    tcase_add_test(core, test_secret_file);
    tcase_add_test(core, test_secret_invalid);
    tcase_add_test(core, test_secret_in_config);
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
