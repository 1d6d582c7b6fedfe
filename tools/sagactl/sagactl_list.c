/* sagactl_list.c - `sagactl dlq list`: the dead letters as a table or a JSON array. */
#include "sagactl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "saga/envelope.h"
#include "saga/err.h"

#define NCOLS 10

static const char *const col_names[NCOLS] = {
    "TIME", "DLQ",      "SERVICE",  "REASON",   "SOURCE",
    "TYPE", "EVENT-ID", "ORDER-ID", "ATTEMPTS", "MESSAGE",
};

/* Oldest first; ties in saga-dlq order. */
static int entry_cmp_time(const void *a, const void *b)
{
    const dlq_entry *x = a, *y = b;
    if (x->timestamp != y->timestamp)
        return x->timestamp < y->timestamp ? -1 : 1;
    if (x->partition != y->partition)
        return x->partition < y->partition ? -1 : 1;
    return x->offset < y->offset ? -1 : x->offset > y->offset;
}

static void time_text(int64_t ms, char out[SAGA_TIME_LEN + 1])
{
    if (ms < 0)
        snprintf(out, SAGA_TIME_LEN + 1, "-");
    else
        saga_time_format_ms(ms, out);
}

/* The cells of one entry's row, each a safe string in its own buffer. */
typedef struct row {
    char cell[NCOLS][512];
} row;

static void row_fill(row *r, const dlq_entry *e)
{
    char tmp[400], t[SAGA_TIME_LEN + 1];

    time_text(e->timestamp, t);
    snprintf(r->cell[0], sizeof(r->cell[0]), "%s", t);
    snprintf(r->cell[1], sizeof(r->cell[1]), "%d:%lld", (int)e->partition, (long long)e->offset);
    sagactl_safe(e->service, r->cell[2], sizeof(r->cell[2]));
    sagactl_safe(e->reason, r->cell[3], sizeof(r->cell[3]));
    sagactl_safe(e->orig_topic, tmp, sizeof(tmp));
    if (e->orig_partition >= 0 && e->orig_offset >= 0)
        snprintf(r->cell[4], sizeof(r->cell[4]), "%s/%d/%lld", tmp, (int)e->orig_partition,
                 (long long)e->orig_offset);
    else
        snprintf(r->cell[4], sizeof(r->cell[4]), "%s/-/-", tmp);
    sagactl_safe(e->event_type, r->cell[5], sizeof(r->cell[5]));
    sagactl_safe(e->event_id, r->cell[6], sizeof(r->cell[6]));
    sagactl_safe(e->order_id, r->cell[7], sizeof(r->cell[7]));
    if (e->attempts >= 0)
        snprintf(r->cell[8], sizeof(r->cell[8]), "%ld", e->attempts);
    else
        snprintf(r->cell[8], sizeof(r->cell[8]), "-");
    sagactl_safe(e->message, r->cell[9], sizeof(r->cell[9]));
}

/* Display width of a UTF-8 string (code points; good enough for ids and names). */
static size_t width(const char *s)
{
    size_t w = 0;
    for (; *s; s++)
        w += ((unsigned char)*s & 0xC0) != 0x80;
    return w;
}

/* Two passes over the entries with one row buffer: the column widths, then the lines. */
static int print_table(const dlq_list *l)
{
    row r;
    size_t w[NCOLS];

    for (int c = 0; c < NCOLS; c++)
        w[c] = strlen(col_names[c]);
    for (size_t i = 0; i < l->n; i++) {
        row_fill(&r, &l->items[i]);
        for (int c = 0; c < NCOLS - 1; c++) {
            size_t cw = width(r.cell[c]);
            if (cw > w[c])
                w[c] = cw;
        }
    }
    for (int c = 0; c < NCOLS - 1; c++)
        printf("%-*s  ", (int)w[c], col_names[c]);
    printf("%s\n", col_names[NCOLS - 1]);
    for (size_t i = 0; i < l->n; i++) {
        row_fill(&r, &l->items[i]);
        for (int c = 0; c < NCOLS - 1; c++) {
            /* pad by display width: a cell may hold multi-byte characters */
            printf("%s%*s  ", r.cell[c], (int)(w[c] - width(r.cell[c])), "");
        }
        printf("%s\n", r.cell[NCOLS - 1]);
    }
    return SAGACTL_EXIT_OK;
}

/* s as a JSON string with invalid UTF-8 replaced, or null. */
static cJSON *json_str(const char *s)
{
    if (!s)
        return cJSON_CreateNull();
    size_t len = strlen(s) + 2;
    char *buf = malloc(len);
    cJSON *v;
    if (!buf)
        return NULL;
    if (!*s)
        buf[0] = '\0';
    else
        sagactl_safe(s, buf, len);
    v = cJSON_CreateString(buf);
    free(buf);
    return v;
}

