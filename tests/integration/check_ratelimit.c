/* check_ratelimit.c - token buckets against the harness's Redis: a burst is let
 * through then limited with a Retry-After, the bucket refills with time, keys are
 * independent, rate 0 is off, a flushed script is loaded again, and with Redis
 * unreachable every request is let through and counted. Also saga_redis_command,
 * which the buckets run on, and a connection Redis closed replaced at once (and
 * authenticated again). The harness's Redis wants a password: a handle without it,
 * or with a wrong one, behaves as with Redis down. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "saga/err.h"
#include "saga/metrics.h"
#include "saga/ratelimit.h"
#include "saga/redis.h"
#include "testenv.h"

/* A handle on the harness's Redis. */
static saga_redis *open_redis(void)
{
    saga_config cfg;
    char err[512];

    testenv_load();
    if (!getenv("SAGA_LOG_LEVEL"))
        setenv("SAGA_LOG_LEVEL", "warn", 1);
    ck_assert_msg(saga_config_load(&cfg, "ratelimit", 0, err, sizeof(err)) == SAGA_OK, "%s", err);
    saga_redis *r = saga_redis_new(&cfg);
    ck_assert_ptr_nonnull(r);
    return r;
}

/* A key of this run: the harness's Redis outlives a single test. */
static void run_key(char *out, size_t outlen, const char *name)
{
    char run[16];
    testenv_run_id(run);
    snprintf(out, outlen, "rl:test:%s:%s", run, name);
}

/* A port nothing listens on: bound by us, then closed. */
static int closed_port(void)
{
    struct sockaddr_in addr = {.sin_family = AF_INET};
    socklen_t len = sizeof(addr);
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    ck_assert_int_ge(fd, 0);
    inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&addr, sizeof(addr)), 0);
    ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&addr, &len), 0);
    close(fd);
    return ntohs(addr.sin_port);
}

/* A counter's value from the rendered metrics (0 if not registered yet). */
static double counter_value(const char *name)
{
    size_t len;
    char *text = saga_metrics_render(&len);
    size_t nlen = strlen(name);
    double v = 0;

    ck_assert_ptr_nonnull(text);
    for (const char *line = text; line && *line; line = strchr(line, '\n')) {
        if (*line == '\n')
            line++;
        if (strncmp(line, name, nlen) == 0 && line[nlen] == ' ') {
            v = strtod(line + nlen + 1, NULL);
            break;
        }
    }
    free(text);
    return v;
}

START_TEST(test_burst_then_limited_then_refilled)
{
    saga_redis *r = open_redis();
    saga_rate limit = {.rate = 1, .burst = 5};
    char key[96];
    long retry = -1;
    double limited_before = counter_value("saga_ratelimit_limited_total");

    run_key(key, sizeof(key), "burst");
    for (int i = 0; i < 5; i++) {
        ck_assert_int_eq(saga_ratelimit_take(r, key, limit, &retry), SAGA_RATE_ALLOWED);
        ck_assert_int_eq(retry, 0);
    }
    ck_assert_int_eq(saga_ratelimit_take(r, key, limit, &retry), SAGA_RATE_LIMITED);
    ck_assert_int_eq(retry, 1);
    ck_assert(counter_value("saga_ratelimit_limited_total") == limited_before + 1);

    /* the hash lives about as long as the bucket takes to refill */
    const char *pttl[] = {"PTTL", key};
    saga_redis_reply reply;
    ck_assert_int_eq(saga_redis_command(r, 2, pttl, &reply), SAGA_OK);
    ck_assert_uint_eq(reply.nints, 1);
    ck_assert_int_gt(reply.ints[0], 4000);
    ck_assert_int_le(reply.ints[0], 6000);

    /* one token a second: one more after a little over a second, then limited again */
    testenv_sleep_ms(1100);
    ck_assert_int_eq(saga_ratelimit_take(r, key, limit, &retry), SAGA_RATE_ALLOWED);
    ck_assert_int_eq(saga_ratelimit_take(r, key, limit, &retry), SAGA_RATE_LIMITED);
    ck_assert_int_eq(retry, 1);
    saga_redis_free(r);
}
END_TEST

START_TEST(test_retry_after_rounds_up)
{
    saga_redis *r = open_redis();
    char key[96];
    long retry = -1;

    /* 0.4 tokens a second: the next token is 2.5 s away, Retry-After says 3 */
    run_key(key, sizeof(key), "slow");
    saga_rate limit = {.rate = 0.4, .burst = 1};
    ck_assert_int_eq(saga_ratelimit_take(r, key, limit, &retry), SAGA_RATE_ALLOWED);
    ck_assert_int_eq(saga_ratelimit_take(r, key, limit, &retry), SAGA_RATE_LIMITED);
    ck_assert_int_eq(retry, 3);
    saga_redis_free(r);
}
END_TEST

