/* check_service.c - the four service executables: each starts, applies its
 * migrations, answers /health, /ready and /openapi.json on its API port and /metrics on
 * its metrics port only, and stops cleanly on SIGTERM; a migration that runs longer
 * than SAGA_MYSQL_READ_TIMEOUT_S (a grown table converted) still completes; an
 * invalid setting, or no key to verify bearer tokens with, stops start-up with a
 * message naming the variable. */
#include <check.h>
#include <fcntl.h>
#include <glob.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "saga/err.h"
#include "testenv.h"

static const char *const services[] = {"order", "payment", "inventory", "notification"};
/* A route of each service that needs a token (same order as services). */
static const char *const protected_paths[] = {"/api/orders", "/api/wallets/someone",
                                              "/api/products", "/api/notifications"};

/* The services verify tokens with this HS256 secret: random per run, never a literal. */
static char jwt_secret[65];

static int make_jwt_secret(void)
{
    unsigned char raw[32];
    FILE *f = fopen("/dev/urandom", "rb");
    size_t n = f ? fread(raw, 1, sizeof(raw), f) : 0;
    if (f)
        fclose(f);
    if (n != sizeof(raw))
        return -1;
    for (size_t i = 0; i < sizeof(raw); i++)
        snprintf(jwt_secret + 2 * i, 3, "%02x", raw[i]);
    return 0;
}

/* The metrics listener of the service on HTTP port `port`. */
static int metrics_port_of(int port)
{
    return port + 100;
}

/* Starts build/services/<svc>/<svc>-service with stdout and stderr in log; with_key:
 * with an HS256 key to verify bearer tokens (else with no key at all). */
static pid_t spawn_service(const char *svc, const saga_config *cfg, int port, bool with_key,
                           const char *log)
{
    char path[1024], port_s[16], metrics_port_s[16];
    snprintf(path, sizeof(path), "%s/services/%s/%s-service", getenv("SAGA_BUILD_DIR"), svc, svc);
    snprintf(port_s, sizeof(port_s), "%d", port);
    snprintf(metrics_port_s, sizeof(metrics_port_s), "%d", metrics_port_of(port));
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        dup2(fd, 1);
        dup2(fd, 2);
        setenv("SAGA_HTTP_PORT", port_s, 1);
        setenv("SAGA_METRICS_PORT", metrics_port_s, 1);
        unsetenv("SAGA_JWT_KEY_FILE");
        unsetenv("SAGA_JWT_SECRET");
        if (with_key) {
            setenv("SAGA_JWT_ALG", "HS256", 1);
            setenv("SAGA_JWT_SECRET", jwt_secret, 1);
        }
        setenv("SAGA_MYSQL_DATABASE", cfg->mysql_database, 1);
        setenv("SAGA_MIGRATIONS_DIR", cfg->migrations_dir, 1);
        setenv("SAGA_SCHEMAS_DIR", cfg->schemas_dir, 1);
        setenv("SAGA_LOG_LEVEL", "info", 1);
        execl(path, path, (char *)NULL);
        _exit(127);
    }
    return pid;
}

/* Asks the service on port for /ready every 100 ms, up to 30 s; its last status. */
static int wait_ready(int port, char *body, size_t bodylen)
{
    int status = -1;
    for (int i = 0; i < 300 && status != 200; i++) {
        status = testenv_http_get(port, "/ready", body, bodylen);
        if (status != 200)
            testenv_sleep_ms(100);
    }
    return status;
}

/* Waits up to timeout_ms for the child to exit; returns its wait status or -1. */
static int wait_exit(pid_t pid, int timeout_ms)
{
    int status;
    for (int waited = 0; waited < timeout_ms; waited += 50) {
        if (waitpid(pid, &status, WNOHANG) == pid)
            return status;
        testenv_sleep_ms(50);
    }
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    return -1;
}

/* SIGTERM to the service, which must exit 0 within 20 s. */
static void stop_service(const char *svc, pid_t pid)
{
    ck_assert_int_eq(kill(pid, SIGTERM), 0);
    int ws = wait_exit(pid, 20000);
    ck_assert_msg(ws != -1, "%s-service did not stop within 20 s of SIGTERM", svc);
    ck_assert_msg(WIFEXITED(ws) && WEXITSTATUS(ws) == 0, "%s-service exit status %d", svc, ws);
}