static cJSON *json_int(long long v, bool known)
{
    return known ? cJSON_CreateNumber((double)v) : cJSON_CreateNull();
}

static cJSON *json_time(int64_t ms)
{
    char t[SAGA_TIME_LEN + 1];
    if (ms < 0)
        return cJSON_CreateNull();
    saga_time_format_ms(ms, t);
    return cJSON_CreateString(t);
}

/* Adds item to obj under name; false (item freed) on no memory. */
static bool add(cJSON *obj, const char *name, cJSON *item)
{
    if (!item)
        return false;
    if (!cJSON_AddItemToObject(obj, name, item)) {
        cJSON_Delete(item);
        return false;
    }
    return true;
}

static cJSON *entry_json(const sagactl_opts *o, const dlq_entry *e)
{
    cJSON *obj = cJSON_CreateObject(), *dlq = cJSON_CreateObject(), *src = cJSON_CreateObject();
    char *key = NULL;
    bool ok = obj && dlq && src;

    if (e->key && !(key = malloc(e->key_len + 1)))
        ok = false;
    if (key) {
        memcpy(key, e->key, e->key_len);
        key[e->key_len] = '\0';
    }
    ok = ok && add(dlq, "topic", json_str(o->topic)) &&
         add(dlq, "partition", json_int(e->partition, true)) &&
         add(dlq, "offset", json_int(e->offset, true)) && add(obj, "dlq", dlq);
    if (ok)
        dlq = NULL; /* now owned by obj */
    ok = ok && add(obj, "time", json_time(e->timestamp)) &&
         add(obj, "service", json_str(e->service)) && add(obj, "reason", json_str(e->reason)) &&
         add(src, "topic", json_str(e->orig_topic)) &&
         add(src, "partition", json_int(e->orig_partition, e->orig_partition >= 0)) &&
         add(src, "offset", json_int(e->orig_offset, e->orig_offset >= 0)) &&
         add(src, "time", json_time(e->orig_timestamp)) &&
         add(src, "consumerGroup", json_str(e->consumer_group)) && add(obj, "original", src);
    if (ok)
        src = NULL;
    ok = ok && add(obj, "key", json_str(key)) && add(obj, "eventType", json_str(e->event_type)) &&
         add(obj, "eventId", json_str(e->event_id)) && add(obj, "orderId", json_str(e->order_id)) &&
         add(obj, "validEnvelope", cJSON_CreateBool(e->event_id != NULL)) &&
         add(obj, "attempts", json_int(e->attempts, e->attempts >= 0)) &&
         add(obj, "message", json_str(e->message)) &&
         add(obj, "payloadTruncated", cJSON_CreateBool(e->truncated));
    free(key);
    cJSON_Delete(dlq);
    cJSON_Delete(src);
    if (!ok) {
        cJSON_Delete(obj);
        return NULL;
    }
    return obj;
}

/* A JSON array, one entry per line. */
static int print_json(const sagactl_opts *o, const dlq_list *l)
{
    int status = SAGACTL_EXIT_OK;

    printf("[");
    for (size_t i = 0; i < l->n; i++) {
        cJSON *item = entry_json(o, &l->items[i]);
        char *text = item ? cJSON_PrintUnformatted(item) : NULL;
        cJSON_Delete(item);
        if (!text) {
            fprintf(stderr, "sagactl: out of memory\n");
            status = SAGACTL_EXIT_FAILED;
            break;
        }
        printf("%s\n%s", i ? "," : "", text);
        cJSON_free(text);
    }
    printf("%s]\n", l->n ? "\n" : "");
    return status;
}

int sagactl_dlq_list(const sagactl_opts *o)
{
    dlq_list l;
    char err[768] = "";
    int status;

    if (dlq_list_read(o, &l, err, sizeof(err))) {
        fprintf(stderr, "sagactl: %s\n", err);
        return SAGACTL_EXIT_FAILED;
    }
    if (l.topic_missing)
        fprintf(stderr, "sagactl: topic %s does not exist: no dead letters yet\n", o->topic);
    if (l.n > 1)
        qsort(l.items, l.n, sizeof(*l.items), entry_cmp_time);
    status = o->json ? print_json(o, &l) : print_table(&l);
    if (!o->json && l.n == 0 && !l.topic_missing)
        fprintf(stderr, "sagactl: no dead letters%s\n",
                o->service || o->reason || o->nevent_ids || o->npositions ? " selected" : "");
    dlq_list_free(&l);
    return status;
}
