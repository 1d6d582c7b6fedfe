/* sagactl_replay.c - `sagactl dlq replay`: re-publishes the selected dead letters
 * through the replay path saga-console shares (tools/shared/dlq_replay.h, which says
 * what a replay sends) and reports each one. */
#include "sagactl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dlq_replay.h"
#include "saga/err.h"

/* Reports --event-id and --offset values that selected nothing. Returns how many. */
static size_t report_unmatched(const sagactl_opts *o, const dlq_list *l)
{
    size_t missing = 0;
    char id[300];
    const char *narrowed = o->service || o->reason ? " (with the --service/--reason given)" : "";

    for (size_t i = 0; i < o->nevent_ids; i++) {
        bool found = false;
        for (size_t k = 0; k < l->n && !found; k++)
            found = l->items[k].event_id && !strcmp(l->items[k].event_id, o->event_ids[i]);
        if (!found) {
            fprintf(stderr, "sagactl: no dead letter on %s has event id %s%s\n", o->topic,
                    sagactl_safe(o->event_ids[i], id, sizeof(id)), narrowed);
            missing++;
        }
    }
    for (size_t i = 0; i < o->npositions; i++) {
        bool found = false;
        for (size_t k = 0; k < l->n && !found; k++)
            found = l->items[k].partition == o->positions[i].partition &&
                    l->items[k].offset == o->positions[i].offset;
        if (!found) {
            fprintf(stderr, "sagactl: no dead letter at %s partition %d offset %lld%s\n", o->topic,
                    (int)o->positions[i].partition, (long long)o->positions[i].offset, narrowed);
            missing++;
        }
    }
    return missing;
}

/* True if --offset names e's position on saga-dlq. */
static bool picked_by_offset(const dlq_entry *e, void *ud)
{
    const sagactl_opts *o = ud;
    for (size_t i = 0; i < o->npositions; i++) {
        if (o->positions[i].partition == e->partition && o->positions[i].offset == e->offset)
            return true;
    }
    return false;
}

static dlq_replay_opts replay_opts(const sagactl_opts *o)
{
    return (dlq_replay_opts){.bootstrap = o->bootstrap,
                             .dlq_topic = o->topic,
                             .client_id = "sagactl",
                             .timeout_ms = o->timeout_ms};
}

/* What was replayed, for the report: "InventoryReserved event <id> order <id>", or
 * "(not a valid event; key <key>)". */
static const char *what(const dlq_entry *e, char *buf, size_t len)
{
    char a[128], b[300], c[300], *key = NULL;

    if (e->event_id) {
        snprintf(buf, len, "%s event %s order %s", sagactl_safe(e->event_type, a, sizeof(a)),
                 sagactl_safe(e->event_id, b, sizeof(b)), sagactl_safe(e->order_id, c, sizeof(c)));
        return buf;
    }
    if (e->key && (key = malloc(e->key_len + 1))) {
        memcpy(key, e->key, e->key_len);
        key[e->key_len] = '\0';
    }
    snprintf(buf, len, "(not a valid event; key %s)", sagactl_safe(key, c, sizeof(c)));
    free(key);
    return buf;
}

/* One line per item (stdout; failures on stderr) and the summary (stdout). Returns
 * the number of items that failed or were refused. */
static size_t items_report(const sagactl_opts *o, const dlq_replay_item *items, size_t n)
{
    const dlq_replay_opts ro = replay_opts(o);
    size_t done = 0, skipped = 0, failed = 0;
    char w[320], w2[320], desc[800], topic[300];

    for (size_t i = 0; i < n; i++) {
        const dlq_replay_item *it = &items[i];
        const dlq_entry *e = it->e;
        dlq_replay_where(&ro, e, w, sizeof(w));
        what(e, desc, sizeof(desc));
        sagactl_safe(e->orig_topic, topic, sizeof(topic));
        switch (it->state) {
        case DLQ_REPLAY_SKIPPED:
            skipped++;
            if (it->same_as)
                printf("skipped %s: the same event as %s\n", w,
                       dlq_replay_where(&ro, it->same_as->e, w2, sizeof(w2)));
            else
                printf("skipped %s: not a valid event; to replay it anyway: --offset %d:%lld\n", w,
                       (int)e->partition, (long long)e->offset);
            break;
        case DLQ_REPLAY_PENDING: /* dry run */
            done++;
            if (e->orig_partition >= 0)
                printf("would replay %s -> %s/%d %s\n", w, topic, (int)e->orig_partition, desc);
            else
                printf("would replay %s -> %s %s\n", w, topic, desc);
            break;
        case DLQ_REPLAY_DELIVERED:
            done++;
            printf("replayed %s -> %s/%d/%lld %s\n", w, topic, (int)it->new_partition,
                   (long long)it->new_offset, desc);
            break;
        default:
            failed++;
            fprintf(stderr, "sagactl: cannot replay %s: %s\n", w, it->why);
            break;
        }
    }
    printf("%s %zu of %zu selected dead letters (%zu skipped, %zu failed)\n",
           o->dry_run ? "would replay" : "replayed", done, n, skipped, failed);
    return failed;
}

int sagactl_dlq_replay(const sagactl_opts *o)
{
    const dlq_replay_opts ro = replay_opts(o);
    dlq_list l;
    dlq_replay_item *items = NULL;
    char err[768] = "";
    size_t missing, failed;
    int status = SAGACTL_EXIT_FAILED;

    if (dlq_list_read(o, &l, err, sizeof(err))) {
        fprintf(stderr, "sagactl: %s\n", err);
        return SAGACTL_EXIT_FAILED;
    }
    if (l.topic_missing)
        fprintf(stderr, "sagactl: topic %s does not exist: no dead letters yet\n", o->topic);
    missing = report_unmatched(o, &l);
    if (l.n == 0) {
        printf("nothing to replay: no dead letters selected\n");
        status = missing ? SAGACTL_EXIT_FAILED : SAGACTL_EXIT_OK;
        goto out;
    }
    if (!(items = calloc(l.n, sizeof(*items)))) {
        fprintf(stderr, "sagactl: out of memory\n");
        goto out;
    }
    for (size_t i = 0; i < l.n; i++)
        items[i].e = &l.items[i];
    dlq_replay_sort(items, l.n);
    dlq_replay_plan(items, l.n, picked_by_offset, (void *)o);
    if (!o->dry_run && dlq_replay_send(&ro, items, l.n, err, sizeof(err))) {
        fprintf(stderr, "sagactl: %s\n", err);
        goto out;
    }
    failed = items_report(o, items, l.n);
    status = failed || missing ? SAGACTL_EXIT_FAILED : SAGACTL_EXIT_OK;
out:
    free(items);
    dlq_list_free(&l);
    return status;
}
