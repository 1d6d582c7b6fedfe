/* console_kafka.c - what the console reads from Kafka (see console.h): the
 * partitions' watermarks, the services' committed offsets, pages of one partition,
 * one key's messages, the dead letters, and a dead letter's replay.
 *
 * Cheap by construction: the reader never joins a consumer group (partitions are
 * assigned, offsets never committed), every read has an end offset fixed before it
 * starts and reads at most cfg.scan_max messages, and one lock serialises the
 * console's Kafka work, so a page left open polling costs at most one bounded read
 * at a time. */
#include "console.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dlq_entry.h"
#include "dlq_reader.h"
#include "dlq_replay.h"
#include "saga/err.h"
#include "saga/log.h"
#include "saga/text.h"

#define BROWSE_CHUNK 1000 /* messages read per step when a key filter is on */

/* ---- messages as JSON ---- */

/* p[0..n) as a JSON string: at most max bytes, invalid UTF-8 (and NUL) shown as
 * U+FFFD. *cut: the bytes did not all fit; *binary: some were replaced. */
static cJSON *text_json(const void *p, size_t n, size_t max, bool *cut, bool *binary)
{
    const unsigned char *s = p;
    char *buf = malloc((n < max ? n : max) * 3 + 4), *w = buf;
    size_t i = 0;
    cJSON *out;

    *cut = *binary = false;
    if (!buf)
        return NULL;
    while (i < n) {
        size_t k = s[i] ? saga_utf8_sequence(s + i, n - i) : 0; /* NUL: not text */
        if ((size_t)(w - buf) + (k ? k : 3) > (n < max ? n : max) * 3 || i + (k ? k : 1) > max) {
            *cut = true;
            break;
        }
        if (k == 0) {
            memcpy(w, "\xEF\xBF\xBD", 3);
            w += 3;
            i++;
            *binary = true;
            continue;
        }
        memcpy(w, s + i, k);
        w += k;
        i += k;
    }
    *w = '\0';
    out = cJSON_CreateString(buf);
    free(buf);
    return out;
}

cJSON *console_message_json(const rd_kafka_message_t *rkm)
{
    cJSON *o = cJSON_CreateObject(), *hs, *v;
    rd_kafka_headers_t *hdrs = NULL;
    const char *name;
    const void *val;
    size_t size;
    bool cut, binary;

    if (!o)
        return NULL;
    cJSON_AddStringToObject(o, "topic", rd_kafka_topic_name(rkm->rkt));
    cJSON_AddNumberToObject(o, "partition", rkm->partition);
    cJSON_AddNumberToObject(o, "offset", (double)rkm->offset);
    cJSON_AddNumberToObject(o, "timestamp", (double)rd_kafka_message_timestamp(rkm, NULL));
    if (rkm->key) {
        if (!(v = text_json(rkm->key, rkm->key_len, 1024, &cut, &binary)) ||
            !cJSON_AddItemToObject(o, "key", v))
            goto nomem;
    } else {
        cJSON_AddNullToObject(o, "key");
    }
    if (!(hs = cJSON_AddArrayToObject(o, "headers")))
        goto nomem;
    if (rd_kafka_message_headers(rkm, &hdrs) == RD_KAFKA_RESP_ERR_NO_ERROR) {
        for (size_t i = 0; !rd_kafka_header_get_all(hdrs, i, &name, &val, &size); i++) {
            cJSON *h = cJSON_CreateObject();
            if (!h || !cJSON_AddItemToArray(hs, h)) {
                cJSON_Delete(h);
                goto nomem;
            }
            cJSON_AddStringToObject(h, "name", name);
            if (!(v = text_json(val ? val : "", val ? size : 0, 4096, &cut, &binary)) ||
                !cJSON_AddItemToObject(h, "value", v))
                goto nomem;
        }
    }
    if (!(v = text_json(rkm->payload ? rkm->payload : "", rkm->payload ? rkm->len : 0,
                        CONSOLE_VALUE_MAX, &cut, &binary)) ||
        !cJSON_AddItemToObject(o, "value", v))
        goto nomem;
    cJSON_AddNumberToObject(o, "valueBytes", (double)rkm->len);
    cJSON_AddBoolToObject(o, "truncated", cut);
    cJSON_AddBoolToObject(o, "binary", binary);
    if (!cut && !binary && rkm->payload && rkm->len > 0) {
        cJSON *ev = cJSON_ParseWithLength(rkm->payload, rkm->len);
        if (ev && !cJSON_AddItemToObject(o, "event", ev)) {
            cJSON_Delete(ev);
            goto nomem;
        }
    }
    return o;
nomem:
    cJSON_Delete(o);
    return NULL;
}

