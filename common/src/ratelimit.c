/* ratelimit.c - token buckets in Redis (see ratelimit.h). */
#include "saga/ratelimit.h"

#include <stdio.h>
#include <string.h>

#include "saga/err.h"
#include "saga/log.h"
#include "saga/metrics.h"

/* KEYS[1] the bucket, a hash {tokens, ts}; ARGV[1] tokens a second, ARGV[2] burst.
 * Returns {1, 0} when a token was taken, {0, ms until one is back} otherwise.
 *
 * TIME is Redis's clock, the same for every instance of a service. Since Redis 5
 * scripts are replicated by their effects (the only mode in Redis 7), so writing
 * after the non-deterministic TIME is allowed without redis.replicate_commands().
 * A missing hash is a full bucket, so the hash only has to outlive the time the
 * bucket takes to refill: after that it expires instead of piling up. */
static const char bucket_script[] =
    "local rate = tonumber(ARGV[1])\n"
    "local burst = tonumber(ARGV[2])\n"
    "local t = redis.call('TIME')\n"
    "local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000\n"
    "local b = redis.call('HMGET', KEYS[1], 'tokens', 'ts')\n"
    "local tokens = tonumber(b[1])\n"
    "local ts = tonumber(b[2])\n"
    "if tokens == nil or ts == nil then tokens = burst; ts = now end\n"
    /* a clock that stepped back refills nothing and keeps the later stamp */
    "if now > ts then tokens = tokens + (now - ts) * rate / 1000; ts = now end\n"
    "tokens = math.min(tokens, burst)\n"
    "local allowed, wait = 0, 0\n"
    "if tokens >= 1 then\n"
    "  tokens = tokens - 1; allowed = 1\n"
    "else\n"
    "  wait = math.max(1, math.ceil((1 - tokens) * 1000 / rate))\n"
    "end\n"
    "redis.call('HSET', KEYS[1], 'tokens', tokens, 'ts', ts)\n"
    /* at most a year, to keep the argument a plain integer */
    "redis.call('PEXPIRE', KEYS[1], math.min(math.ceil(burst * 1000 / rate) + 1000, 31536000000))\n"
    "return {allowed, wait}\n";

/* The script's SHA1 as Redis named it, per thread like the saga_redis handles. It
 * is the same on every server; one that does not know it (a new connection to a
 * restarted Redis, SCRIPT FLUSH) answers NOSCRIPT and gets it loaded again. */
static _Thread_local char script_sha[41];

static saga_metric *bypassed_metric(void)
{
    /* the registry returns the same pointer for the same name: a race is harmless */
    static saga_metric *_Atomic m;
    if (!m)
        m = saga_metrics_counter("saga_ratelimit_bypassed_total",
                                 "Requests let through unchecked because Redis was unavailable",
                                 "");
    return m;
}

static saga_metric *limited_metric(void)
{
    static saga_metric *_Atomic m;
    if (!m)
        m = saga_metrics_counter("saga_ratelimit_limited_total",
                                 "Requests refused because their rate limit bucket was empty", "");
    return m;
}

/* SCRIPT LOAD into script_sha. */
static int script_load(saga_redis *r)
{
    const char *argv[] = {"SCRIPT", "LOAD", bucket_script};
    saga_redis_reply reply;
    int rc = saga_redis_command(r, 3, argv, &reply);

    if (rc == SAGA_ERR_INVALID)
        LOG_WARN("ratelimit.script_load", "redis refused the rate limit script: %s", reply.str);
    if (rc != SAGA_OK)
        return rc;
    if (strlen(reply.str) != sizeof(script_sha) - 1) {
        LOG_WARN("ratelimit.script_load", "unexpected SCRIPT LOAD reply '%s'", reply.str);
        return SAGA_ERR_INTERNAL;
    }
    memcpy(script_sha, reply.str, sizeof(script_sha));
    return SAGA_OK;
}

/* EVALSHA of the bucket script, loading it first when needed. */
static int script_run(saga_redis *r, const char *key, saga_rate limit, saga_redis_reply *reply)
{
    char rate_s[32], burst_s[32];
    int rc;

    snprintf(rate_s, sizeof(rate_s), "%.17g", limit.rate);
    snprintf(burst_s, sizeof(burst_s), "%ld", limit.burst);
    if (!script_sha[0] && (rc = script_load(r)) != SAGA_OK)
        return rc;
    const char *argv[] = {"EVALSHA", script_sha, "1", key, rate_s, burst_s};
    rc = saga_redis_command(r, 6, argv, reply);
    if (rc == SAGA_ERR_INVALID && strncmp(reply->str, "NOSCRIPT", 8) == 0) {
        script_sha[0] = '\0';
        if ((rc = script_load(r)) != SAGA_OK)
            return rc;
        rc = saga_redis_command(r, 6, argv, reply);
    }
    if (rc == SAGA_ERR_INVALID)
        LOG_WARN("ratelimit.script", "rate limit script failed on %s: %s", key, reply->str);
    return rc;
}

saga_rate_verdict saga_ratelimit_take(saga_redis *r, const char *key, saga_rate limit,
                                      long *retry_after_s)
{
    saga_redis_reply reply;

    if (retry_after_s)
        *retry_after_s = 0;
    /* the negated test also turns a NaN rate off */
    if (!(limit.rate > 0))
        return SAGA_RATE_ALLOWED;
    if (limit.burst < 1)
        limit.burst = 1;
    if (script_run(r, key, limit, &reply) != SAGA_OK || reply.nints != 2) {
        saga_metric_add(bypassed_metric(), 1);
        return SAGA_RATE_BYPASSED;
    }
    if (reply.ints[0] == 1)
        return SAGA_RATE_ALLOWED;
    saga_metric_add(limited_metric(), 1);
    if (retry_after_s) {
        long long wait_ms = reply.ints[1] > 0 ? reply.ints[1] : 1;
        *retry_after_s = (long)((wait_ms + 999) / 1000);
    }
    return SAGA_RATE_LIMITED;
}
