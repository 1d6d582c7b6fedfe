/* sagactl_entry.c - saga-dlq messages as dead-letter entries: reading, selecting,
 * printing safely. */
#include "sagactl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dlq_reader.h"
#include "saga/envelope.h"
#include "saga/err.h"
#include "saga/text.h"

/* What the reader callback fills. */
typedef struct read_state {
    const sagactl_opts *opts;
    dlq_list *list;
    int rc; /* first failure (no memory) */
} read_state;

bool sagactl_entry_selected(const sagactl_opts *o, const dlq_entry *e)
{
    if (o->nevent_ids > 0 || o->npositions > 0) {
        bool picked = false;
        for (size_t i = 0; i < o->nevent_ids && !picked; i++)
            picked = e->event_id && !strcmp(e->event_id, o->event_ids[i]);
        for (size_t i = 0; i < o->npositions && !picked; i++)
            picked =
                e->partition == o->positions[i].partition && e->offset == o->positions[i].offset;
        if (!picked)
            return false;
    }
    if (o->service && (!e->service || strcmp(e->service, o->service) != 0))
        return false;
    if (o->reason && (!e->reason || strcmp(e->reason, o->reason) != 0))
        return false;
    return true;
}

/* dlq_reader_fn: keeps the selected entries. */
static void read_one(const rd_kafka_message_t *rkm, void *ud)
{
    read_state *st = ud;
    dlq_list *l = st->list;
    dlq_entry e = {0};

    if (st->rc)
        return;
    if (dlq_entry_fill(&e, rkm) != SAGA_OK) {
        dlq_entry_free(&e);
        st->rc = SAGA_ERR_NOMEM;
        return;
    }
    if (!sagactl_entry_selected(st->opts, &e)) {
        dlq_entry_free(&e);
        return;
    }
    if (st->opts->cmd == SAGACTL_DLQ_LIST) { /* not needed: keep memory small */
        free(e.payload);
        e.payload = NULL;
        e.len = 0;
        if (e.headers)
            rd_kafka_headers_destroy(e.headers);
        e.headers = NULL;
    }
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 64;
        dlq_entry *items = realloc(l->items, cap * sizeof(*items));
        if (!items) {
            dlq_entry_free(&e);
            st->rc = SAGA_ERR_NOMEM;
            return;
        }
        l->items = items;
        l->cap = cap;
    }
    l->items[l->n++] = e;
}

int dlq_list_read(const sagactl_opts *opts, dlq_list *out, char *err, size_t errlen)
{
    rd_kafka_t *rk = NULL;
    int64_t *low = NULL, *high = NULL;
    read_state st = {.opts = opts, .list = out};
    int npart = 0, rc;

    memset(out, 0, sizeof(*out));
    low = calloc(SAGACTL_MAX_PARTITIONS, sizeof(*low));
    high = calloc(SAGACTL_MAX_PARTITIONS, sizeof(*high));
    if (!low || !high) {
        snprintf(err, errlen, "out of memory");
        rc = SAGA_ERR_NOMEM;
        goto out;
    }
    if (!(rk = dlq_reader_new(opts->bootstrap, "sagactl", err, errlen))) {
        rc = SAGA_ERR_UNAVAILABLE;
        goto out;
    }
    rc = dlq_reader_watermarks(rk, opts->topic, (int)opts->timeout_ms, SAGACTL_MAX_PARTITIONS,
                               &npart, low, high, err, errlen);
    if (rc == SAGA_ERR_NOT_FOUND) {
        out->topic_missing = true;
        rc = SAGA_OK;
        goto out;
    }
    if (rc)
        goto out;
    rc = dlq_reader_read(rk, opts->topic, npart, low, high, opts->timeout_ms, read_one, &st, err,
                         errlen);
    if (rc == SAGA_OK && st.rc) {
        snprintf(err, errlen, "out of memory reading %s", opts->topic);
        rc = st.rc;
    }
out:
    dlq_reader_free(rk);
    free(low);
    free(high);
    if (rc)
        dlq_list_free(out);
    return rc;
}

void dlq_list_free(dlq_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        dlq_entry_free(&l->items[i]);
    free(l->items);
    l->items = NULL;
    l->n = l->cap = 0;
}

const char *sagactl_safe(const char *s, char *buf, size_t len)
{
    size_t o = 0, n;
    if (!len)
        return "";
    if (!s || !*s) {
        snprintf(buf, len, "-");
        return buf;
    }
    n = strlen(s);
    for (size_t i = 0; i < n && o + 1 < len;) {
        const unsigned char *u = (const unsigned char *)s + i;
        size_t k = saga_utf8_sequence(u, n - i);
        if (k == 0 || (k == 1 && (u[0] < 0x20 || u[0] == 0x7F))) {
            buf[o++] = '?';
            i++;
            continue;
        }
        if (o + k >= len)
            break;
        memcpy(buf + o, u, k);
        o += k;
        i += k;
    }
    buf[o] = '\0';
    return buf;
}