/* ---- the handles ---- */

rd_kafka_t *console_reader(console *c, char *err, size_t errlen)
{
    if (!c->reader)
        c->reader = dlq_reader_new(c->cfg.bootstrap, "saga-console", err, errlen);
    return c->reader;
}

/* A handle with service s's group.id, for reading its committed offsets only: it
 * never subscribes, so it never joins the group. Call with kafka_lock held. */
static rd_kafka_t *group_get(console *c, int s, char *err, size_t errlen)
{
    static const char *const settings[][2] = {
        {"enable.auto.commit", "false"},
        {"enable.auto.offset.store", "false"},
        {"allow.auto.create.topics", "false"},
        {"log_level", "3"},
    };
    rd_kafka_conf_t *conf;
    char errstr[512];

    if (c->groups[s])
        return c->groups[s];
    conf = rd_kafka_conf_new();
    if (rd_kafka_conf_set(conf, "bootstrap.servers", c->cfg.bootstrap, errstr, sizeof(errstr)) ||
        rd_kafka_conf_set(conf, "client.id", "saga-console", errstr, sizeof(errstr)) ||
        rd_kafka_conf_set(conf, "group.id", c->cfg.group[s], errstr, sizeof(errstr)))
        goto bad;
    for (size_t i = 0; i < sizeof(settings) / sizeof(settings[0]); i++) {
        if (rd_kafka_conf_set(conf, settings[i][0], settings[i][1], errstr, sizeof(errstr)))
            goto bad;
    }
    if (!(c->groups[s] = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof(errstr))))
        goto bad;
    return c->groups[s]; /* conf is now owned by the handle */
bad:
    snprintf(err, errlen, "kafka client for group %s: %.300s", c->cfg.group[s], errstr);
    rd_kafka_conf_destroy(conf);
    return NULL;
}

void console_kafka_free(console *c)
{
    dlq_reader_free(c->reader);
    c->reader = NULL;
    for (int s = 0; s < CONSOLE_NSVC; s++) {
        if (c->groups[s])
            rd_kafka_destroy(c->groups[s]); /* never subscribed: nothing to close */
        c->groups[s] = NULL;
    }
}

/* ---- topics and groups ---- */

int console_marks_read(console *c, rd_kafka_t *rk, int t, console_marks *m, char *err,
                       size_t errlen)
{
    int rc = dlq_reader_watermarks(rk, c->cfg.topics[t], (int)c->cfg.timeout_ms,
                                   CONSOLE_MAX_PARTITIONS, &m->npart, m->low, m->high, err, errlen);
    m->missing = rc == SAGA_ERR_NOT_FOUND;
    return m->missing ? SAGA_OK : rc;
}

