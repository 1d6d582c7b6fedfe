/* redis.h - the optional Redis connection: fast paths and hints only.
 *
 * Redis is never the authority (MySQL is). Every call here fails fast when Redis
 * is down (connect and command timeouts of SAGA_REDIS_TIMEOUT_MS) and the caller
 * goes on without it; after a failure the connection is retried at most once a
 * second, so a dead Redis costs nothing on the hot path. One saga_redis per
 * thread. */
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

/* True if Redis answered the last call (for /metrics and logs). */
bool saga_redis_up(const saga_redis *r);

#endif
