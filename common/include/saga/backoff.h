/* backoff.h - exponential backoff with jitter for retries. */
#ifndef SAGA_BACKOFF_H
#define SAGA_BACKOFF_H

#include <stdint.h>

/* The wait before retry number `attempt` (0 for the first retry): with
 * ceiling = min(cap_ms, base_ms * 2^attempt), a value drawn uniformly from
 * [ceiling/2, ceiling] ("equal jitter": it grows, and retries of many clients
 * spread out). `seed` is the caller's rand_r state. base_ms >= 1. */
long saga_backoff_ms(unsigned attempt, long base_ms, long cap_ms, unsigned *seed);

/* A rand_r seed for saga_backoff_ms that differs between processes and between the
 * objects (or threads) of one process: the time, the pid and salt's address, so
 * that two retriers that collided do not draw the same pauses again. */
unsigned saga_backoff_seed(const void *salt);

/* One attempt of saga_backoff_retry: attempt counts from 0; SAGA_ERR_TRANSIENT asks
 * for another. */
typedef int (*saga_retry_fn)(int attempt, void *ud);

/* Runs fn until it returns anything but SAGA_ERR_TRANSIENT, up to `attempts` times in
 * all, pausing before each retry as saga_db_transaction does (5-10, 10-20, 20-40 ms
 * ... up to 200 ms, drawn per thread). Returns fn's last result. The one way the
 * services retry work that is not a plain transaction (which saga_db_transaction
 * retries itself). */
int saga_backoff_retry(int attempts, saga_retry_fn fn, void *ud);

#endif
