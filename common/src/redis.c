/* redis.c - the optional Redis connection (see redis.h). */
#include "saga/redis.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <hiredis/hiredis.h>

#include "saga/err.h"
#include "saga/log.h"
#include "saga/metrics.h"

#define REDIS_RETRY_AFTER_S 1

struct saga_redis {
    char host[128];
    int port;
    char password[128]; /* SAGA_REDIS_PASSWORD: AUTH on every new connection; "" none */
    int timeout_ms; /* SAGA_REDIS_TIMEOUT_MS */
    redisContext *ctx;
    time_t down_since; /* 0 while up or never tried */
    bool up;
};

static saga_metric *unavailable_metric(void)
{
    /* the registry returns the same pointer for the same name: a race here is
     * harmless */
    static saga_metric *_Atomic m;
    if (!m)
        m = saga_metrics_counter("saga_redis_unavailable_total",
                                 "Redis calls skipped or failed because Redis was down", "");
    return m;
}

saga_redis *saga_redis_new(const saga_config *cfg)
{
    saga_redis *r = calloc(1, sizeof(*r));
    if (!r)
        return NULL;
    snprintf(r->host, sizeof(r->host), "%s", cfg->redis_host);
    r->port = cfg->redis_port;
    snprintf(r->password, sizeof(r->password), "%s", cfg->redis_password);
    r->timeout_ms = cfg->redis_timeout_ms > 0 ? cfg->redis_timeout_ms : 250;
    return r;
}

void saga_redis_free(saga_redis *r)
{
    if (!r)
        return;
    if (r->ctx)
        redisFree(r->ctx);
    free(r);
}

static pthread_key_t thread_key;
static pthread_once_t thread_key_once = PTHREAD_ONCE_INIT;

static void thread_free(void *r)
{
    saga_redis_free(r);
}

static void thread_key_init(void)
{
    pthread_key_create(&thread_key, thread_free);
}

saga_redis *saga_redis_thread(const saga_config *cfg)
{
    pthread_once(&thread_key_once, thread_key_init);
    saga_redis *r = pthread_getspecific(thread_key);
    if (!r && (r = saga_redis_new(cfg)))
        pthread_setspecific(thread_key, r);
    return r;
}

bool saga_redis_up(const saga_redis *r)
{
    return r && r->up;
}

/* Marks Redis down (retried a second later) and logs it once per outage. auth: Redis
 * refused the credentials, which only the configuration can fix. */
static void mark_down_as(saga_redis *r, const char *why, bool auth)
{
    if ((r->up || r->down_since == 0) && auth)
        LOG_ERROR("redis.auth_failed",
                  "redis at %s:%d refused authentication (%s): check SAGA_REDIS_PASSWORD; "
                  "going on without redis",
                  r->host, r->port, why);
    else if (r->up || r->down_since == 0)
        LOG_WARN("redis.down", "redis at %s:%d unavailable: %s; going on without it", r->host,
                 r->port, why);
    r->up = false;
    r->down_since = time(NULL);
    if (r->ctx) {
        redisFree(r->ctx);
        r->ctx = NULL;
    }
}

static void mark_down(saga_redis *r, const char *why)
{
    mark_down_as(r, why, false);
}

/* Whether an error reply says the connection lacks (valid) credentials: NOAUTH for a
 * connection that never authenticated, WRONGPASS (Redis 6+) or "invalid password"
 * (Redis 5) for a refused AUTH. */
static bool reply_is_auth_error(const redisReply *reply)
{
    return reply->type == REDIS_REPLY_ERROR && reply->str &&
           (!strncmp(reply->str, "NOAUTH", 6) || !strncmp(reply->str, "WRONGPASS", 9) ||
            strstr(reply->str, "invalid password") ||
            strstr(reply->str, "without any password configured"));
}