/* The group's committed offsets on the event topics, as {"group","service","topics"}. */
static cJSON *group_json(console *c, int s, const console_marks *marks, char *err, size_t errlen)
{
    rd_kafka_topic_partition_list_t *parts = rd_kafka_topic_partition_list_new(64);
    cJSON *g = cJSON_CreateObject(), *ts;
    rd_kafka_t *rk = group_get(c, s, err, errlen);
    rd_kafka_resp_err_t kerr;

    if (!parts || !g || !(ts = cJSON_AddArrayToObject(g, "topics")))
        goto fail;
    cJSON_AddStringToObject(g, "group", c->cfg.group[s]);
    cJSON_AddStringToObject(g, "service", console_svc_names[s]);
    if (!rk) {
        cJSON_AddStringToObject(g, "error", err);
        goto done;
    }
    for (int t = 0; t < CONSOLE_NTOPICS - 1; t++) {
        for (int p = 0; p < marks[t].npart; p++)
            rd_kafka_topic_partition_list_add(parts, c->cfg.topics[t], p);
    }
    if ((kerr = rd_kafka_committed(rk, parts, (int)c->cfg.timeout_ms))) {
        char why[300];
        snprintf(why, sizeof(why), "cannot read the committed offsets: %s", rd_kafka_err2str(kerr));
        cJSON_AddStringToObject(g, "error", why);
        goto done;
    }
    for (int t = 0; t < CONSOLE_NTOPICS - 1; t++) {
        cJSON *to = NULL, *ps = NULL;
        double lag = 0;
        for (int i = 0; i < parts->cnt; i++) {
            const rd_kafka_topic_partition_t *tp = &parts->elems[i];
            if (strcmp(tp->topic, c->cfg.topics[t]) != 0 || tp->err || tp->offset < 0)
                continue;
            if (!to) { /* the group has committed on this topic: it consumes it */
                if (!(to = cJSON_CreateObject()) || !cJSON_AddItemToArray(ts, to)) {
                    cJSON_Delete(to);
                    goto fail;
                }
                cJSON_AddStringToObject(to, "topic", c->cfg.topics[t]);
                if (!(ps = cJSON_AddArrayToObject(to, "partitions")))
                    goto fail;
            }
            cJSON *po = cJSON_CreateObject();
            if (!po || !cJSON_AddItemToArray(ps, po)) {
                cJSON_Delete(po);
                goto fail;
            }
            int64_t high = tp->partition < marks[t].npart ? marks[t].high[tp->partition] : 0;
            int64_t l = high > tp->offset ? high - tp->offset : 0;
            lag += (double)l;
            cJSON_AddNumberToObject(po, "partition", tp->partition);
            cJSON_AddNumberToObject(po, "committed", (double)tp->offset);
            cJSON_AddNumberToObject(po, "high", (double)high);
            cJSON_AddNumberToObject(po, "lag", (double)l);
        }
        if (to)
            cJSON_AddNumberToObject(to, "lag", lag);
    }
done:
    rd_kafka_topic_partition_list_destroy(parts);
    return g;
fail:
    if (parts)
        rd_kafka_topic_partition_list_destroy(parts);
    cJSON_Delete(g);
    return NULL;
}

