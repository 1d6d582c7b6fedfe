/* ids.c - identifiers (time-ordered UUIDv7, random UUIDv4) and RFC 3339 times. */
#include "saga/envelope.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <stdio.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "saga/err.h"
#include "saga/log.h"
#include "saga/random.h"
#include "saga/text.h"

/* The last (unix_ts_ms << 12 | counter) handed out by saga_uuid_v7, process-wide. */
static _Atomic uint64_t uuid_v7_last;

/* Random bytes for an id. An id cannot be made without them, and getrandom fails
 * only when the kernel has no random source (ENOSYS) or the buffer is bad: the
 * process stops with the reason rather than hand out a predictable id or spin. */
static void uuid_random(uint8_t *b, size_t len)
{
    if (saga_random_fill(b, len) != SAGA_OK) {
        LOG_ERROR("ids.random_failed", "cannot read random bytes for an id: %s", strerror(errno));
        abort();
    }
}

void saga_uuid_v4(char out[SAGA_UUID_LEN + 1])
{
    uint8_t b[16];

    uuid_random(b, sizeof(b));
    b[6] = (uint8_t)((b[6] & 0x0f) | 0x40); /* version 4 */
    b[8] = (uint8_t)((b[8] & 0x3f) | 0x80); /* variant 10 */
    saga_text_uuid_from_bytes(b, out);
}

uint64_t saga_uuid_v7_next(uint64_t last, uint64_t now_ms, uint16_t seed)
{
    uint64_t fresh = (now_ms & 0xffffffffffffULL) << 12 | (uint64_t)(seed & 0x7ff);

    /* a new millisecond starts its counter at a random value below 2048, leaving at
     * least 2048 increments before it spills into the next millisecond */
    return fresh > last ? fresh : last + 1;
}

void saga_uuid_v7(char out[SAGA_UUID_LEN + 1])
{
    uint8_t b[16];
    struct timespec ts;
    uint64_t now_ms, last, next;
    uint16_t seed;

    uuid_random(b, sizeof(b));
    seed = (uint16_t)(b[6] << 8 | b[7]);
    clock_gettime(CLOCK_REALTIME, &ts);
    now_ms = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
    last = atomic_load_explicit(&uuid_v7_last, memory_order_relaxed);
    do {
        next = saga_uuid_v7_next(last, now_ms, seed);
    } while (!atomic_compare_exchange_weak_explicit(&uuid_v7_last, &last, next,
                                                    memory_order_relaxed, memory_order_relaxed));
    /* 48-bit unix_ts_ms | ver 7 | 12-bit rand_a (the counter) | var 10 | 62-bit rand_b */
    for (int i = 0; i < 6; i++)
        b[i] = (uint8_t)(next >> (12 + 8 * (5 - i)));
    b[6] = (uint8_t)(0x70 | ((next >> 8) & 0x0f));
    b[7] = (uint8_t)(next & 0xff);
    b[8] = (uint8_t)((b[8] & 0x3f) | 0x80);
    saga_text_uuid_from_bytes(b, out);
}

void saga_time_format_ms(long long epoch_ms, char out[SAGA_TIME_LEN + 1])
{
    time_t secs = (time_t)(epoch_ms / 1000);
    struct tm tm;

    char buf[64]; /* roomy enough for any int the compiler can imagine */

    gmtime_r(&secs, &tm);
    snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
             (int)(epoch_ms % 1000));
    memcpy(out, buf, SAGA_TIME_LEN);
    out[SAGA_TIME_LEN] = '\0';
}

void saga_time_now(char out[SAGA_TIME_LEN + 1])
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    saga_time_format_ms((long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000, out);
}
