/* audit_dlq.c - invariant 7: every dead_letters row of each service is a message on
 * saga-dlq and every saga-dlq message is a dead_letters row of the service named in
 * its saga-service header; and every outbox has drained.
 *
 * A dead letter is named by its service and its source message: topic, partition,
 * offset and the message's timestamp (dead_letters.src_timestamp, the header
 * kafka_dlt-original-timestamp), since a topic's offsets can start again at 0 (an
 * in-memory broker restarted, a topic re-created) and a new message at an old position
 * is another dead letter. A row whose timestamp is not known (-1: recorded before it
 * was stored) stands for any message at its position that no row names exactly.
 *
 * The topic's end offsets are taken before the databases are read (audit_dlq_begin):
 * a message below them was published after its row committed, so the row is in the
 * snapshots taken later, and a message without a row there is a violation. Newer
 * messages only account for rows. A row whose message is not out yet is still in
 * its service's outbox (legal only with --allow-in-flight).
 *
 * An in-memory broker (the local stack's) starts empty: with SAGA_AUDIT_DLQ_SINCE, the
 * time it started, a row recorded before then, missing from the topic and not in an
 * outbox, was published to the broker that was stopped (or never, which the evidence
 * lost with it cannot tell apart): it is counted and noted as lost with the broker,
 * not reported as a violation. Rows recorded after are judged as always. */
#include "audit_check.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <librdkafka/rdkafka.h>

#include "dlq_reader.h"
#include "saga/err.h"

#define HDR_SERVICE "saga-service"
#define HDR_TOPIC "kafka_dlt-original-topic"
#define HDR_PARTITION "kafka_dlt-original-partition"
#define HDR_OFFSET "kafka_dlt-original-offset"
#define HDR_TIMESTAMP "kafka_dlt-original-timestamp"
/* src_timestamp of a row whose source timestamp is not known */
#define TS_UNKNOWN (-1)

/* One dead_letters row. */
typedef struct dead_letter {
    audit_svc svc;
    const char *src_topic;
    long long src_partition;
    long long src_offset;
    long long src_timestamp; /* TS_UNKNOWN: not known */
    const char *reason;
    bool before_since;  /* recorded before SAGA_AUDIT_DLQ_SINCE (the broker's start) */
    long long on_topic; /* how many saga-dlq messages name it */
    bool in_outbox;     /* its message still waits in the service's outbox */
} dead_letter;

typedef struct dlq_state {
    audit_ctx *ctx;
    audit_svc svc;   /* the service being read */
    audit_map *rows; /* key() -> dead_letter */
    size_t nrows;
    long long lost_with_broker; /* rows recorded before the broker started, not on it */
} dlq_state;

static void key_make(char *buf, size_t len, const char *svc, const char *topic, long long partition,
                     long long offset, long long timestamp)
{
    snprintf(buf, len, "%s\x1f%s\x1f%lld\x1f%lld\x1f%lld", svc, topic, partition, offset,
             timestamp);
}

static bool parse_ll(const char *s, long long *out)
{
    char *end = NULL;
    if (!s || !*s)
        return false;
    *out = strtoll(s, &end, 10);
    return end && *end == '\0';
}

/* The row of the dead letter a message names: the one with its timestamp, else the
 * one at its position whose timestamp is not known; NULL if none. */
static dead_letter *row_find(const dlq_state *st, const char *svc, const char *topic,
                             long long partition, long long offset, long long timestamp)
{
    char key[600];
    dead_letter *d;

    key_make(key, sizeof(key), svc, topic, partition, offset, timestamp);
    if ((d = audit_map_get(st->rows, key)) || timestamp == TS_UNKNOWN)
        return d;
    key_make(key, sizeof(key), svc, topic, partition, offset, TS_UNKNOWN);
    return audit_map_get(st->rows, key);
}

/* A kafka_dlt-original-timestamp value; TS_UNKNOWN when absent or not a number. */
static long long timestamp_of(const char *text)
{
    long long ts;
    return parse_ll(text, &ts) ? ts : TS_UNKNOWN;
}

static int svc_lookup(const char *name, audit_svc *out)
{
    for (int s = 0; s < AUDIT_NSVC; s++) {
        if (name && !strcmp(name, audit_svc_name((audit_svc)s))) {
            *out = (audit_svc)s;
            return 0;
        }
    }
    return -1;
}

/* ---- before the snapshots ---- */