int console_topics_json(console *c, cJSON **out, char *err, size_t errlen)
{
    console_marks *marks = calloc(CONSOLE_NTOPICS, sizeof(*marks));
    cJSON *root = cJSON_CreateObject(), *ts, *gs;
    rd_kafka_t *rk;
    int rc = SAGA_ERR_NOMEM;

    *out = NULL;
    if (!marks || !root || !(ts = cJSON_AddArrayToObject(root, "topics")) ||
        !(gs = cJSON_AddArrayToObject(root, "groups"))) {
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    pthread_mutex_lock(&c->kafka_lock);
    if (!(rk = console_reader(c, err, errlen))) {
        rc = SAGA_ERR_UNAVAILABLE;
        goto unlock;
    }
    for (int t = 0; t < CONSOLE_NTOPICS; t++) {
        if ((rc = console_marks_read(c, rk, t, &marks[t], err, errlen)))
            goto unlock;
        cJSON *to = cJSON_CreateObject(), *ps;
        double total = 0;
        if (!to || !cJSON_AddItemToArray(ts, to) ||
            !(ps = cJSON_AddArrayToObject(to, "partitions")))
            goto nomem;
        cJSON_AddStringToObject(to, "name", c->cfg.topics[t]);
        cJSON_AddBoolToObject(to, "exists", !marks[t].missing);
        for (int p = 0; p < marks[t].npart; p++) {
            cJSON *po = cJSON_CreateObject();
            if (!po || !cJSON_AddItemToArray(ps, po))
                goto nomem;
            cJSON_AddNumberToObject(po, "partition", p);
            cJSON_AddNumberToObject(po, "low", (double)marks[t].low[p]);
            cJSON_AddNumberToObject(po, "high", (double)marks[t].high[p]);
            total += (double)(marks[t].high[p] - marks[t].low[p]);
        }
        cJSON_AddNumberToObject(to, "messages", total);
    }
    for (int s = 0; s < CONSOLE_NSVC; s++) {
        char why[512] = "";
        cJSON *g = group_json(c, s, marks, why, sizeof(why));
        if (!g || !cJSON_AddItemToArray(gs, g))
            goto nomem;
    }
    rc = SAGA_OK;
    goto unlock;
nomem:
    snprintf(err, errlen, "out of memory");
    rc = SAGA_ERR_NOMEM;
unlock:
    pthread_mutex_unlock(&c->kafka_lock);
out:
    free(marks);
    if (rc)
        cJSON_Delete(root);
    else
        *out = root;
    return rc;
}

/* ---- reading one partition ---- */

typedef struct collect {
    const char *key; /* NULL: every message */
    size_t key_len;
    cJSON *msgs; /* in offset order */
    int limit;
    bool newest;           /* keep the last `limit`, else the first */
    bool more;             /* oldest: a match beyond the limit was seen */
    int64_t first_skipped; /* oldest: its offset */
    int64_t scanned;
    bool oom;
} collect;

static bool key_is(const rd_kafka_message_t *rkm, const char *key, size_t len)
{
    return rkm->key && rkm->key_len == len && !memcmp(rkm->key, key, len);
}

static void collect_one(const rd_kafka_message_t *rkm, void *ud)
{
    collect *col = ud;
    col->scanned++;
    if (col->oom || (col->key && !key_is(rkm, col->key, col->key_len)))
        return;
    if (!col->newest && cJSON_GetArraySize(col->msgs) >= col->limit) {
        if (!col->more)
            col->first_skipped = rkm->offset;
        col->more = true;
        return;
    }
    cJSON *m = console_message_json(rkm);
    if (!m || !cJSON_AddItemToArray(col->msgs, m)) {
        cJSON_Delete(m);
        col->oom = true;
        return;
    }
    if (col->newest && cJSON_GetArraySize(col->msgs) > col->limit)
        cJSON_Delete(cJSON_DetachItemFromArray(col->msgs, 0));
}

/* Reads [start, end) of one partition of topic t into col. */
static int read_range(console *c, rd_kafka_t *rk, int t, int32_t partition, int64_t start,
                      int64_t end, collect *col, char *err, size_t errlen)
{
    int64_t *s = calloc((size_t)partition + 1, sizeof(*s));
    int64_t *e = calloc((size_t)partition + 1, sizeof(*e));
    int rc = SAGA_ERR_NOMEM;

    if (s && e) {
        s[partition] = start;
        e[partition] = end;
        rc = dlq_reader_read(rk, c->cfg.topics[t], partition + 1, s, e, c->cfg.timeout_ms,
                             collect_one, col, err, errlen);
    } else {
        snprintf(err, errlen, "out of memory");
    }
    free(s);
    free(e);
    if (rc == SAGA_OK && col->oom) {
        snprintf(err, errlen, "out of memory");
        rc = SAGA_ERR_NOMEM;
    }
    return rc;
}

int console_browse_json(console *c, const console_browse *b, cJSON **out, char *err, size_t errlen)
{
    console_marks *m = calloc(1, sizeof(*m));
    cJSON *root = cJSON_CreateObject(), *msgs = cJSON_CreateArray();
    collect col = {.key = b->key,
                   .key_len = b->key ? strlen(b->key) : 0,
                   .limit = b->limit,
                   .newest = b->newest};
    int64_t chunk = b->key ? BROWSE_CHUNK : b->limit, next = -1;
    rd_kafka_t *rk;
    int rc = SAGA_ERR_NOMEM;

    *out = NULL;
    if (!m || !root || !msgs) {
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    pthread_mutex_lock(&c->kafka_lock);
    if (!(rk = console_reader(c, err, errlen))) {
        rc = SAGA_ERR_UNAVAILABLE;
        goto unlock;
    }
    if ((rc = console_marks_read(c, rk, b->topic, m, err, errlen)))
        goto unlock;
    if (b->partition >= m->npart) {
        snprintf(err, errlen, "%s has no partition %d", c->cfg.topics[b->topic], (int)b->partition);
        rc = SAGA_ERR_NOT_FOUND;
        goto unlock;
    }
    int64_t low = m->low[b->partition], high = m->high[b->partition];
    if (!b->newest) {
        int64_t pos = b->offset < low ? low : b->offset;
        while (pos < high && col.scanned < c->cfg.scan_max && !col.more) {
            int64_t end = pos + chunk < high ? pos + chunk : high;
            col.msgs = msgs; /* the same array across chunks: the first `limit` */
            if ((rc = read_range(c, rk, b->topic, b->partition, pos, end, &col, err, errlen)))
                goto unlock;
            pos = end;
        }
        next = col.more ? col.first_skipped : (pos < high ? pos : -1);
    } else {
        int64_t upper = b->offset < 0 || b->offset > high ? high : b->offset;
        while (upper > low && col.scanned < c->cfg.scan_max &&
               cJSON_GetArraySize(msgs) < b->limit) {
            int64_t start = upper - chunk > low ? upper - chunk : low;
            cJSON *part = cJSON_CreateArray();
            if (!part)
                goto nomem;
            col.msgs = part;
            col.limit = b->limit - cJSON_GetArraySize(msgs);
            rc = read_range(c, rk, b->topic, b->partition, start, upper, &col, err, errlen);
            /* newest first: this chunk's matches (its newest `limit`) go after those
             * already found, which are newer */
            cJSON *item;
            int at = cJSON_GetArraySize(msgs);
            while ((item = cJSON_DetachItemFromArray(part, cJSON_GetArraySize(part) - 1)))
                cJSON_InsertItemInArray(msgs, at++, item) || (cJSON_Delete(item), 0);
            cJSON_Delete(part);
            if (rc)
                goto unlock;
            upper = start;
        }
        if (cJSON_GetArraySize(msgs) >= b->limit) {
            cJSON *last = cJSON_GetArrayItem(msgs, cJSON_GetArraySize(msgs) - 1);
            cJSON *off = cJSON_GetObjectItemCaseSensitive(last, "offset");
            next = (int64_t)off->valuedouble > low ? (int64_t)off->valuedouble : -1;
        } else {
            next = upper > low ? upper : -1;
        }
    }
    cJSON_AddStringToObject(root, "topic", c->cfg.topics[b->topic]);
    cJSON_AddNumberToObject(root, "partition", b->partition);
    cJSON_AddNumberToObject(root, "low", (double)low);
    cJSON_AddNumberToObject(root, "high", (double)high);
    cJSON_AddStringToObject(root, "order", b->newest ? "newest" : "oldest");
    cJSON_AddNumberToObject(root, "scanned", (double)col.scanned);
    cJSON_AddNumberToObject(root, "next", (double)next);
    cJSON_AddItemToObject(root, "messages", msgs);
    msgs = NULL;
    rc = SAGA_OK;
    goto unlock;
nomem:
    snprintf(err, errlen, "out of memory");
    rc = SAGA_ERR_NOMEM;
unlock:
    pthread_mutex_unlock(&c->kafka_lock);
out:
    free(m);
    cJSON_Delete(msgs);
    if (rc)
        cJSON_Delete(root);
    else
        *out = root;
    return rc;
}
