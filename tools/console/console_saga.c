/* console_saga.c - one order's saga across the services: every message about it on
 * the five topics in causal order, beside its state in each service's database. */
#include "console.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "saga/err.h"

#define SINCE_MARGIN_MS 5000 /* read from this long before the order's creation (clocks) */

static const char *str_of(const cJSON *o, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static double num_of(const cJSON *o, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
    return cJSON_IsNumber(v) ? v->valuedouble : 0;
}

/* The service that wrote m: an event's source ("/order-service" -> "order"), a dead
 * letter's saga-service (the service that gave up on it). */
static void writer_of(const cJSON *m, char *out, size_t len)
{
    const char *kind = str_of(m, "kind"), *s;
    const cJSON *ev = cJSON_GetObjectItemCaseSensitive(m, "event");
    if (kind && !strcmp(kind, "dead-letter"))
        s = str_of(m, "service");
    else
        s = str_of(ev, "source");
    if (!s) {
        snprintf(out, len, "?");
        return;
    }
    if (*s == '/')
        s++;
    snprintf(out, len, "%s", s);
    size_t n = strlen(out);
    if (n > 8 && !strcmp(out + n - 8, "-service"))
        out[n - 8] = '\0';
}

/* Orders col->msgs causally into a new array *out, each message with "writer",
 * "depth" and "causeIndex". */
static int order_messages(cJSON *msgs, cJSON **out)
{
    int n = cJSON_GetArraySize(msgs);
    console_causal_node *nodes = calloc((size_t)n + 1, sizeof(*nodes));
    cJSON **items = calloc((size_t)n + 1, sizeof(*items));
    size_t *order = calloc((size_t)n + 1, sizeof(*order));
    char(*ids)[48] = calloc((size_t)n + 1, sizeof(*ids));
    cJSON *sorted = cJSON_CreateArray();
    int rc = SAGA_ERR_NOMEM;

    *out = NULL;
    if (!nodes || !items || !order || !ids || !sorted)
        goto out;
    for (int i = 0; i < n; i++) {
        cJSON *m = items[i] = cJSON_GetArrayItem(msgs, i);
        const cJSON *ev = cJSON_GetObjectItemCaseSensitive(m, "event");
        const char *kind = str_of(m, "kind");
        int64_t t = console_time_parse_ms(str_of(ev, "time"));
        if (kind && !strcmp(kind, "dead-letter")) {
            /* a dead letter follows the event it holds */
            snprintf(ids[i], sizeof(ids[i]), "dlq:%d:%lld", (int)num_of(m, "partition"),
                     (long long)num_of(m, "offset"));
            nodes[i].id = ids[i];
            nodes[i].cause = str_of(m, "eventId");
            t = (int64_t)num_of(m, "timestamp");
        } else {
            nodes[i].id = str_of(ev, "id");
            nodes[i].cause = str_of(ev, "causationid");
            if (t < 0)
                t = (int64_t)num_of(m, "timestamp");
        }
        nodes[i].timestamp = t;
        nodes[i].tiebreak = ((int64_t)num_of(m, "topicIndex") << 40) + (int64_t)num_of(m, "offset");
    }
    if ((rc = console_causal_order(nodes, (size_t)n, order)))
        goto out;
    rc = SAGA_ERR_NOMEM;
    for (int k = 0; k < n; k++) {
        size_t i = order[k];
        char writer[64];
        cJSON *m = cJSON_Duplicate(items[i], true);
        if (!m || !cJSON_AddItemToArray(sorted, m)) {
            cJSON_Delete(m);
            goto out;
        }
        writer_of(m, writer, sizeof(writer));
        cJSON_DeleteItemFromObjectCaseSensitive(m, "topicIndex");
        if (!cJSON_AddStringToObject(m, "writer", writer) ||
            !cJSON_AddNumberToObject(m, "depth", nodes[i].depth) ||
            !cJSON_AddNumberToObject(m, "causeIndex", nodes[i].cause_index) ||
            !cJSON_AddNumberToObject(m, "sortTime", (double)nodes[i].timestamp))
            goto out;
    }
    *out = sorted;
    sorted = NULL;
    rc = SAGA_OK;
out:
    cJSON_Delete(sorted);
    free(nodes);
    free(items);
    free(order);
    free(ids);
    return rc;
}

/* True when nothing more is expected: the order is CONFIRMED or CANCELLED and no
 * notification of it is PENDING. */
static bool settled(const cJSON *state)
{
    const cJSON *o = cJSON_GetObjectItemCaseSensitive(state, "order");
    const char *status = str_of(o, "status");
    const cJSON *ns = cJSON_GetObjectItemCaseSensitive(state, "notifications"), *n;
    if (!status || (strcmp(status, "CONFIRMED") != 0 && strcmp(status, "CANCELLED") != 0))
        return false;
    cJSON_ArrayForEach(n, ns)
    {
        const char *st = str_of(n, "status");
        if (st && !strcmp(st, "PENDING"))
            return false;
    }
    return true;
}

int console_saga_json(console *c, const char *order_id, cJSON **out, char *err, size_t errlen)
{
    cJSON *msgs = NULL, *state = NULL, *root = NULL, *events = NULL, *dls;
    int64_t created = -1, since;
    bool partial = false, capped = false;
    int rc;

    *out = NULL;
    if (console_db_state(c, order_id, &state, &created))
        goto nomem;
    since = created >= 0 ? created - SINCE_MARGIN_MS : -1;
    if ((rc = console_key_scan(c, order_id, since, &msgs, &partial, &capped, err, errlen)))
        goto out;
    if (order_messages(msgs, &events))
        goto nomem;
    if (!(root = cJSON_CreateObject()) || !cJSON_AddStringToObject(root, "orderId", order_id) ||
        !cJSON_AddBoolToObject(root, "settled", settled(state)) ||
        !cJSON_AddBoolToObject(root, "partial", partial || capped) ||
        !cJSON_AddNumberToObject(root, "scannedSince", (double)since) ||
        !(dls = cJSON_AddArrayToObject(root, "deadLetters")))
        goto nomem;
    cJSON *m;
    cJSON_ArrayForEach(m, events)
    {
        const char *kind = str_of(m, "kind");
        if (kind && !strcmp(kind, "dead-letter")) {
            cJSON *copy = cJSON_Duplicate(m, true);
            if (!copy || !cJSON_AddItemToArray(dls, copy)) {
                cJSON_Delete(copy);
                goto nomem;
            }
        }
    }
    cJSON_AddItemToObject(root, "state", state);
    state = NULL;
    cJSON_AddItemToObject(root, "events", events);
    events = NULL;
    rc = SAGA_OK;
    goto out;
nomem:
    snprintf(err, errlen, "out of memory");
    rc = SAGA_ERR_NOMEM;
out:
    cJSON_Delete(msgs);
    cJSON_Delete(state);
    cJSON_Delete(events);
    if (rc)
        cJSON_Delete(root);
    else
        *out = root;
    return rc;
}
