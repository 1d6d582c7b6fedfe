/* metrics.c - process-wide Prometheus registry: counters, gauges, histograms.
 *
 * Layout: the registry holds families (one per metric name: help, type) and each
 * family holds its series (one per label string). Families and series are
 * allocated once and never freed or moved, so the saga_metric pointers handed out
 * stay valid for the life of the process. A mutex guards lookup, creation and
 * render's walk over the lists; updates never take it.
 *
 * Atomics scheme: a counter or gauge value is a double kept as its IEEE-754 bit
 * pattern in an _Atomic uint64_t. set is an atomic store; add is a
 * compare-exchange loop on the bit pattern (exact for any double, no scaling, no
 * lost updates). A histogram keeps one _Atomic uint64_t count per bucket, NOT
 * cumulative (observe touches one bucket), plus the sum as a double bit pattern
 * like a counter. Render makes the buckets cumulative and reports _count as the
 * +Inf bucket, so _count always equals the +Inf bucket even while observations
 * race with a render. */
#include "saga/metrics.h"

#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "saga/log.h"

#define METRICS_MAX_COLLECTORS 8

typedef enum metric_kind {
    METRIC_COUNTER,
    METRIC_GAUGE,
    METRIC_HISTOGRAM,
} metric_kind;

typedef struct metric_family {
    char *name;
    char *help;
    metric_kind kind;
    saga_metric **series; /* creation order */
    size_t n;
    size_t cap;
} metric_family;

struct saga_metric {
    metric_family *fam;
    char *labels;           /* `a="x",b="y"` or "" */
    _Atomic uint64_t value; /* counter, gauge: bit pattern of a double */
    /* histogram only */
    double *bounds;
    size_t nbounds;
    _Atomic uint64_t *buckets; /* nbounds + 1 entries, last one is +Inf; not cumulative */
    _Atomic uint64_t sum;      /* bit pattern of a double */
};

typedef struct metrics_collector {
    saga_metrics_collect_fn fn;
    void *ud;
} metrics_collector;

static struct {
    pthread_mutex_t mu;
    metric_family **fams; /* creation order */
    size_t n;
    size_t cap;
    metrics_collector collectors[METRICS_MAX_COLLECTORS];
    size_t ncollectors;
} metrics_reg = {.mu = PTHREAD_MUTEX_INITIALIZER};

const double saga_metrics_latency_bounds[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                              0.1,    0.25,  0.5,    1,     2.5,  5,     10};
const size_t saga_metrics_latency_nbounds =
    sizeof(saga_metrics_latency_bounds) / sizeof(saga_metrics_latency_bounds[0]);

static inline uint64_t metrics_bits(double v)
{
    uint64_t u;
    memcpy(&u, &v, sizeof(u));
    return u;
}

static inline double metrics_double(uint64_t u)
{
    double v;
    memcpy(&v, &u, sizeof(v));
    return v;
}

static void metrics_atomic_add(_Atomic uint64_t *slot, double v)
{
    uint64_t old = atomic_load_explicit(slot, memory_order_relaxed);
    uint64_t next;
    do {
        next = metrics_bits(metrics_double(old) + v);
    } while (!atomic_compare_exchange_weak_explicit(slot, &old, next, memory_order_relaxed,
                                                    memory_order_relaxed));
}

static const char *metrics_kind_str(metric_kind kind)
{
    switch (kind) {
    case METRIC_COUNTER:
        return "counter";
    case METRIC_GAUGE:
        return "gauge";
    case METRIC_HISTOGRAM:
        return "histogram";
    }
    return "untyped";
}

/* Frees a series that is not (yet) in the registry. NULL is fine. */
static void metrics_series_free(saga_metric *m)
{
    if (!m)
        return;
    free(m->labels);
    free(m->bounds);
    free(m->buckets);
    free(m);
}

/* Makes room for one more element in arr (n used of *cap). Returns the array, moved
 * or not, or NULL on no memory (arr is then untouched). */
static void *metrics_grow(void *arr, size_t *cap, size_t n, size_t elem)
{
    if (n < *cap)
        return arr;
    size_t ncap = *cap ? *cap * 2 : 8;
    void *p = realloc(arr, ncap * elem);
    if (p)
        *cap = ncap;
    return p;
}

/* Finds or creates the series name{labels}. Returns NULL on no memory, on a name
 * already registered with another type, or on bad histogram bounds. */
