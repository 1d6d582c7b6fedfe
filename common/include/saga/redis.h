/* redis.h - the optional Redis connection: fast paths and hints only.
 *
 * Redis is never the authority (MySQL is). Every call here fails fast when Redis
 * is down (connect and command timeouts of SAGA_REDIS_TIMEOUT_MS, default 250 ms)
 * and the caller goes on without it; after a failure the connection is retried at
 * most once a second, so a dead Redis costs nothing on the hot path. The timeout
 * is what separates "busy" from "down": a reply that takes longer turns the
 * handle's Redis off for up to a second (no sold-out hint, no idempotency fast
 * path, no rate limit on that thread), so it must outlast the stalls of a loaded
 * machine (50 ms did not: replies took 57 ms with the CPU saturated). Every new
 * connection authenticates first (AUTH SAGA_REDIS_PASSWORD, or a PING without
 * one); a Redis that refuses the credentials, or wants a password none was
 * configured for, is logged (redis.auth_failed) and treated exactly like a Redis
 * that is down. One saga_redis per thread. */
#ifndef SAGA_REDIS_H
#define SAGA_REDIS_H

#include <stdbool.h>
#include <stddef.h>

#include "saga/config.h"

typedef struct saga_redis saga_redis;

/* Creates the handle; connects lazily. Never NULL except on no memory. */
saga_redis *saga_redis_new(const saga_config *cfg);
void saga_redis_free(saga_redis *r); /* NULL is fine */

/* The calling thread's own handle (created on first use, freed at thread exit). */
saga_redis *saga_redis_thread(const saga_config *cfg);

/* GET key: SAGA_OK and the value copied into out (NUL-terminated, truncated to
 * outlen); SAGA_ERR_NOT_FOUND if absent; SAGA_ERR_UNAVAILABLE if Redis is down. */
int saga_redis_get(saga_redis *r, const char *key, char *out, size_t outlen);

/* SET key value [NX] EX ttl_s. With nx, SAGA_ERR_CONFLICT if the key exists.
 * SAGA_ERR_UNAVAILABLE if Redis is down. */
int saga_redis_set(saga_redis *r, const char *key, const char *value, int ttl_s, bool nx);

/* DEL key. SAGA_OK (whether or not it existed) or SAGA_ERR_UNAVAILABLE. */
int saga_redis_del(saga_redis *r, const char *key);

/* How many of the keys exist (EXISTS k1 k2 ...), or -1 if Redis is down. */
long saga_redis_exists(saga_redis *r, const char *const *keys, size_t nkeys);

/* A reply of saga_redis_command, copied out of hiredis so nothing is left to free. */
typedef struct saga_redis_reply {
    long long ints[8]; /* an integer reply, or an array reply's integer elements in order
                        * (its other elements skipped) */
    size_t nints;      /* how many went to ints (at most 8; the rest are dropped) */
    char str[128];     /* a status or string reply, or Redis's error text; truncated */
} saga_redis_reply;

/* Runs any command given as argc NUL-terminated strings (EVALSHA, SCRIPT LOAD,
 * PTTL, ...). SAGA_OK with the reply in *out (zeroed first); SAGA_ERR_NOT_FOUND for
 * a nil reply; SAGA_ERR_INVALID if Redis answered with an error (out->str says
 * which, e.g. "NOSCRIPT ...": not logged, the caller decides); SAGA_ERR_UNAVAILABLE
 * if Redis is down. */
int saga_redis_command(saga_redis *r, int argc, const char *const *argv, saga_redis_reply *out);

/* True if Redis answered the last call (for /metrics and logs). */
bool saga_redis_up(const saga_redis *r);

#endif
