/* log.h - JSON-lines logging on stdout, one object per line, thread-safe.
 *
 * Each line: {"ts","level","svc","event","msg"} plus "order_id", "event_id",
 * "correlation_id" when known, and "trace_id" and "span_id" while the writing thread
 * handles a request or an event that carried a W3C traceparent (saga_log_trace_set). `event` is a stable dotted key ("relay.published")
 * that tools can filter on; `msg` is for people. */
#ifndef SAGA_LOG_H
#define SAGA_LOG_H

#include <stdarg.h>
#include <stdbool.h>
#include <librdkafka/rdkafka.h>

typedef enum saga_log_level {
    SAGA_LOG_DEBUG = 0,
    SAGA_LOG_INFO,
    SAGA_LOG_WARN,
    SAGA_LOG_ERROR,
} saga_log_level;

/* Ids a log line can carry; any member may be NULL. */
typedef struct saga_log_ids {
    const char *order_id;
    const char *event_id;
    const char *correlation_id;
} saga_log_ids;

extern saga_log_level saga_log_min_level;

/* Sets the service name written as "svc" and the lowest level written. Call once at
 * start-up, before other threads log. `service` is copied. */
void saga_log_init(const char *service, saga_log_level min_level);

/* Parses "debug", "info", "warn" or "error". Returns 0, or -1 if unknown. */
int saga_log_level_parse(const char *s, saga_log_level *out);

void saga_log_write(saga_log_level level, const char *event, const saga_log_ids *ids,
                    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
void saga_log_vwrite(saga_log_level level, const char *event, const saga_log_ids *ids,
                     const char *fmt, va_list ap);

/* The level is checked before anything is formatted. */
#define saga_log(level, event, ...)                                                                \
    do {                                                                                           \
        if ((level) >= saga_log_min_level)                                                         \
            saga_log_write((level), (event), NULL, __VA_ARGS__);                                   \
    } while (0)
#define saga_log_ids(level, event, ids, ...)                                                       \
    do {                                                                                           \
        if ((level) >= saga_log_min_level)                                                         \
            saga_log_write((level), (event), (ids), __VA_ARGS__);                                  \
    } while (0)
#define LOG_DEBUG(event, ...) saga_log(SAGA_LOG_DEBUG, event, __VA_ARGS__)
#define LOG_INFO(event, ...) saga_log(SAGA_LOG_INFO, event, __VA_ARGS__)
#define LOG_WARN(event, ...) saga_log(SAGA_LOG_WARN, event, __VA_ARGS__)
#define LOG_ERROR(event, ...) saga_log(SAGA_LOG_ERROR, event, __VA_ARGS__)

/* Sets the calling thread's trace context from a W3C traceparent
 * ("00-<32 hex trace id>-<16 hex parent span id>-<2 hex flags>"): the thread's later lines
 * carry its "trace_id" and "span_id" (the traceparent's parent id: the span of the request
 * or event being handled) until saga_log_trace_clear or the next set. NULL or a
 * malformed traceparent (wrong shape, upper-case hex, an all-zero id) clears it. Returns
 * true if set. Thread-local: other threads are not affected. */
bool saga_log_trace_set(const char *traceparent);
void saga_log_trace_clear(void);

/* librdkafka's log_cb (rd_kafka_conf_set_log_cb): routes its lines through saga_log. */
void saga_log_rdkafka(const rd_kafka_t *rk, int level, const char *fac, const char *buf);

/* libmicrohttpd's MHD_OPTION_EXTERNAL_LOGGER callback. */
void saga_log_mhd(void *cls, const char *fmt, va_list ap);

#endif
