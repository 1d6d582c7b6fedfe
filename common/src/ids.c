/* ids.c - event ids (random UUIDs) and RFC 3339 times. */
#include "saga/envelope.h"

#include <stdio.h>
#include <stdint.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

void saga_uuid_v4(char out[SAGA_UUID_LEN + 1])
{
    uint8_t b[16];
    size_t got = 0;

    while (got < sizeof(b)) {
        ssize_t n = getrandom(b + got, sizeof(b) - got, 0);
        if (n > 0)
            got += (size_t)n;
    }
    b[6] = (uint8_t)((b[6] & 0x0f) | 0x40); /* version 4 */
    b[8] = (uint8_t)((b[8] & 0x3f) | 0x80); /* variant 10 */
    snprintf(out, SAGA_UUID_LEN + 1,
             "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1],
             b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14],
             b[15]);
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
