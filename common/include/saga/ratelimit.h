/* ratelimit.h - token buckets in Redis, shared by every instance of a service.
 *
 * One bucket per key ("rl:orders:customer:<id>", "rl:orders:addr:<ip>"), refilled
 * at `rate` tokens a second up to `burst`, taken atomically by one Lua script
 * (EVALSHA, loaded on first use and after NOSCRIPT). The script uses Redis's own
 * clock (TIME), so instances with skewed clocks share one bucket correctly.
 *
 * Redis is never a reason to refuse: with Redis down or slow the request is
 * allowed and saga_ratelimit_bypassed_total counts it. */
#ifndef SAGA_RATELIMIT_H
#define SAGA_RATELIMIT_H

#include <stdbool.h>

#include "saga/redis.h"

typedef struct saga_rate {
    double rate; /* tokens a second; 0 turns the limit off */
    long burst;  /* bucket size (>= 1) */
} saga_rate;

typedef enum saga_rate_verdict {
    SAGA_RATE_ALLOWED = 0,
    SAGA_RATE_LIMITED,  /* bucket empty: *retry_after_s says when one token is back */
    SAGA_RATE_BYPASSED, /* Redis unavailable: allowed, counted in the metric */
} saga_rate_verdict;

/* Takes one token from the bucket `key` (a key prefix "rl:" is the caller's).
 * On SAGA_RATE_LIMITED, *retry_after_s is a whole number of seconds >= 1, for
 * the Retry-After header. */
saga_rate_verdict saga_ratelimit_take(saga_redis *r, const char *key, saga_rate limit,
                                      long *retry_after_s);

#endif
