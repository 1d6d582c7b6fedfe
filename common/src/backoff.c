/* backoff.c - exponential backoff with equal jitter. */
#include "saga/backoff.h"

#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "saga/err.h"

long saga_backoff_ms(unsigned attempt, long base_ms, long cap_ms, unsigned *seed)
{
    long ceiling = base_ms < 1 ? 1 : base_ms;

    if (cap_ms < ceiling)
        cap_ms = ceiling;
    /* double until the cap; stop early so the shift never overflows */
    for (unsigned i = 0; i < attempt && ceiling < cap_ms; i++)
        ceiling *= 2;
    if (ceiling > cap_ms)
        ceiling = cap_ms;

    long half = ceiling / 2;
    return half + (long)(rand_r(seed) % (unsigned long)(ceiling - half + 1));
}

unsigned saga_backoff_seed(const void *salt)
{
    return (unsigned)time(NULL) ^ ((unsigned)getpid() << 16) ^ (unsigned)(uintptr_t)salt;
}

int saga_backoff_retry(int attempts, saga_retry_fn fn, void *ud)
{
    /* per thread: two requests that collided draw different pauses */
    static _Thread_local unsigned seed;
    int rc = SAGA_ERR_TRANSIENT;

    if (!seed)
        seed = saga_backoff_seed(&seed);
    for (int attempt = 0; attempt < attempts && rc == SAGA_ERR_TRANSIENT; attempt++) {
        if (attempt > 0)
            usleep((useconds_t)saga_backoff_ms((unsigned)attempt - 1, 10, 200, &seed) * 1000);
        rc = fn(attempt, ud);
    }
    return rc;
}
