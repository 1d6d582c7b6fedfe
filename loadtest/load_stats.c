/* load_stats.c - latency histograms with percentiles. */
#include "load_stats.h"

#include <math.h>
#include <string.h>

#define SUB_COUNT (1u << LOAD_HIST_SUB_BITS) /* buckets per power of two above the exact range */

void load_hist_init(load_hist *h)
{
    memset(h, 0, sizeof(*h));
}

/* Values below 2 * SUB_COUNT have a bucket each; a larger v with its top bit at
 * position e lands in bucket (v >> shift), shift = e - SUB_BITS, of its octave. */
static unsigned bucket_of(uint64_t v)
{
    unsigned e, shift;

    if (v < 2 * SUB_COUNT)
        return (unsigned)v;
    e = 63u - (unsigned)__builtin_clzll(v);
    shift = e - LOAD_HIST_SUB_BITS;
    return 2 * SUB_COUNT + (shift - 1) * SUB_COUNT + (unsigned)((v >> shift) - SUB_COUNT);
}

/* The largest value that falls into bucket i. */
static uint64_t bucket_top(unsigned i)
{
    unsigned shift, sub;

    if (i < 2 * SUB_COUNT)
        return i;
    shift = (i - 2 * SUB_COUNT) / SUB_COUNT + 1;
    sub = (i - 2 * SUB_COUNT) % SUB_COUNT + SUB_COUNT;
    return (((uint64_t)sub + 1) << shift) - 1;
}

void load_hist_add(load_hist *h, int64_t us)
{
    uint64_t v = us < 0 ? 0 : (uint64_t)us;

    if (v >= LOAD_HIST_MAX_US)
        v = LOAD_HIST_MAX_US - 1;
    if (h->count == 0 || v < h->min)
        h->min = v;
    if (v > h->max)
        h->max = v;
    h->count++;
    h->sum += v;
    h->buckets[bucket_of(v)]++;
}

uint64_t load_hist_percentile(const load_hist *h, double p)
{
    uint64_t rank, seen = 0;

    if (h->count == 0)
        return 0;
    if (p >= 100)
        return h->max;
    rank = (uint64_t)ceil(p / 100.0 * (double)h->count);
    if (rank < 1)
        rank = 1;
    for (unsigned i = 0; i < LOAD_HIST_BUCKETS; i++) {
        seen += h->buckets[i];
        if (seen >= rank) {
            uint64_t top = bucket_top(i);
            if (top > h->max)
                top = h->max;
            return top < h->min ? h->min : top;
        }
    }
    return h->max;
}

double load_hist_mean(const load_hist *h)
{
    return h->count ? (double)h->sum / (double)h->count : 0;
}