START_TEST(test_keys_are_independent)
{
    saga_redis *r = open_redis();
    saga_rate limit = {.rate = 1, .burst = 1};
    char a[96], b[96];
    long retry;

    run_key(a, sizeof(a), "a");
    run_key(b, sizeof(b), "b");
    ck_assert_int_eq(saga_ratelimit_take(r, a, limit, &retry), SAGA_RATE_ALLOWED);
    ck_assert_int_eq(saga_ratelimit_take(r, a, limit, &retry), SAGA_RATE_LIMITED);
    ck_assert_int_eq(saga_ratelimit_take(r, b, limit, &retry), SAGA_RATE_ALLOWED);
    ck_assert_int_eq(saga_ratelimit_take(r, b, limit, &retry), SAGA_RATE_LIMITED);
    saga_redis_free(r);
}
END_TEST

START_TEST(test_rate_zero_is_off)
{
    saga_redis *r = open_redis();
    saga_rate off = {.rate = 0, .burst = 1};
    char key[96];
    long retry = -1;

    run_key(key, sizeof(key), "off");
    for (int i = 0; i < 50; i++) {
        ck_assert_int_eq(saga_ratelimit_take(r, key, off, &retry), SAGA_RATE_ALLOWED);
        ck_assert_int_eq(retry, 0);
    }
    /* Redis was never asked */
    const char *const keys[] = {key};
    ck_assert_int_eq(saga_redis_exists(r, keys, 1), 0);
    saga_redis_free(r);
}
END_TEST

START_TEST(test_flushed_script_is_reloaded)
{
    saga_redis *r = open_redis();
    saga_rate limit = {.rate = 1, .burst = 2};
    const char *flush[] = {"SCRIPT", "FLUSH"};
    saga_redis_reply reply;
    char key[96];
    long retry;

    run_key(key, sizeof(key), "flush");
    ck_assert_int_eq(saga_ratelimit_take(r, key, limit, &retry), SAGA_RATE_ALLOWED);
    ck_assert_int_eq(saga_redis_command(r, 2, flush, &reply), SAGA_OK);
    /* NOSCRIPT, loaded again, and the same bucket: one token left, then none */
    ck_assert_int_eq(saga_ratelimit_take(r, key, limit, &retry), SAGA_RATE_ALLOWED);
    ck_assert_int_eq(saga_ratelimit_take(r, key, limit, &retry), SAGA_RATE_LIMITED);
    saga_redis_free(r);
}
END_TEST

START_TEST(test_redis_down_bypasses)
{
    saga_config cfg;
    char err[512], key[96];
    long retry = -1;

    testenv_load();
    ck_assert_msg(saga_config_load(&cfg, "ratelimit", 0, err, sizeof(err)) == SAGA_OK, "%s", err);
    cfg.redis_port = closed_port();
    saga_redis *r = saga_redis_new(&cfg);
    ck_assert_ptr_nonnull(r);
    run_key(key, sizeof(key), "down");

    double before = counter_value("saga_ratelimit_bypassed_total");
    saga_rate limit = {.rate = 1, .burst = 1};
    /* the first call tries to connect, the next ones skip Redis for a second */
    for (int i = 0; i < 3; i++) {
        ck_assert_int_eq(saga_ratelimit_take(r, key, limit, &retry), SAGA_RATE_BYPASSED);
        ck_assert_int_eq(retry, 0);
    }
    ck_assert(counter_value("saga_ratelimit_bypassed_total") == before + 3);
    /* a limit that is off is not a bypass */
    saga_rate off = {.rate = 0, .burst = 1};
    ck_assert_int_eq(saga_ratelimit_take(r, key, off, &retry), SAGA_RATE_ALLOWED);
    ck_assert(counter_value("saga_ratelimit_bypassed_total") == before + 3);
    saga_redis_free(r);
}
END_TEST

START_TEST(test_command_replies)
{
    saga_redis *r = open_redis();
    saga_redis_reply reply;
    char key[96];

    run_key(key, sizeof(key), "cmd");
    const char *incr[] = {"INCRBY", key, "41"};
    ck_assert_int_eq(saga_redis_command(r, 3, incr, &reply), SAGA_OK);
    ck_assert_uint_eq(reply.nints, 1);
    ck_assert_int_eq(reply.ints[0], 41);

    const char *get[] = {"GET", key};
    ck_assert_int_eq(saga_redis_command(r, 2, get, &reply), SAGA_OK);
    ck_assert_str_eq(reply.str, "41");

    const char *eval[] = {"EVAL", "return {1, 'x', 3}", "0"};
    ck_assert_int_eq(saga_redis_command(r, 3, eval, &reply), SAGA_OK);
    ck_assert_uint_eq(reply.nints, 2);
    ck_assert_int_eq(reply.ints[0], 1);
    ck_assert_int_eq(reply.ints[1], 3);

    const char *hget[] = {"HGET", key, "f"};
    ck_assert_int_eq(saga_redis_command(r, 3, hget, &reply), SAGA_ERR_INVALID);
    ck_assert_msg(strncmp(reply.str, "WRONGTYPE", 9) == 0, "%s", reply.str);

    const char *del[] = {"DEL", key};
    ck_assert_int_eq(saga_redis_command(r, 2, del, &reply), SAGA_OK);
    ck_assert_int_eq(saga_redis_command(r, 2, get, &reply), SAGA_ERR_NOT_FOUND);
    saga_redis_free(r);

    /* unreachable: unavailable, and fast */
    saga_config cfg;
    char err[512];
    ck_assert(saga_config_load(&cfg, "ratelimit", 0, err, sizeof(err)) == SAGA_OK);
    cfg.redis_port = closed_port();
    r = saga_redis_new(&cfg);
    ck_assert_int_eq(saga_redis_command(r, 2, get, &reply), SAGA_ERR_UNAVAILABLE);
    saga_redis_free(r);
}
END_TEST