START_TEST(test_service_lifecycle)
{
    const char *svc = services[_i];
    saga_config cfg;
    char dbname[64], log[256], body[65536], err[512];
    int port = 28081 + _i;

    snprintf(dbname, sizeof(dbname), "svc_%s", svc);
    testenv_config_empty(&cfg, svc, dbname); /* the service must create every table itself */
    saga_db *db = saga_db_open(&cfg, err, sizeof(err));
    ck_assert_msg(db != NULL, "%s", err);

    snprintf(log, sizeof(log), "%s/%s-service.log", getenv("SAGA_TEST_DIR"), svc);
    pid_t pid = spawn_service(svc, &cfg, port, true, log);
    int status = wait_ready(port, body, sizeof(body));
    ck_assert_msg(status == 200, "%s-service never became ready (log: %s)", svc, log);
    ck_assert_ptr_nonnull(strstr(body, "READY"));
    ck_assert_int_eq(testenv_http_get(port, "/health", body, sizeof(body)), 200);
    /* /metrics: on its own listener, not on the API port */
    ck_assert_int_eq(testenv_http_get(metrics_port_of(port), "/metrics", body, sizeof(body)), 200);
    ck_assert_ptr_nonnull(strstr(body, "saga_up 1"));
    ck_assert_int_eq(testenv_http_get(port, "/metrics", body, sizeof(body)), 404);
    /* the API wants a bearer token */
    ck_assert_int_eq(testenv_http_get(port, protected_paths[_i], body, sizeof(body)), 401);
    /* the runtime serves the service's OpenAPI description (found beside schemas/) */
    ck_assert_int_eq(testenv_http_get(port, "/openapi.json", body, sizeof(body)), 200);
    ck_assert_ptr_nonnull(strstr(body, "\"openapi\""));
    ck_assert_int_eq(testenv_http_get(port, "/no/such/path", body, sizeof(body)), 404);
    ck_assert_ptr_nonnull(strstr(body, "\"status\":404"));

    long long applied = 0;
    ck_assert_int_eq(saga_db_query_i64(db,
                                       "SELECT COUNT(*) FROM schema_migrations WHERE name ="
                                       " 'common/001_outbox_inbox.sql'",
                                       NULL, 0, &applied),
                     SAGA_OK);
    ck_assert_int_eq(applied, 1);
    /* and every one of the service's own files (NNN_*.sql), from an empty database */
    char pattern[1024];
    glob_t files;
    snprintf(pattern, sizeof(pattern), "%s/%s/[0-9][0-9][0-9]_*.sql", cfg.migrations_dir, svc);
    ck_assert_int_eq(glob(pattern, 0, NULL, &files), 0);
    size_t own_files = files.gl_pathc;
    globfree(&files);
    saga_param own[] = {SAGA_P_STR(svc)};
    ck_assert_int_eq(saga_db_query_i64(db,
                                       "SELECT COUNT(*) FROM schema_migrations"
                                       " WHERE name LIKE CONCAT(?, '/%')",
                                       own, 1, &applied),
                     SAGA_OK);
    ck_assert_msg(own_files > 0 && (size_t)applied == own_files,
                  "%s: %lld of its %zu migrations recorded", svc, applied, own_files);

    stop_service(svc, pid);
    saga_db_close(db);
}
END_TEST

START_TEST(test_invalid_setting_stops_startup)
{
    saga_config cfg;
    char log[256], text[2048] = "";

    testenv_config(&cfg, "order", "svc_badconfig");
    setenv("SAGA_BATCH_MAX", "lots", 1);
    snprintf(log, sizeof(log), "%s/badconfig.log", getenv("SAGA_TEST_DIR"));
    pid_t pid = spawn_service("order", &cfg, 28099, true, log);
    int ws = wait_exit(pid, 20000);
    unsetenv("SAGA_BATCH_MAX");
    ck_assert_msg(WIFEXITED(ws) && WEXITSTATUS(ws) == 2, "exit status %d", ws);
    FILE *f = fopen(log, "r");
    ck_assert_ptr_nonnull(f);
    size_t n = fread(text, 1, sizeof(text) - 1, f);
    text[n] = '\0';
    fclose(f);
    ck_assert_msg(strstr(text, "SAGA_BATCH_MAX") != NULL, "message does not name it: %s", text);
}
END_TEST