static saga_metric *metrics_get(metric_kind kind, const char *name, const char *help,
                                const char *labels, const double *bounds, size_t nbounds)
{
    saga_metric *m = NULL;
    saga_metric *found = NULL;
    metric_family *fam = NULL;
    metric_family *newfam = NULL;

    if (!name || !*name)
        return NULL;
    if (!labels)
        labels = "";
    if (!help)
        help = "";
    if (kind == METRIC_HISTOGRAM) {
        for (size_t i = 0; i < nbounds; i++) {
            if (!isfinite(bounds[i]) || (i > 0 && bounds[i] <= bounds[i - 1])) {
                LOG_ERROR("metrics.bad_bounds", "histogram %s: bounds must be finite and ascending",
                          name);
                return NULL;
            }
        }
    }

    pthread_mutex_lock(&metrics_reg.mu);
    for (size_t i = 0; i < metrics_reg.n; i++) {
        if (strcmp(metrics_reg.fams[i]->name, name) == 0) {
            fam = metrics_reg.fams[i];
            break;
        }
    }
    if (fam && fam->kind != kind) {
        LOG_ERROR("metrics.type_conflict", "metric %s is a %s, not a %s", name,
                  metrics_kind_str(fam->kind), metrics_kind_str(kind));
        goto out;
    }
    if (fam) {
        for (size_t i = 0; i < fam->n; i++) {
            if (strcmp(fam->series[i]->labels, labels) == 0) {
                found = fam->series[i];
                goto out;
            }
        }
    }

    m = calloc(1, sizeof(*m));
    if (!m)
        goto out;
    m->labels = strdup(labels);
    if (!m->labels)
        goto out;
    atomic_init(&m->value, metrics_bits(0.0));
    atomic_init(&m->sum, metrics_bits(0.0));
    if (kind == METRIC_HISTOGRAM) {
        if (nbounds) {
            m->bounds = malloc(nbounds * sizeof(double));
            if (!m->bounds)
                goto out;
            memcpy(m->bounds, bounds, nbounds * sizeof(double));
        }
        m->nbounds = nbounds;
        m->buckets = calloc(nbounds + 1, sizeof(*m->buckets));
        if (!m->buckets)
            goto out;
        for (size_t i = 0; i <= nbounds; i++)
            atomic_init(&m->buckets[i], 0);
    }

    if (!fam) {
        newfam = calloc(1, sizeof(*newfam));
        if (!newfam)
            goto out;
        newfam->kind = kind;
        newfam->name = strdup(name);
        newfam->help = strdup(help);
        if (!newfam->name || !newfam->help)
            goto out;
        metric_family **fams =
            metrics_grow(metrics_reg.fams, &metrics_reg.cap, metrics_reg.n, sizeof(*fams));
        if (!fams)
            goto out;
        metrics_reg.fams = fams;
        fam = newfam;
    }
    saga_metric **series = metrics_grow(fam->series, &fam->cap, fam->n, sizeof(*series));
    if (!series)
        goto out;
    fam->series = series;
    if (newfam) {
        metrics_reg.fams[metrics_reg.n++] = newfam;
        newfam = NULL; /* now owned by the registry */
    }
    m->fam = fam;
    fam->series[fam->n++] = m;
    found = m;
    m = NULL; /* now owned by the registry */

out:
    pthread_mutex_unlock(&metrics_reg.mu);
    metrics_series_free(m);
    if (newfam) {
        free(newfam->name);
        free(newfam->help);
        free(newfam->series);
        free(newfam);
    }
    return found;
}

saga_metric *saga_metrics_counter(const char *name, const char *help, const char *labels)
{
    return metrics_get(METRIC_COUNTER, name, help, labels, NULL, 0);
}

saga_metric *saga_metrics_gauge(const char *name, const char *help, const char *labels)
{
    return metrics_get(METRIC_GAUGE, name, help, labels, NULL, 0);
}

saga_metric *saga_metrics_histogram(const char *name, const char *help, const char *labels,
                                    const double *bounds, size_t nbounds)
{
    if (!bounds && nbounds)
        return NULL;
    return metrics_get(METRIC_HISTOGRAM, name, help, labels, bounds, nbounds);
}

/* Updates on a NULL metric (a failed lookup) or on the wrong kind do nothing. A
 * counter ignores negative and NaN increments: counters only go up. */