int audit_dlq_begin(audit_ctx *ctx)
{
    const audit_opts *o = ctx->opts;
    rd_kafka_t *rk = NULL;
    int rc;

    ctx->dlq_npart = -1;
    if (!o->kafka_bootstrap[0]) {
        audit_note(ctx->r,
                   "%s not read (SAGA_KAFKA_BOOTSTRAP is not set): inv7 checks the "
                   "dead_letters rows and outboxes only",
                   o->dlq_topic);
        return SAGA_OK;
    }
    if (!(rk = dlq_reader_new(o->kafka_bootstrap, "saga-audit", ctx->err, sizeof(ctx->err))))
        return SAGA_ERR_UNAVAILABLE;
    ctx->dlq_rk = rk; /* freed by audit_dlq_end */
    rc = dlq_reader_watermarks(rk, o->dlq_topic, (int)o->kafka_timeout_ms, AUDIT_MAX_DLQ_PARTITIONS,
                               &ctx->dlq_npart, ctx->dlq_low, ctx->dlq_high, ctx->err,
                               sizeof(ctx->err));
    if (rc == SAGA_ERR_NOT_FOUND) {
        audit_note(ctx->r, "topic %s does not exist", o->dlq_topic);
        ctx->err[0] = '\0';
        ctx->dlq_npart = 0;
        return SAGA_OK;
    }
    if (rc)
        return SAGA_ERR_UNAVAILABLE;
    for (int p = 0; p < ctx->dlq_npart; p++) {
        if (ctx->dlq_low[p] > 0)
            audit_note(ctx->r,
                       "%s [%d] starts at offset %lld: older messages were deleted by "
                       "retention, so dead letters missing from it may be among them",
                       o->dlq_topic, p, (long long)ctx->dlq_low[p]);
    }
    return SAGA_OK;
}

void audit_dlq_end(audit_ctx *ctx)
{
    rd_kafka_t *rk = ctx->dlq_rk;
    ctx->dlq_rk = NULL;
    dlq_reader_free(rk);
}

/* ---- the databases ---- */

static int dead_letter_row(const saga_row *row, void *ud)
{
    dlq_state *st = ud;
    audit_ctx *ctx = st->ctx;
    char key[600];
    const char *topic = saga_row_str(row, 0);
    dead_letter *d;
    void **slot;

    audit_count_add(ctx->r, AUDIT_C_DEAD_LETTERS, 1);
    key_make(key, sizeof(key), audit_svc_name(st->svc), topic ? topic : "", saga_row_i64(row, 1),
             saga_row_i64(row, 2), saga_row_i64(row, 5));
    if (!(slot = audit_map_slot(st->rows, key)) ||
        (!*slot && !(*slot = audit_arena_alloc(ctx->arena, sizeof(dead_letter))))) {
        snprintf(ctx->err, sizeof(ctx->err), "out of memory reading dead_letters");
        return SAGA_ERR_NOMEM;
    }
    d = *slot;
    d->svc = st->svc;
    d->src_topic = audit_dup(ctx, topic ? topic : "");
    d->src_partition = saga_row_i64(row, 1);
    d->src_offset = saga_row_i64(row, 2);
    d->src_timestamp = saga_row_i64(row, 5);
    d->reason = audit_dup(ctx, saga_row_str(row, 3) ? saga_row_str(row, 3) : "");
    d->before_since = saga_row_i64(row, 4) == 1;
    if (!d->src_topic || !d->reason)
        return SAGA_ERR_NOMEM;
    st->nrows++;
    return 0;
}

/* A saga-dlq row still in the outbox: its headers name the dead letter. */
static int outbox_dlq_row(const saga_row *row, void *ud)
{
    dlq_state *st = ud;
    cJSON *h = NULL;
    const char *text = saga_row_str(row, 0);
    long long partition, offset;

    if (!text || !(h = cJSON_ParseWithLength(text, saga_row_len(row, 0))))
        return 0;
    const char *svc = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(h, HDR_SERVICE));
    const char *topic = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(h, HDR_TOPIC));
    const char *ptext = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(h, HDR_PARTITION));
    const char *otext = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(h, HDR_OFFSET));
    const char *ttext = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(h, HDR_TIMESTAMP));
    if (topic && parse_ll(ptext, &partition) && parse_ll(otext, &offset)) {
        dead_letter *d = row_find(st, svc ? svc : audit_svc_name(st->svc), topic, partition, offset,
                                  timestamp_of(ttext));
        if (d)
            d->in_outbox = true;
    }
    cJSON_Delete(h);
    return 0;
}

static int outbox_count_row(const saga_row *row, void *ud)
{
    dlq_state *st = ud;
    long long n = saga_row_i64(row, 0);
    if (n > 0 && !st->ctx->opts->allow_in_flight)
        audit_violation(st->ctx->r, AUDIT_INV7, "service", audit_svc_name(st->svc), NULL, NULL,
                        "outbox holds %lld unpublished rows after drain (oldest id %s, "
                        "created %s)",
                        n, saga_row_str(row, 1) ? saga_row_str(row, 1) : "?",
                        saga_row_str(row, 2) ? saga_row_str(row, 2) : "?");
    return 0;
}