/* A service that could not tell who calls must not serve: without a key it refuses
 * to start, naming the variable to set. */
START_TEST(test_no_jwt_key_stops_startup)
{
    const char *svc = services[_i];
    saga_config cfg;
    char dbname[64], log[256], text[2048] = "";

    snprintf(dbname, sizeof(dbname), "svc_nokey_%s", svc);
    testenv_config(&cfg, svc, dbname);
    snprintf(log, sizeof(log), "%s/%s-nokey.log", getenv("SAGA_TEST_DIR"), svc);
    pid_t pid = spawn_service(svc, &cfg, 28091 + _i, false, log);
    int ws = wait_exit(pid, 20000);
    ck_assert_msg(ws != -1 && WIFEXITED(ws) && WEXITSTATUS(ws) == 2,
                  "%s-service without a JWT key: exit status %d (log: %s)", svc, ws, log);
    FILE *f = fopen(log, "r");
    ck_assert_ptr_nonnull(f);
    size_t n = fread(text, 1, sizeof(text) - 1, f);
    text[n] = '\0';
    fclose(f);
    ck_assert_msg(strstr(text, "SAGA_JWT_KEY_FILE") != NULL, "message does not name it: %s", text);
}
END_TEST

/* Converting a grown table runs for minutes: the migrations' connection must not give
 * up after the runtime read timeout (the statement would roll back, and every start
 * would fail the same way). Here one of 3 s against a timeout of 1 s. */
START_TEST(test_long_migration_outlasts_the_read_timeout)
{
    saga_config cfg;
    char dir[512], path[600], log[256], body[4096];
    int port = 28097;

    testenv_config_empty(&cfg, "payment", "svc_slow_migration");
    /* the real migrations, and one more that takes 3 s */
    testenv_migrations_copy(&cfg, "payment", "slow-migrations", NULL, dir, sizeof(dir));
    snprintf(path, sizeof(path), "%s/payment/999_slow.sql", dir);
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs("DO SLEEP(3);\n", f);
    fclose(f);
    snprintf(cfg.migrations_dir, sizeof(cfg.migrations_dir), "%s", dir);
    saga_db *db = saga_db_open(&cfg, body, sizeof(body));
    ck_assert_msg(db != NULL, "%s", body);

    snprintf(log, sizeof(log), "%s/slow-migration.log", getenv("SAGA_TEST_DIR"));
    setenv("SAGA_MYSQL_READ_TIMEOUT_S", "1", 1);
    pid_t pid = spawn_service("payment", &cfg, port, true, log);
    unsetenv("SAGA_MYSQL_READ_TIMEOUT_S");
    int status = wait_ready(port, body, sizeof(body));
    ck_assert_msg(status == 200, "payment-service never became ready (log: %s)", log);
    long long applied = 0;
    ck_assert_int_eq(saga_db_query_i64(db,
                                       "SELECT COUNT(*) FROM schema_migrations WHERE name ="
                                       " 'payment/999_slow.sql'",
                                       NULL, 0, &applied),
                     SAGA_OK);
    ck_assert_int_eq(applied, 1);
    stop_service("payment", pid);
    saga_db_close(db);
}
END_TEST

static Suite *service_suite(void)
{
    Suite *s = suite_create("service");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_loop_test(tc, test_service_lifecycle, 0, 4);
    tcase_add_test(tc, test_long_migration_outlasts_the_read_timeout);
    tcase_add_test(tc, test_invalid_setting_stops_startup);
    tcase_add_loop_test(tc, test_no_jwt_key_stops_startup, 0, 4);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    if (make_jwt_secret()) {
        fprintf(stderr, "check_service: cannot read /dev/urandom\n");
        return EXIT_FAILURE;
    }
    SRunner *sr = srunner_create(service_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