void saga_metric_add(saga_metric *m, double v)
{
    if (!m)
        return;
    if (m->fam->kind == METRIC_COUNTER && !(v >= 0))
        return;
    if (m->fam->kind == METRIC_HISTOGRAM)
        return;
    metrics_atomic_add(&m->value, v);
}

void saga_metric_set(saga_metric *m, double v)
{
    if (!m || m->fam->kind != METRIC_GAUGE)
        return;
    atomic_store_explicit(&m->value, metrics_bits(v), memory_order_relaxed);
}

void saga_metric_observe(saga_metric *m, double v)
{
    if (!m || m->fam->kind != METRIC_HISTOGRAM)
        return;
    /* first bucket whose upper bound is >= v (le semantics); NaN lands in +Inf */
    size_t lo = 0;
    size_t hi = m->nbounds;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (v <= m->bounds[mid])
            hi = mid;
        else
            lo = mid + 1;
    }
    if (isnan(v))
        lo = m->nbounds;
    atomic_fetch_add_explicit(&m->buckets[lo], 1, memory_order_relaxed);
    metrics_atomic_add(&m->sum, v);
}

void saga_metrics_on_render(saga_metrics_collect_fn fn, void *ud)
{
    if (!fn)
        return;
    pthread_mutex_lock(&metrics_reg.mu);
    bool dup = false;
    for (size_t i = 0; i < metrics_reg.ncollectors; i++)
        if (metrics_reg.collectors[i].fn == fn && metrics_reg.collectors[i].ud == ud)
            dup = true;
    bool full = !dup && metrics_reg.ncollectors == METRICS_MAX_COLLECTORS;
    if (!dup && !full)
        metrics_reg.collectors[metrics_reg.ncollectors++] = (metrics_collector){fn, ud};
    pthread_mutex_unlock(&metrics_reg.mu);
    if (full)
        LOG_ERROR("metrics.collectors_full", "more than %d render collectors; ignored",
                  METRICS_MAX_COLLECTORS);
}

/* Held for reading while a render runs collectors, for writing while one is
 * removed: after saga_metrics_off_render returns, no render still runs it. */
static pthread_rwlock_t collectors_running = PTHREAD_RWLOCK_INITIALIZER;

void saga_metrics_off_render(saga_metrics_collect_fn fn, void *ud)
{
    pthread_rwlock_wrlock(&collectors_running);
    pthread_mutex_lock(&metrics_reg.mu);
    for (size_t i = 0; i < metrics_reg.ncollectors; i++) {
        if (metrics_reg.collectors[i].fn == fn && metrics_reg.collectors[i].ud == ud) {
            metrics_reg.collectors[i] = metrics_reg.collectors[--metrics_reg.ncollectors];
            break;
        }
    }
    pthread_mutex_unlock(&metrics_reg.mu);
    pthread_rwlock_unlock(&collectors_running);
}

/* --- rendering --- */

typedef struct metrics_buf {
    char *p;
    size_t len;
    size_t cap;
    bool nomem;
} metrics_buf;