/* ---- the topic ---- */

static bool header_get(rd_kafka_headers_t *hdrs, const char *name, char *buf, size_t len)
{
    const void *val = NULL;
    size_t size = 0;
    if (!hdrs || rd_kafka_header_get_last(hdrs, name, &val, &size) != RD_KAFKA_RESP_ERR_NO_ERROR ||
        !val || size >= len)
        return false;
    memcpy(buf, val, size);
    buf[size] = '\0';
    return true;
}

/* One saga-dlq message. judge: it was on the topic before the snapshots were taken,
 * so its row must be in them; a newer message only accounts for rows. */
static void dlq_message(dlq_state *st, const rd_kafka_message_t *rkm, bool judge)
{
    audit_ctx *ctx = st->ctx;
    rd_kafka_headers_t *hdrs = NULL;
    char svc[64], topic[256], ptext[32], otext[32], ttext[32], where[64];
    long long partition, offset, timestamp;
    audit_svc s;

    if (judge)
        audit_count_add(ctx->r, AUDIT_C_DLQ_MESSAGES, 1);
    snprintf(where, sizeof(where), "%d/%lld", (int)rkm->partition, (long long)rkm->offset);
    rd_kafka_message_headers(rkm, &hdrs);
    if (!header_get(hdrs, HDR_SERVICE, svc, sizeof(svc)) ||
        !header_get(hdrs, HDR_TOPIC, topic, sizeof(topic)) ||
        !header_get(hdrs, HDR_PARTITION, ptext, sizeof(ptext)) ||
        !header_get(hdrs, HDR_OFFSET, otext, sizeof(otext)) || !parse_ll(ptext, &partition) ||
        !parse_ll(otext, &offset)) {
        if (!judge)
            return;
        audit_violation(ctx->r, AUDIT_INV7, "dlq", where, NULL, NULL,
                        "%s message without the %s and kafka_dlt-original-topic/-partition/"
                        "-offset headers",
                        ctx->opts->dlq_topic, HDR_SERVICE);
        return;
    }
    timestamp = timestamp_of(header_get(hdrs, HDR_TIMESTAMP, ttext, sizeof(ttext)) ? ttext : NULL);
    if (svc_lookup(svc, &s) != 0) {
        if (!judge)
            return;
        audit_violation(ctx->r, AUDIT_INV7, "dlq", where, NULL, NULL,
                        "%s message from unknown service '%s' (source %s/%lld/%lld)",
                        ctx->opts->dlq_topic, svc, topic, partition, offset);
        return;
    }
    dead_letter *d = row_find(st, svc, topic, partition, offset, timestamp);
    if (d) {
        d->on_topic++;
        return;
    }
    if (!judge)
        return;
    char src[320];
    snprintf(src, sizeof(src), "%s/%lld/%lld", topic, partition, offset);
    audit_violation(ctx->r, AUDIT_INV7, "service", svc, "src", src,
                    "%s message %s (source timestamp %lld) has no dead_letters row in %s",
                    ctx->opts->dlq_topic, where, timestamp, ctx->opts->db[s].mysql_database);
}

/* dlq_reader_fn: one message, judged if it was on the topic before the snapshots. */
static void dlq_read_one(const rd_kafka_message_t *rkm, void *ud)
{
    dlq_state *st = ud;
    dlq_message(st, rkm, rkm->offset < st->ctx->dlq_high[rkm->partition]);
}

/* Reads the topic from each partition's start to its end now. Messages below the
 * end offsets taken before the snapshots are judged; newer ones (published between
 * those offsets and the snapshots, on a live system) only account for rows. */
static int dlq_read(dlq_state *st)
{
    audit_ctx *ctx = st->ctx;
    const audit_opts *o = ctx->opts;
    int64_t *low = NULL, *end = NULL;
    int npart = 0, rc;
    char err[512];

    if (ctx->dlq_npart <= 0)
        return SAGA_OK;
    low = calloc(AUDIT_MAX_DLQ_PARTITIONS, sizeof(*low));
    end = calloc(AUDIT_MAX_DLQ_PARTITIONS, sizeof(*end));
    if (!low || !end) {
        snprintf(ctx->err, sizeof(ctx->err), "out of memory");
        rc = SAGA_ERR_NOMEM;
        goto out;
    }
    /* the ends now; where they cannot be read, the ends taken before the snapshots */
    if (dlq_reader_watermarks(ctx->dlq_rk, o->dlq_topic, (int)o->kafka_timeout_ms,
                              AUDIT_MAX_DLQ_PARTITIONS, &npart, low, end, err, sizeof(err)))
        npart = 0;
    for (int p = 0; p < ctx->dlq_npart; p++) {
        if (p >= npart || end[p] < ctx->dlq_high[p])
            end[p] = ctx->dlq_high[p];
    }
    rc = dlq_reader_read(ctx->dlq_rk, o->dlq_topic, ctx->dlq_npart, ctx->dlq_low, end,
                         o->kafka_timeout_ms, dlq_read_one, st, ctx->err, sizeof(ctx->err));
    if (rc == SAGA_ERR_UNAVAILABLE && ctx->err[0])
        snprintf(ctx->err + strlen(ctx->err), sizeof(ctx->err) - strlen(ctx->err),
                 "; raise SAGA_AUDIT_KAFKA_TIMEOUT_MS");
out:
    free(low);
    free(end);
    return rc;
}

