/* console_causal.c - one order's events in causal order (see console.h). No I/O. */
#include "console.h"

#include <stdlib.h>
#include <string.h>
#include <stdio.h>
#include <time.h>

#include "saga/err.h"

/* True if node a comes before node b by time (timestamp, then tiebreak). */
static bool earlier(const console_causal_node *a, const console_causal_node *b)
{
    if (a->timestamp != b->timestamp)
        return a->timestamp < b->timestamp;
    return a->tiebreak < b->tiebreak;
}

/* The earliest node left that lies on a cycle of causes (forged events naming each
 * other); fallback if none does. */
static size_t cycle_start(const console_causal_node *nodes, const size_t *parent, const bool *done,
                          size_t n, size_t fallback)
{
    const size_t none = (size_t)-1;
    size_t best = none;
    for (size_t i = 0; i < n; i++) {
        if (done[i])
            continue;
        size_t p = parent[i];
        for (size_t steps = 0; p != none && p != i && steps < n; steps++)
            p = parent[p];
        if (p == i && (best == none || earlier(&nodes[i], &nodes[best])))
            best = i;
    }
    return best == none ? fallback : best;
}

int console_causal_order(console_causal_node *nodes, size_t n, size_t *order)
{
    size_t *parent = NULL, *pos = NULL;
    bool *done = NULL;
    const size_t none = (size_t)-1;
    int rc = SAGA_ERR_NOMEM;

    if (n == 0)
        return SAGA_OK;
    parent = malloc(n * sizeof(*parent));
    pos = malloc(n * sizeof(*pos));
    done = calloc(n, sizeof(*done));
    if (!parent || !pos || !done)
        goto out;
    /* each node's cause: the earliest other node whose id is its causationid */
    for (size_t i = 0; i < n; i++) {
        parent[i] = none;
        if (!nodes[i].cause || !nodes[i].cause[0])
            continue;
        for (size_t j = 0; j < n; j++) {
            if (j == i || !nodes[j].id || strcmp(nodes[j].id, nodes[i].cause) != 0)
                continue;
            if (parent[i] == none || earlier(&nodes[j], &nodes[parent[i]]))
                parent[i] = j;
        }
    }
    /* Kahn's algorithm, the earliest ready node first; a cycle is broken by taking
     * the earliest node left */
    for (size_t k = 0; k < n; k++) {
        size_t best = none, any = none;
        for (size_t i = 0; i < n; i++) {
            if (done[i])
                continue;
            if (any == none || earlier(&nodes[i], &nodes[any]))
                any = i;
            if (parent[i] != none && !done[parent[i]])
                continue;
            if (best == none || earlier(&nodes[i], &nodes[best]))
                best = i;
        }
        if (best == none) /* only cycles, and what waits on them, are left */
            best = cycle_start(nodes, parent, done, n, any);
        done[best] = true;
        pos[best] = k;
        order[k] = best;
        size_t p = parent[best];
        if (p != none && done[p] && p != best) {
            nodes[best].cause_index = (int)pos[p];
            nodes[best].depth = nodes[p].depth + 1;
        } else {
            nodes[best].cause_index = -1;
            nodes[best].depth = 0;
        }
    }
    rc = SAGA_OK;
out:
    free(parent);
    free(pos);
    free(done);
    return rc;
}

int64_t console_time_parse_ms(const char *s)
{
    int y, mo, d, h, mi, sec, n = 0;
    int64_t ms = 0;
    struct tm tm = {0};

    if (!s || sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &sec, &n) != 6)
        return -1;
    s += n;
    if (*s == '.') {
        int digits = 0;
        for (s++; *s >= '0' && *s <= '9'; s++, digits++) {
            if (digits < 3)
                ms = ms * 10 + (*s - '0');
        }
        if (digits == 0)
            return -1;
        for (; digits < 3; digits++)
            ms *= 10;
    }
    if (strcmp(s, "Z") != 0 || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 ||
        sec > 60)
        return -1;
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = sec;
    return (int64_t)timegm(&tm) * 1000 + ms;
}
