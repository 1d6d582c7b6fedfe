/* log.c - JSON-lines logging on stdout.
 *
 * A line is built with cJSON (so escaping is right), then written with one
 * fwrite under a mutex: librdkafka and libmicrohttpd call us from their threads. */
#include "saga/log.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>
#include <cjson/cJSON.h>

#include "saga/envelope.h"

saga_log_level saga_log_min_level = SAGA_LOG_INFO;
static char log_service[32] = "saga";
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;

static const char *const level_names[] = {"debug", "info", "warn", "error"};

/* the calling thread's trace context ("" when none) */
static _Thread_local char trace_id[33], span_id[17];

/* True if s starts with n lower-case hex digits. */
static bool is_hex(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return false;
    return true;
}

/* True if s starts with n '0' characters. */
static bool is_zero(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] != '0')
            return false;
    return true;
}

bool saga_log_trace_set(const char *tp)
{
    size_t len = tp ? strlen(tp) : 0;
    /* version-traceid-parentid-flags; version 00 is exactly 55 characters, a later
     * version may append fields after a '-'; version ff is invalid */
    bool ok = len >= 55 && is_hex(tp, 2) && strncmp(tp, "ff", 2) != 0 && tp[2] == '-' &&
              is_hex(tp + 3, 32) && !is_zero(tp + 3, 32) && tp[35] == '-' && is_hex(tp + 36, 16) &&
              !is_zero(tp + 36, 16) && tp[52] == '-' && is_hex(tp + 53, 2) &&
              (len == 55 || (strncmp(tp, "00", 2) != 0 && tp[55] == '-'));
    if (!ok) {
        saga_log_trace_clear();
        return false;
    }
    memcpy(trace_id, tp + 3, 32);
    trace_id[32] = '\0';
    memcpy(span_id, tp + 36, 16);
    span_id[16] = '\0';
    return true;
}

void saga_log_trace_clear(void)
{
    trace_id[0] = '\0';
    span_id[0] = '\0';
}

void saga_log_init(const char *service, saga_log_level min_level)
{
    snprintf(log_service, sizeof(log_service), "%s", service);
    saga_log_min_level = min_level;
}

int saga_log_level_parse(const char *s, saga_log_level *out)
{
    for (int i = 0; i <= SAGA_LOG_ERROR; i++) {
        if (strcasecmp(s, level_names[i]) == 0) {
            *out = (saga_log_level)i;
            return 0;
        }
    }
    if (strcasecmp(s, "warning") == 0) {
        *out = SAGA_LOG_WARN;
        return 0;
    }
    return -1;
}

void saga_log_vwrite(saga_log_level level, const char *event, const saga_log_ids *ids,
                     const char *fmt, va_list ap)
{
    char msg[2048];
    char ts[SAGA_TIME_LEN + 1];
    cJSON *line = NULL;
    char *text = NULL;

    if (level < saga_log_min_level)
        return;
    vsnprintf(msg, sizeof(msg), fmt, ap);
    saga_time_now(ts);

    line = cJSON_CreateObject();
    if (!line)
        goto out;
    cJSON_AddStringToObject(line, "ts", ts);
    cJSON_AddStringToObject(line, "level", level_names[level]);
    cJSON_AddStringToObject(line, "svc", log_service);
    cJSON_AddStringToObject(line, "event", event ? event : "log");
    cJSON_AddStringToObject(line, "msg", msg);
    if (ids) {
        if (ids->order_id)
            cJSON_AddStringToObject(line, "order_id", ids->order_id);
        if (ids->event_id)
            cJSON_AddStringToObject(line, "event_id", ids->event_id);
        if (ids->correlation_id)
            cJSON_AddStringToObject(line, "correlation_id", ids->correlation_id);
    }
    if (trace_id[0]) {
        cJSON_AddStringToObject(line, "trace_id", trace_id);
        cJSON_AddStringToObject(line, "span_id", span_id);
    }
    text = cJSON_PrintUnformatted(line);
    if (!text)
        goto out;

    pthread_mutex_lock(&log_lock);
    fputs(text, stdout);
    fputc('\n', stdout);
    fflush(stdout);
    pthread_mutex_unlock(&log_lock);
out:
    cJSON_free(text);
    cJSON_Delete(line);
}

void saga_log_write(saga_log_level level, const char *event, const saga_log_ids *ids,
                    const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    saga_log_vwrite(level, event, ids, fmt, ap);
    va_end(ap);
}

void saga_log_rdkafka(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
    saga_log_level l = level <= LOG_ERR       ? SAGA_LOG_ERROR
                       : level <= LOG_WARNING ? SAGA_LOG_WARN
                       : level <= LOG_INFO    ? SAGA_LOG_INFO
                                              : SAGA_LOG_DEBUG;
    saga_log(l, "kafka.client", "%s: %s: %s", rk ? rd_kafka_name(rk) : "rdkafka", fac, buf);
}

void saga_log_mhd(void *cls, const char *fmt, va_list ap)
{
    char msg[1024];
    (void)cls;
    vsnprintf(msg, sizeof(msg), fmt, ap);
    /* libmicrohttpd ends its messages with a newline */
    size_t n = strlen(msg);
    while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
        msg[--n] = '\0';
    saga_log(SAGA_LOG_WARN, "http.server", "%s", msg);
}
