/* backoff.h - exponential backoff with jitter for retries. */
#ifndef SAGA_BACKOFF_H
#define SAGA_BACKOFF_H

#include <stdint.h>

/* The wait before retry number `attempt` (0 for the first retry): with
 * ceiling = min(cap_ms, base_ms * 2^attempt), a value drawn uniformly from
 * [ceiling/2, ceiling] ("equal jitter": it grows, and retries of many clients
 * spread out). `seed` is the caller's rand_r state. base_ms >= 1. */
long saga_backoff_ms(unsigned attempt, long base_ms, long cap_ms, unsigned *seed);

#endif
