/* db_text.c - text in and out of SQL: row columns into buffers, ids to and from
 * their 16 bytes, DATETIME to and from RFC 3339, repeated lists in a statement (see
 * db.h). */
#include "saga/db.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "saga/err.h"

int saga_row_copy(const saga_row *row, size_t col, char *out, size_t outlen)
{
    const char *s = saga_row_str(row, col);
    int n = snprintf(out, outlen, "%s", s ? s : "");
    return n >= 0 && (size_t)n < outlen ? SAGA_OK : SAGA_ERR_TOO_LARGE;
}

saga_param saga_param_uuid(const char *text)
{
    saga_param p = {.type = text ? SAGA_PARAM_UUID : SAGA_PARAM_NULL,
                    .ptr = text,
                    .len = text ? strlen(text) : 0};
    p.i64 = text && saga_text_uuid_to_bytes(text, p.uuid);
    return p;
}

bool saga_row_uuid(const saga_row *row, size_t col, char out[SAGA_TEXT_UUID_LEN + 1])
{
    const char *bytes = saga_row_str(row, col);
    if (!bytes || saga_row_len(row, col) != 16) {
        out[0] = '\0';
        return false;
    }
    saga_text_uuid_from_bytes((const unsigned char *)bytes, out);
    return true;
}

static bool digits(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return false;
    return true;
}

int saga_db_time_to_rfc3339(const char *dt, char out[SAGA_DB_RFC3339_LEN + 1])
{
    size_t n = dt ? strlen(dt) : 0;
    char ms[4] = "000";

    /* "YYYY-MM-DD HH:MM:SS" (or with a T, as DATE_FORMAT may write it) */
    if (n < 19 || !digits(dt, 4) || dt[4] != '-' || !digits(dt + 5, 2) || dt[7] != '-' ||
        !digits(dt + 8, 2) || (dt[10] != ' ' && dt[10] != 'T') || !digits(dt + 11, 2) ||
        dt[13] != ':' || !digits(dt + 14, 2) || dt[16] != ':' || !digits(dt + 17, 2))
        return SAGA_ERR_INVALID;
    if (n > 19) {
        size_t frac = n - 20;
        if (dt[19] != '.' || frac < 1 || frac > 6 || !digits(dt + 20, frac))
            return SAGA_ERR_INVALID;
        for (size_t i = 0; i < 3 && i < frac; i++)
            ms[i] = dt[20 + i];
    }
    memcpy(out, dt, 10);
    out[10] = 'T';
    memcpy(out + 11, dt + 11, 8);
    out[19] = '.';
    memcpy(out + 20, ms, 3);
    out[23] = 'Z';
    out[24] = '\0';
    return SAGA_OK;
}

void saga_db_time_from_ms(long long epoch_ms, char out[SAGA_DB_TIME_LEN + 1])
{
    time_t secs = (time_t)(epoch_ms / 1000);
    int ms = (int)(epoch_ms % 1000);
    struct tm tm;

    if (ms < 0) {
        ms += 1000;
        secs -= 1;
    }
    if (!gmtime_r(&secs, &tm))
        memset(&tm, 0, sizeof(tm));
    snprintf(out, SAGA_DB_TIME_LEN + 1, "%04u-%02u-%02u %02u:%02u:%02u.%03u",
             (unsigned)(tm.tm_year + 1900) % 10000u, (unsigned)(tm.tm_mon + 1) % 100u,
             (unsigned)tm.tm_mday % 100u, (unsigned)tm.tm_hour % 100u, (unsigned)tm.tm_min % 100u,
             (unsigned)tm.tm_sec % 100u, (unsigned)ms % 1000u);
}

size_t saga_db_sql_list(char *sql, size_t sqllen, const char *head, const char *item, size_t n,
                        const char *tail)
{
    size_t len;
    int w = snprintf(sql, sqllen, "%s", head);

    if (w < 0 || (size_t)w >= sqllen)
        return 0;
    len = (size_t)w;
    for (size_t i = 0; i < n; i++) {
        w = snprintf(sql + len, sqllen - len, "%s%s", i ? "," : "", item);
        if (w < 0 || (size_t)w >= sqllen - len)
            return 0;
        len += (size_t)w;
    }
    w = snprintf(sql + len, sqllen - len, "%s", tail);
    if (w < 0 || (size_t)w >= sqllen - len)
        return 0;
    return len + (size_t)w;
}
