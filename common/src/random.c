/* random.c - getrandom until the buffer is full, or a clean error. */
#include "saga/random.h"

#include <errno.h>
#include <stdint.h>
#include <sys/random.h>

#include "saga/err.h"

int saga_random_fill(void *buf, size_t len)
{
    uint8_t *b = buf;
    size_t got = 0;

    while (got < len) {
        ssize_t n = getrandom(b + got, len - got, 0);
        if (n > 0)
            got += (size_t)n;
        else if (n < 0 && errno != EINTR)
            return SAGA_ERR_INTERNAL;
    }
    return SAGA_OK;
}