/* Proves a new connection usable: AUTH when a password is configured, else PING, so
 * that a Redis wanting a password we lack is found here, once, not by every command.
 * Returns false (Redis marked down, the reason logged) if Redis refused it or did not
 * answer. */
static bool authenticate(saga_redis *r)
{
    const char *argv[] = {"AUTH", r->password};
    const char *ping[] = {"PING"};
    redisReply *reply;
    char why[160];

    reply = r->password[0] ? redisCommandArgv(r->ctx, 2, argv, NULL)
                           : redisCommandArgv(r->ctx, 1, ping, NULL);
    if (!reply) {
        mark_down(r, r->ctx->errstr);
        return false;
    }
    if (reply->type == REDIS_REPLY_ERROR) {
        snprintf(why, sizeof(why), "%.*s", (int)reply->len, reply->str ? reply->str : "");
        /* any error to AUTH is a credentials problem; to PING, only those that say so */
        bool auth = r->password[0] || reply_is_auth_error(reply);
        freeReplyObject(reply);
        mark_down_as(r, why, auth);
        return false;
    }
    freeReplyObject(reply);
    return true;
}

/* A connected context, or NULL while Redis is down (retried once a second). */
static redisContext *ensure(saga_redis *r)
{
    struct timeval tv = {.tv_sec = r->timeout_ms / 1000, .tv_usec = (r->timeout_ms % 1000) * 1000};

    if (r->ctx)
        return r->ctx;
    if (r->down_since && time(NULL) - r->down_since < REDIS_RETRY_AFTER_S)
        return NULL;
    r->ctx = redisConnectWithTimeout(r->host, r->port, tv);
    if (!r->ctx || r->ctx->err) {
        mark_down(r, r->ctx ? r->ctx->errstr : "out of memory");
        return NULL;
    }
    redisSetTimeout(r->ctx, tv);
    if (!authenticate(r))
        return NULL;
    if (!r->up && r->down_since)
        LOG_INFO("redis.up", "redis at %s:%d is back", r->host, r->port);
    r->up = true;
    r->down_since = 0;
    return r->ctx;
}

/* Whether a failed command found its connection closed by the server (Redis
 * restarted, or dropped the client) rather than a server too slow to answer: the
 * command was not run, and a new connection may well work. */
static bool connection_was_closed(const redisContext *ctx)
{
    return ctx->err == REDIS_ERR_EOF ||
           (ctx->err == REDIS_ERR_IO && (errno == ECONNRESET || errno == EPIPE));
}

/* Runs a command; NULL (and Redis marked down) if Redis is unreachable. A
 * connection the server closed while it sat idle is replaced once at once, so that
 * a Redis restart does not cost every thread a second without Redis; a timeout is
 * not retried (the command may have run). An error reply is returned as it is.
 * Free the reply. */
static redisReply *command_raw(saga_redis *r, int argc, const char **argv, const size_t *lens)
{
    for (int attempt = 0; attempt < 2; attempt++) {
        redisContext *ctx = r ? ensure(r) : NULL;
        if (!ctx)
            break;
        redisReply *reply = redisCommandArgv(ctx, argc, argv, lens);
        if (reply && reply_is_auth_error(reply)) {
            /* no SAGA_REDIS_PASSWORD for a Redis that wants one: as if it were down */
            char why[160];
            snprintf(why, sizeof(why), "%.*s", (int)reply->len, reply->str);
            freeReplyObject(reply);
            mark_down_as(r, why, true);
            break;
        }
        if (reply)
            return reply;
        if (attempt > 0 || !connection_was_closed(ctx)) {
            mark_down(r, ctx->errstr);
            break;
        }
        redisFree(r->ctx); /* not marked down: the next pass connects anew */
        r->ctx = NULL;
    }
    saga_metric_add(unavailable_metric(), 1);
    return NULL;
}