/* A connection Redis closed while it sat idle (as a Redis restart does) is replaced
 * at once: the next command is answered, not skipped for a second. */
START_TEST(test_closed_connection_replaced_at_once)
{
    saga_redis *r = open_redis(), *other = open_redis();
    saga_redis_reply reply;
    char key[96], id[32];

    run_key(key, sizeof(key), "closed");
    const char *client_id[] = {"CLIENT", "ID"};
    ck_assert_int_eq(saga_redis_command(r, 2, client_id, &reply), SAGA_OK);
    ck_assert_uint_eq(reply.nints, 1);
    snprintf(id, sizeof(id), "%lld", reply.ints[0]);
    const char *kill[] = {"CLIENT", "KILL", "ID", id};
    ck_assert_int_eq(saga_redis_command(other, 4, kill, &reply), SAGA_OK);
    ck_assert_int_eq(reply.ints[0], 1); /* one client closed */

    ck_assert_int_eq(saga_redis_set(r, key, "v", 60, false), SAGA_OK);
    ck_assert(saga_redis_up(r));
    char value[8];
    ck_assert_int_eq(saga_redis_get(other, key, value, sizeof(value)), SAGA_OK);
    ck_assert_str_eq(value, "v");
    ck_assert_int_eq(saga_redis_del(other, key), SAGA_OK);
    saga_redis_free(other);
    saga_redis_free(r);
}
END_TEST

/* The harness's Redis requires a password (SAGA_REDIS_PASSWORD). Without it or with a
 * wrong one, a handle is one on a Redis that is down: nothing is run (a sold-out hint
 * cannot be planted), the rate limit is bypassed and counted, and it says so; with the
 * right one it works. */
START_TEST(test_wrong_or_missing_password_is_redis_down)
{
    saga_config cfg;
    char err[512], key[96], bucket[96];
    long retry = -1;
    saga_rate limit = {.rate = 1, .burst = 1};

    testenv_load();
    ck_assert_msg(saga_config_load(&cfg, "ratelimit", 0, err, sizeof(err)) == SAGA_OK, "%s", err);
    ck_assert_msg(cfg.redis_password[0], "the harness's Redis has no password");
    run_key(key, sizeof(key), "planted");
    run_key(bucket, sizeof(bucket), "nopass");
    const char *const keys[] = {key};
    for (int wrong = 0; wrong < 2; wrong++) {
        saga_config bad = cfg;
        snprintf(bad.redis_password, sizeof(bad.redis_password), "%s",
                 wrong ? "not-the-password" : "");
        saga_redis *r = saga_redis_new(&bad);
        double unavailable = counter_value("saga_redis_unavailable_total");
        double bypassed = counter_value("saga_ratelimit_bypassed_total");

        ck_assert_int_eq(saga_redis_set(r, key, "1", 60, false), SAGA_ERR_UNAVAILABLE);
        ck_assert_msg(!saga_redis_up(r), "wrong=%d: a refused connection counts as up", wrong);
        ck_assert_int_eq(saga_redis_exists(r, keys, 1), -1);
        ck_assert_int_eq(saga_ratelimit_take(r, bucket, limit, &retry), SAGA_RATE_BYPASSED);
        ck_assert_int_eq(retry, 0);
        ck_assert(counter_value("saga_ratelimit_bypassed_total") == bypassed + 1);
        ck_assert(counter_value("saga_redis_unavailable_total") >= unavailable + 3);
        saga_redis_free(r);
    }
    saga_redis *good = saga_redis_new(&cfg);
    ck_assert_int_eq(saga_redis_exists(good, keys, 1), 0); /* nothing was planted */
    ck_assert(saga_redis_up(good));
    ck_assert_int_eq(saga_ratelimit_take(good, bucket, limit, &retry), SAGA_RATE_ALLOWED);
    saga_redis_free(good);
}
END_TEST

static Suite *ratelimit_suite(void)
{
    Suite *s = suite_create("ratelimit");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_burst_then_limited_then_refilled);
    tcase_add_test(tc, test_retry_after_rounds_up);
    tcase_add_test(tc, test_keys_are_independent);
    tcase_add_test(tc, test_rate_zero_is_off);
    tcase_add_test(tc, test_flushed_script_is_reloaded);
    suite_add_tcase(s, tc);
    TCase *limits = tcase_create("limits");
    tcase_add_test(limits, test_redis_down_bypasses);
    tcase_add_test(limits, test_command_replies);
    tcase_add_test(limits, test_closed_connection_replaced_at_once);
    tcase_add_test(limits, test_wrong_or_missing_password_is_redis_down);
    suite_add_tcase(s, limits);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(ratelimit_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
