/* console_dlq.c - the dead letters: the newest entries, and a replay through the path
 * sagactl uses (tools/shared/dlq_replay.h). See console.h. */
#include "console.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dlq_entry.h"
#include "dlq_reader.h"
#include "dlq_replay.h"
#include "saga/err.h"
#include "saga/log.h"

static bool add_str(cJSON *o, const char *name, const char *s)
{
    return s ? cJSON_AddStringToObject(o, name, s) != NULL : cJSON_AddNullToObject(o, name) != NULL;
}

static bool add_num(cJSON *o, const char *name, long long v)
{
    return v >= 0 ? cJSON_AddNumberToObject(o, name, (double)v) != NULL
                  : cJSON_AddNullToObject(o, name) != NULL;
}

cJSON *console_dlq_entry_json(const rd_kafka_message_t *rkm)
{
    dlq_entry e = {0};
    cJSON *o = NULL, *orig;

    if (dlq_entry_fill(&e, rkm) != SAGA_OK || !(o = console_message_json(rkm)))
        goto fail;
    if (!add_str(o, "service", e.service) || !add_str(o, "reason", e.reason) ||
        !add_str(o, "message", e.message) || !add_str(o, "consumerGroup", e.consumer_group) ||
        !add_num(o, "attempts", e.attempts) || !add_str(o, "eventType", e.event_type) ||
        !add_str(o, "eventId", e.event_id) || !add_str(o, "orderId", e.order_id) ||
        !cJSON_AddBoolToObject(o, "payloadCut", e.truncated) ||
        !(orig = cJSON_AddObjectToObject(o, "original")) || !add_str(orig, "topic", e.orig_topic) ||
        !add_num(orig, "partition", e.orig_partition) || !add_num(orig, "offset", e.orig_offset) ||
        !add_num(orig, "timestamp", e.orig_timestamp))
        goto fail;
    dlq_entry_free(&e);
    return o;
fail:
    dlq_entry_free(&e);
    cJSON_Delete(o);
    return NULL;
}

typedef struct dlq_collect {
    cJSON *entries;
    bool oom;
} dlq_collect;

static void dlq_one(const rd_kafka_message_t *rkm, void *ud)
{
    dlq_collect *col = ud;
    cJSON *e;
    if (col->oom)
        return;
    if (!(e = console_dlq_entry_json(rkm)) || !cJSON_AddItemToArray(col->entries, e)) {
        cJSON_Delete(e);
        col->oom = true;
    }
}

static double num_of(const cJSON *o, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
    return cJSON_IsNumber(v) ? v->valuedouble : 0;
}

/* Newest first: by time, then by position. */
static int entry_newer(const void *a, const void *b)
{
    const cJSON *x = *(const cJSON *const *)a, *y = *(const cJSON *const *)b;
    double tx = num_of(x, "timestamp"), ty = num_of(y, "timestamp");
    if (tx != ty)
        return tx > ty ? -1 : 1;
    double px = num_of(x, "partition"), py = num_of(y, "partition");
    if (px != py)
        return px < py ? -1 : 1;
    double ox = num_of(x, "offset"), oy = num_of(y, "offset");
    return ox > oy ? -1 : ox < oy;
}

