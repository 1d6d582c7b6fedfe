/* sagactl_entry.c - saga-dlq messages as dead-letter entries: reading, selecting,
 * printing safely. */
#include "sagactl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dlq_reader.h"
#include "saga/envelope.h"
#include "saga/err.h"

#define HDR_SERVICE "saga-service"
#define HDR_REASON "kafka_dlt-exception-fqcn"
#define HDR_MESSAGE "kafka_dlt-exception-message"
#define HDR_GROUP "kafka_dlt-original-consumer-group"
#define HDR_TOPIC "kafka_dlt-original-topic"
#define HDR_PARTITION "kafka_dlt-original-partition"
#define HDR_OFFSET "kafka_dlt-original-offset"
#define HDR_TIMESTAMP "kafka_dlt-original-timestamp"
#define HDR_ATTEMPTS "saga-attempts"
#define HDR_TRUNCATED "saga-payload-truncated"

/* What the reader callback fills. */
typedef struct read_state {
    const sagactl_opts *opts;
    dlq_list *list;
    int rc; /* first failure (no memory) */
} read_state;

static char *dup_bytes(const void *p, size_t len)
{
    char *s = malloc(len + 1);
    if (!s)
        return NULL;
    if (len)
        memcpy(s, p, len);
    s[len] = '\0';
    return s;
}

/* A header's last value as a string; NULL if absent (or no memory: *oom set). */
static char *header_dup(rd_kafka_headers_t *hdrs, const char *name, bool *oom)
{
    const void *val = NULL;
    size_t size = 0;
    char *s;
    if (!hdrs || rd_kafka_header_get_last(hdrs, name, &val, &size) != RD_KAFKA_RESP_ERR_NO_ERROR)
        return NULL;
    if (!(s = dup_bytes(val ? val : "", val ? size : 0)))
        *oom = true;
    return s;
}

/* A header's integer value; def when absent or not an integer. */
static long long header_ll(rd_kafka_headers_t *hdrs, const char *name, long long def)
{
    const void *val = NULL;
    size_t size = 0;
    char buf[32], *end = NULL;
    if (!hdrs || rd_kafka_header_get_last(hdrs, name, &val, &size) != RD_KAFKA_RESP_ERR_NO_ERROR ||
        !val || size == 0 || size >= sizeof(buf))
        return def;
    memcpy(buf, val, size);
    buf[size] = '\0';
    long long v = strtoll(buf, &end, 10);
    return end && *end == '\0' ? v : def;
}

static void entry_free(dlq_entry *e)
{
    free(e->service);
    free(e->reason);
    free(e->message);
    free(e->consumer_group);
    free(e->orig_topic);
    free(e->key);
    free(e->payload);
    if (e->headers)
        rd_kafka_headers_destroy(e->headers);
    free(e->event_type);
    free(e->event_id);
    free(e->order_id);
    free(e->correlation_id);
    memset(e, 0, sizeof(*e));
}

/* Fills e from rkm. Returns SAGA_OK or SAGA_ERR_NOMEM (e then holds what it got). */
static int entry_fill(dlq_entry *e, const rd_kafka_message_t *rkm)
{
    rd_kafka_headers_t *hdrs = NULL;
    saga_event *ev = NULL;
    char why[256];
    bool oom = false;

    e->partition = rkm->partition;
    e->offset = rkm->offset;
    e->timestamp = rd_kafka_message_timestamp(rkm, NULL);
    if (rd_kafka_message_headers(rkm, &hdrs) != RD_KAFKA_RESP_ERR_NO_ERROR)
        hdrs = NULL; /* none */
    e->service = header_dup(hdrs, HDR_SERVICE, &oom);
    e->reason = header_dup(hdrs, HDR_REASON, &oom);
    e->message = header_dup(hdrs, HDR_MESSAGE, &oom);
    e->consumer_group = header_dup(hdrs, HDR_GROUP, &oom);
    e->orig_topic = header_dup(hdrs, HDR_TOPIC, &oom);
    e->orig_partition = (int32_t)header_ll(hdrs, HDR_PARTITION, -1);
    e->orig_offset = header_ll(hdrs, HDR_OFFSET, -1);
    e->orig_timestamp = header_ll(hdrs, HDR_TIMESTAMP, -1);
    e->attempts = (long)header_ll(hdrs, HDR_ATTEMPTS, -1);
    if (e->orig_partition < -1)
        e->orig_partition = -1;
    {
        char *t = header_dup(hdrs, HDR_TRUNCATED, &oom);
        e->truncated = t && !strcmp(t, "true");
        free(t);
    }
    if (hdrs && !(e->headers = rd_kafka_headers_copy(hdrs)))
        oom = true;
    if (rkm->key && rkm->key_len > 0) {
        if (!(e->key = dup_bytes(rkm->key, rkm->key_len)))
            oom = true;
        e->key_len = rkm->key_len;
    }
    if (!(e->payload = dup_bytes(rkm->payload ? rkm->payload : "", rkm->payload ? rkm->len : 0)))
        oom = true;
    e->len = rkm->payload ? rkm->len : 0;
    if (oom)
        return SAGA_ERR_NOMEM;
    if (saga_event_parse(e->payload, e->len, &ev, why, sizeof(why)) == SAGA_OK) {
        e->event_type = dup_bytes(ev->type, strlen(ev->type));
        e->event_id = dup_bytes(ev->id, strlen(ev->id));
        e->order_id = dup_bytes(ev->subject, strlen(ev->subject));
        if (ev->correlationid &&
            !(e->correlation_id = dup_bytes(ev->correlationid, strlen(ev->correlationid))))
            oom = true;
        saga_event_free(ev);
        if (oom || !e->event_type || !e->event_id || !e->order_id)
            return SAGA_ERR_NOMEM;
    }
    return SAGA_OK;
}

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
    if (entry_fill(&e, rkm) != SAGA_OK) {
        entry_free(&e);
        st->rc = SAGA_ERR_NOMEM;
        return;
    }
    if (!sagactl_entry_selected(st->opts, &e)) {
        entry_free(&e);
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
            entry_free(&e);
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
        entry_free(&l->items[i]);
    free(l->items);
    l->items = NULL;
    l->n = l->cap = 0;
}

/* Length of the valid UTF-8 sequence at s (at most n bytes), 0 if invalid. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
    size_t len;
    unsigned min;
    unsigned cp;
    if (s[0] < 0x80)
        return 1;
    if ((s[0] & 0xE0) == 0xC0)
        len = 2, min = 0x80, cp = s[0] & 0x1F;
    else if ((s[0] & 0xF0) == 0xE0)
        len = 3, min = 0x800, cp = s[0] & 0x0F;
    else if ((s[0] & 0xF8) == 0xF0)
        len = 4, min = 0x10000, cp = s[0] & 0x07;
    else
        return 0;
    if (len > n)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return len;
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
        size_t k = utf8_len(u, n - i);
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
