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

#endif