int console_dlq_json(console *c, int limit, cJSON **out, char *err, size_t errlen)
{
    console_marks *m = calloc(1, sizeof(*m));
    int64_t *start = calloc(CONSOLE_MAX_PARTITIONS, sizeof(*start));
    dlq_collect col = {.entries = cJSON_CreateArray()};
    cJSON *root = cJSON_CreateObject(), **items = NULL, *sorted = NULL;
    double total = 0;
    rd_kafka_t *rk;
    int rc = SAGA_ERR_NOMEM;

    *out = NULL;
    if (limit > c->cfg.dlq_max)
        limit = (int)c->cfg.dlq_max;
    if (!m || !start || !col.entries || !root) {
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    pthread_mutex_lock(&c->kafka_lock);
    if (!(rk = console_reader(c, err, errlen)))
        rc = SAGA_ERR_UNAVAILABLE;
    else if (!(rc = console_marks_read(c, rk, CONSOLE_NTOPICS - 1, m, err, errlen))) {
        for (int p = 0; p < m->npart; p++) {
            start[p] = m->high[p] - limit > m->low[p] ? m->high[p] - limit : m->low[p];
            total += (double)(m->high[p] - m->low[p]);
        }
        rc = dlq_reader_read(rk, c->cfg.topics[CONSOLE_NTOPICS - 1], m->npart, start, m->high,
                             c->cfg.timeout_ms, dlq_one, &col, err, errlen);
    }
    pthread_mutex_unlock(&c->kafka_lock);
    if (rc)
        goto out;
    if (col.oom) {
        snprintf(err, errlen, "out of memory");
        rc = SAGA_ERR_NOMEM;
        goto out;
    }
    /* the newest `limit` of all partitions */
    int n = cJSON_GetArraySize(col.entries);
    rc = SAGA_ERR_NOMEM;
    if (n > 0 && !(items = malloc((size_t)n * sizeof(*items))))
        goto out;
    for (int i = 0; i < n; i++)
        items[i] = cJSON_DetachItemFromArray(col.entries, 0);
    if (n > 0)
        qsort(items, (size_t)n, sizeof(*items), entry_newer);
    if (!(sorted = cJSON_AddArrayToObject(root, "entries")))
        goto free_items;
    for (int i = 0; i < n; i++) {
        if (i < limit && cJSON_AddItemToArray(sorted, items[i]))
            items[i] = NULL;
        cJSON_Delete(items[i]);
        items[i] = NULL;
    }
    cJSON_AddNumberToObject(root, "total", total);
    cJSON_AddStringToObject(root, "topic", c->cfg.topics[CONSOLE_NTOPICS - 1]);
    rc = SAGA_OK;
free_items:
    for (int i = 0; rc && i < n; i++)
        cJSON_Delete(items[i]);
out:
    free(items);
    free(m);
    free(start);
    cJSON_Delete(col.entries);
    if (rc)
        cJSON_Delete(root);
    else
        *out = root;
    return rc;
}

/* The one message at partition:offset of the dead-letter topic. */
typedef struct one_state {
    dlq_entry e;
    int64_t offset;
    bool found;
    int rc;
} one_state;

static void take_one(const rd_kafka_message_t *rkm, void *ud)
{
    one_state *st = ud;
    if (st->found || rkm->offset != st->offset)
        return;
    st->found = true;
    st->rc = dlq_entry_fill(&st->e, rkm);
}

static bool picked_always(const dlq_entry *e, void *ud)
{
    (void)e;
    (void)ud;
    return true; /* named by its position, like sagactl dlq replay --offset */
}

int console_dlq_replay(console *c, int32_t partition, int64_t offset, cJSON **out, char *err,
                       size_t errlen)
{
    const char *topic = c->cfg.topics[CONSOLE_NTOPICS - 1];
    console_marks *m = calloc(1, sizeof(*m));
    int64_t *start = calloc(CONSOLE_MAX_PARTITIONS, sizeof(*start));
    int64_t *end = calloc(CONSOLE_MAX_PARTITIONS, sizeof(*end));
    one_state st = {.offset = offset};
    dlq_replay_item item = {0};
    dlq_replay_opts ro = {.bootstrap = c->cfg.bootstrap,
                          .dlq_topic = topic,
                          .client_id = "saga-console",
                          .timeout_ms = c->cfg.timeout_ms};
    cJSON *root = NULL, *to;
    char from[320];
    rd_kafka_t *rk;
    int rc = SAGA_ERR_NOMEM;

    *out = NULL;
    if (!m || !start || !end) {
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    pthread_mutex_lock(&c->kafka_lock);
    if (!(rk = console_reader(c, err, errlen)))
        rc = SAGA_ERR_UNAVAILABLE;
    else if (!(rc = console_marks_read(c, rk, CONSOLE_NTOPICS - 1, m, err, errlen))) {
        if (partition < 0 || partition >= m->npart || offset < m->low[partition] ||
            offset >= m->high[partition]) {
            snprintf(err, errlen, "no dead letter at %s partition %d offset %lld", topic,
                     (int)partition, (long long)offset);
            rc = SAGA_ERR_NOT_FOUND;
        } else {
            start[partition] = offset;
            end[partition] = offset + 1;
            rc = dlq_reader_read(rk, topic, partition + 1, start, end, c->cfg.timeout_ms, take_one,
                                 &st, err, errlen);
        }
    }
    pthread_mutex_unlock(&c->kafka_lock);
    if (rc)
        goto out;
    if (st.rc) {
        snprintf(err, errlen, "out of memory");
        rc = st.rc;
        goto out;
    }
    if (!st.found) {
        snprintf(err, errlen, "no dead letter at %s partition %d offset %lld", topic,
                 (int)partition, (long long)offset);
        rc = SAGA_ERR_NOT_FOUND;
        goto out;
    }
    item.e = &st.e;
    dlq_replay_plan(&item, 1, picked_always, NULL);
    if (item.state == DLQ_REPLAY_REFUSED) {
        snprintf(err, errlen, "cannot replay %s: %s",
                 dlq_replay_where(&ro, &st.e, from, sizeof(from)), item.why);
        rc = SAGA_ERR_CONFLICT;
        goto out;
    }
    if ((rc = dlq_replay_send(&ro, &item, 1, err, errlen)))
        goto out;
    dlq_replay_where(&ro, &st.e, from, sizeof(from));
    if (item.state != DLQ_REPLAY_DELIVERED) {
        snprintf(err, errlen, "cannot replay %s: %s", from, item.why);
        rc = SAGA_ERR_UNAVAILABLE;
        goto out;
    }
    LOG_INFO("console.replayed", "replayed %s -> %s/%d/%lld", from, st.e.orig_topic,
             (int)item.new_partition, (long long)item.new_offset);
    rc = SAGA_ERR_NOMEM;
    if (!(root = cJSON_CreateObject()) || !cJSON_AddBoolToObject(root, "replayed", true) ||
        !cJSON_AddStringToObject(root, "from", from) ||
        !(to = cJSON_AddObjectToObject(root, "to")) ||
        !cJSON_AddStringToObject(to, "topic", st.e.orig_topic) ||
        !cJSON_AddNumberToObject(to, "partition", item.new_partition) ||
        !cJSON_AddNumberToObject(to, "offset", (double)item.new_offset)) {
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    rc = SAGA_OK;
out:
    dlq_entry_free(&st.e);
    free(m);
    free(start);
    free(end);
    if (rc)
        cJSON_Delete(root);
    else
        *out = root;
    return rc;
}