static void metrics_buf_put(metrics_buf *b, const char *s, size_t n)
{
    if (b->nomem)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t ncap = b->cap ? b->cap : 4096;
        while (b->len + n + 1 > ncap)
            ncap *= 2;
        char *p = realloc(b->p, ncap);
        if (!p) {
            b->nomem = true;
            return;
        }
        b->p = p;
        b->cap = ncap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void metrics_buf_str(metrics_buf *b, const char *s)
{
    metrics_buf_put(b, s, strlen(s));
}

/* A sample value or bound as Prometheus expects it: shortest form that reads
 * back exactly, +Inf/-Inf/NaN spelled out. */
static void metrics_fmt_double(char *out, size_t outlen, double v)
{
    if (isnan(v)) {
        snprintf(out, outlen, "NaN");
    } else if (isinf(v)) {
        snprintf(out, outlen, v > 0 ? "+Inf" : "-Inf");
    } else if (v == floor(v) && fabs(v) < 1e15) {
        snprintf(out, outlen, "%.0f", v);
    } else {
        snprintf(out, outlen, "%.15g", v);
        if (strtod(out, NULL) != v)
            snprintf(out, outlen, "%.17g", v);
    }
}

static void metrics_put_help(metrics_buf *b, const char *help)
{
    /* HELP escapes backslash and newline */
    for (const char *s = help; *s; s++) {
        if (*s == '\\')
            metrics_buf_put(b, "\\\\", 2);
        else if (*s == '\n')
            metrics_buf_put(b, "\\n", 2);
        else
            metrics_buf_put(b, s, 1);
    }
}

/* name{labels[,extra]} value\n; braces left out when there are no labels. */
static void metrics_put_sample(metrics_buf *b, const char *name, const char *suffix,
                               const char *labels, const char *extra, const char *value)
{
    metrics_buf_str(b, name);
    metrics_buf_str(b, suffix);
    bool has_labels = labels[0] != '\0';
    if (has_labels || extra) {
        metrics_buf_put(b, "{", 1);
        metrics_buf_str(b, labels);
        if (has_labels && extra)
            metrics_buf_put(b, ",", 1);
        if (extra)
            metrics_buf_str(b, extra);
        metrics_buf_put(b, "}", 1);
    }
    metrics_buf_put(b, " ", 1);
    metrics_buf_str(b, value);
    metrics_buf_put(b, "\n", 1);
}

static void metrics_put_series(metrics_buf *b, const metric_family *fam, saga_metric *m)
{
    char val[64];
    if (fam->kind != METRIC_HISTOGRAM) {
        metrics_fmt_double(val, sizeof(val),
                           metrics_double(atomic_load_explicit(&m->value, memory_order_relaxed)));
        metrics_put_sample(b, fam->name, "", m->labels, NULL, val);
        return;
    }
    char le[96];
    char bound[64];
    uint64_t cum = 0;
    for (size_t i = 0; i <= m->nbounds; i++) {
        cum += atomic_load_explicit(&m->buckets[i], memory_order_relaxed);
        if (i < m->nbounds)
            metrics_fmt_double(bound, sizeof(bound), m->bounds[i]);
        else
            snprintf(bound, sizeof(bound), "+Inf");
        snprintf(le, sizeof(le), "le=\"%s\"", bound);
        snprintf(val, sizeof(val), "%llu", (unsigned long long)cum);
        metrics_put_sample(b, fam->name, "_bucket", m->labels, le, val);
    }
    metrics_fmt_double(val, sizeof(val),
                       metrics_double(atomic_load_explicit(&m->sum, memory_order_relaxed)));
    metrics_put_sample(b, fam->name, "_sum", m->labels, NULL, val);
    snprintf(val, sizeof(val), "%llu", (unsigned long long)cum);
    metrics_put_sample(b, fam->name, "_count", m->labels, NULL, val);
}

char *saga_metrics_render(size_t *len)
{
    metrics_collector collectors[METRICS_MAX_COLLECTORS];
    size_t ncollectors;
    metrics_buf b = {0};

    /* collectors run without the registry lock: they may create or look up metrics */
    pthread_rwlock_rdlock(&collectors_running);
    pthread_mutex_lock(&metrics_reg.mu);
    ncollectors = metrics_reg.ncollectors;
    memcpy(collectors, metrics_reg.collectors, ncollectors * sizeof(collectors[0]));
    pthread_mutex_unlock(&metrics_reg.mu);
    for (size_t i = 0; i < ncollectors; i++)
        collectors[i].fn(collectors[i].ud);
    pthread_rwlock_unlock(&collectors_running);

    pthread_mutex_lock(&metrics_reg.mu);
    for (size_t i = 0; i < metrics_reg.n; i++) {
        const metric_family *fam = metrics_reg.fams[i];
        if (fam->n == 0)
            continue;
        metrics_buf_str(&b, "# HELP ");
        metrics_buf_str(&b, fam->name);
        metrics_buf_put(&b, " ", 1);
        metrics_put_help(&b, fam->help);
        metrics_buf_str(&b, "\n# TYPE ");
        metrics_buf_str(&b, fam->name);
        metrics_buf_put(&b, " ", 1);
        metrics_buf_str(&b, metrics_kind_str(fam->kind));
        metrics_buf_put(&b, "\n", 1);
        for (size_t j = 0; j < fam->n; j++)
            metrics_put_series(&b, fam, fam->series[j]);
    }
    pthread_mutex_unlock(&metrics_reg.mu);

    metrics_buf_put(&b, "", 0); /* an empty registry still returns "" */
    if (b.nomem) {
        free(b.p);
        return NULL;
    }
    if (len)
        *len = b.len;
    return b.p;
}
