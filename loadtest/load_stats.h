/* load_stats.h - latency histograms with percentiles, in microseconds.
 *
 * Log-linear buckets (the HdrHistogram layout): values below 256 us are exact, above
 * that each power of two is cut into 128 buckets, so a percentile is within 0.8 % of
 * the true value, whatever the range; min, max, count and sum are exact. Fixed size,
 * no allocation; not thread-safe (one owner). */
#ifndef LOAD_STATS_H
#define LOAD_STATS_H

#include <stdint.h>

#define LOAD_HIST_SUB_BITS 7
#define LOAD_HIST_MAX_US ((uint64_t)1 << 40) /* about 12 days; larger values are clamped */
#define LOAD_HIST_BUCKETS                                                                          \
    ((2 << LOAD_HIST_SUB_BITS) + (40 - LOAD_HIST_SUB_BITS) * (1 << LOAD_HIST_SUB_BITS))

typedef struct load_hist {
    uint64_t count;
    uint64_t sum;
    uint64_t min;
    uint64_t max;
    uint64_t buckets[LOAD_HIST_BUCKETS];
} load_hist;

void load_hist_init(load_hist *h);

/* Records one value; a negative one counts as 0. */
void load_hist_add(load_hist *h, int64_t us);

/* The nearest-rank percentile p (0 < p <= 100): the smallest recorded value (to the
 * bucket's precision) that at least p % of the values do not exceed. p = 100 is the
 * exact max. 0 when empty. */
uint64_t load_hist_percentile(const load_hist *h, double p);

/* The mean, 0 when empty. */
double load_hist_mean(const load_hist *h);

#endif