/* ---- the verdict per dead letter ---- */

static int dead_letter_verdict(const char *key, void *val, void *ud)
{
    dlq_state *st = ud;
    audit_ctx *ctx = st->ctx;
    dead_letter *d = val;
    char src[320];
    (void)key;

    if (d->on_topic > 0)
        return 0;
    if (d->in_outbox && ctx->opts->allow_in_flight)
        return 0;
    if (ctx->dlq_npart < 0 && !d->in_outbox)
        return 0; /* topic not read: nothing to compare with */
    if (d->before_since && !d->in_outbox) {
        st->lost_with_broker++; /* published to the broker that was stopped */
        return 0;
    }
    snprintf(src, sizeof(src), "%s/%lld/%lld", d->src_topic, d->src_partition, d->src_offset);
    audit_violation(ctx->r, AUDIT_INV7, "service", audit_svc_name(d->svc), "src", src,
                    "dead letter (%s, source timestamp %lld) is not on %s%s", d->reason,
                    d->src_timestamp, ctx->opts->dlq_topic,
                    d->in_outbox ? " (its message is still in the outbox)" : "");
    return 0;
}

static int count_dups(const char *key, void *val, void *ud)
{
    (void)key;
    const dead_letter *d = val;
    if (d->on_topic > 1)
        (*(long long *)ud)++;
    return 0;
}

int audit_dlq_check(audit_ctx *ctx)
{
    dlq_state st = {.ctx = ctx};
    saga_param topic[] = {SAGA_P_STR(ctx->opts->dlq_topic)};
    /* created_at is UTC (every connection's time_zone is +00:00); no since: never before */
    saga_param since[] = {ctx->opts->dlq_since[0] ? SAGA_P_STR(ctx->opts->dlq_since)
                                                  : SAGA_P_NULL};
    long long dups = 0;
    int rc = SAGA_OK;

    if (!(st.rows = audit_map_new(ctx->arena))) {
        snprintf(ctx->err, sizeof(ctx->err), "out of memory");
        return SAGA_ERR_NOMEM;
    }
    for (int s = 0; s < AUDIT_NSVC; s++) {
        st.svc = (audit_svc)s;
        if ((rc = audit_query(ctx, st.svc,
                              "SELECT src_topic, src_partition, src_offset, reason,"
                              " COALESCE(created_at < ?, 0), src_timestamp FROM dead_letters",
                              since, 1, dead_letter_row, &st)) ||
            (rc = audit_query(ctx, st.svc,
                              "SELECT COUNT(*), MIN(id), CAST(MIN(created_at) AS CHAR)"
                              " FROM outbox",
                              NULL, 0, outbox_count_row, &st)) ||
            (rc = audit_query(ctx, st.svc, "SELECT headers FROM outbox WHERE topic = ?", topic, 1,
                              outbox_dlq_row, &st)))
            goto out;
    }
    if (ctx->dlq_npart >= 0 && (rc = dlq_read(&st)))
        goto out;
    audit_map_each(st.rows, dead_letter_verdict, &st);
    audit_map_each(st.rows, count_dups, &dups);
    if (st.lost_with_broker)
        audit_note(ctx->r,
                   "%lld dead letters recorded before %s UTC, when the broker holding %s "
                   "started empty (SAGA_AUDIT_DLQ_SINCE), are not on it: lost with the "
                   "in-memory broker's topics at its restart, not checked (their rows stay "
                   "in dead_letters; their payloads are gone, so they cannot be replayed)",
                   st.lost_with_broker, ctx->opts->dlq_since, ctx->opts->dlq_topic);
    if (dups)
        audit_note(ctx->r,
                   "%lld dead letters are on %s more than once (an outbox relay retried after "
                   "a crash; harmless)",
                   dups, ctx->opts->dlq_topic);
out:
    audit_map_free(st.rows);
    return rc;
}
