/* metrics.h - process-wide Prometheus metrics: counters, gauges, histograms.
 *
 * Metrics are found or created by name plus a label string (`type="OrderCreated"`,
 * or "" for none) and live until the process ends: the pointers returned are stable
 * and safe to keep. Updates are lock-free; lookups take a mutex, so keep the
 * pointer on hot paths. */
#ifndef SAGA_METRICS_H
#define SAGA_METRICS_H

#include <stddef.h>

typedef struct saga_metric saga_metric;

saga_metric *saga_metrics_counter(const char *name, const char *help, const char *labels);
saga_metric *saga_metrics_gauge(const char *name, const char *help, const char *labels);
/* bounds: ascending upper bounds of the buckets, without +Inf; copied. */
saga_metric *saga_metrics_histogram(const char *name, const char *help, const char *labels,
                                    const double *bounds, size_t nbounds);

void saga_metric_add(saga_metric *m, double v);     /* counter or gauge */
void saga_metric_set(saga_metric *m, double v);     /* gauge */
void saga_metric_observe(saga_metric *m, double v); /* histogram */

/* Default bucket bounds for latencies in seconds (0.5 ms .. 10 s). */
extern const double saga_metrics_latency_bounds[];
extern const size_t saga_metrics_latency_nbounds;

/* A function run at the start of every render, to refresh gauges read from
 * elsewhere (consumer lag, outbox backlog). At most 8. */
typedef void (*saga_metrics_collect_fn)(void *ud);
void saga_metrics_on_render(saga_metrics_collect_fn fn, void *ud);
/* Removes a collector (before freeing what ud points to). */
void saga_metrics_off_render(saga_metrics_collect_fn fn, void *ud);

/* Registers the Prometheus client libraries' process metrics, refreshed from /proc
 * at every render: process_cpu_seconds_total, process_resident_memory_bytes,
 * process_virtual_memory_bytes, process_open_fds, process_max_fds,
 * process_start_time_seconds; and saga_build_info{version,commit} 1. Once per
 * process (later calls do nothing); uses one render collector. */
void saga_metrics_process_register(void);

/* Renders every metric in the Prometheus text format 0.0.4, one HELP and TYPE
 * line per name. Returns a malloc'd string (caller frees with free), *len set;
 * NULL on no memory. */
char *saga_metrics_render(size_t *len);

#endif