/* As command_raw, but an error reply is logged and turned into NULL too. */
static redisReply *command(saga_redis *r, int argc, const char **argv, const size_t *lens)
{
    redisReply *reply = command_raw(r, argc, argv, lens);

    if (reply && reply->type == REDIS_REPLY_ERROR) {
        LOG_WARN("redis.error", "%s: %s", argv[0], reply->str);
        freeReplyObject(reply);
        return NULL;
    }
    return reply;
}

int saga_redis_command(saga_redis *r, int argc, const char *const *argv, saga_redis_reply *out)
{
    /* hiredis takes const char ** (the array itself not const); it only reads it */
    redisReply *reply = command_raw(r, argc, (const char **)argv, NULL);
    int rc = SAGA_OK;

    memset(out, 0, sizeof(*out));
    if (!reply)
        return SAGA_ERR_UNAVAILABLE;
    switch (reply->type) {
    case REDIS_REPLY_INTEGER:
        out->ints[out->nints++] = reply->integer;
        break;
    case REDIS_REPLY_ARRAY:
        for (size_t i = 0; i < reply->elements; i++) {
            const redisReply *el = reply->element[i];
            if (el->type == REDIS_REPLY_INTEGER &&
                out->nints < sizeof(out->ints) / sizeof(out->ints[0]))
                out->ints[out->nints++] = el->integer;
        }
        break;
    case REDIS_REPLY_STRING:
    case REDIS_REPLY_STATUS:
        snprintf(out->str, sizeof(out->str), "%.*s", (int)reply->len, reply->str);
        break;
    case REDIS_REPLY_ERROR:
        snprintf(out->str, sizeof(out->str), "%.*s", (int)reply->len, reply->str);
        rc = SAGA_ERR_INVALID;
        break;
    case REDIS_REPLY_NIL:
    default:
        rc = SAGA_ERR_NOT_FOUND;
        break;
    }
    freeReplyObject(reply);
    return rc;
}

int saga_redis_get(saga_redis *r, const char *key, char *out, size_t outlen)
{
    const char *argv[] = {"GET", key};
    redisReply *reply = command(r, 2, argv, NULL);
    int rc;

    if (!reply)
        return SAGA_ERR_UNAVAILABLE;
    if (reply->type == REDIS_REPLY_STRING) {
        snprintf(out, outlen, "%.*s", (int)reply->len, reply->str);
        rc = SAGA_OK;
    } else {
        rc = SAGA_ERR_NOT_FOUND;
    }
    freeReplyObject(reply);
    return rc;
}

int saga_redis_set(saga_redis *r, const char *key, const char *value, int ttl_s, bool nx)
{
    char ttl[16];
    snprintf(ttl, sizeof(ttl), "%d", ttl_s);
    const char *argv[] = {"SET", key, value, "EX", ttl, "NX"};
    redisReply *reply = command(r, nx ? 6 : 5, argv, NULL);
    int rc;

    if (!reply)
        return SAGA_ERR_UNAVAILABLE;
    rc = reply->type == REDIS_REPLY_NIL ? SAGA_ERR_CONFLICT : SAGA_OK;
    freeReplyObject(reply);
    return rc;
}

int saga_redis_del(saga_redis *r, const char *key)
{
    const char *argv[] = {"DEL", key};
    redisReply *reply = command(r, 2, argv, NULL);
    if (!reply)
        return SAGA_ERR_UNAVAILABLE;
    freeReplyObject(reply);
    return SAGA_OK;
}

long saga_redis_exists(saga_redis *r, const char *const *keys, size_t nkeys)
{
    const char *argv[65];
    redisReply *reply;
    long n;

    if (nkeys == 0)
        return 0;
    if (nkeys > 64)
        nkeys = 64;
    argv[0] = "EXISTS";
    memcpy(argv + 1, keys, nkeys * sizeof(*keys));
    reply = command(r, (int)nkeys + 1, argv, NULL);
    if (!reply)
        return -1;
    n = reply->type == REDIS_REPLY_INTEGER ? (long)reply->integer : -1;
    freeReplyObject(reply);
    return n;
}
