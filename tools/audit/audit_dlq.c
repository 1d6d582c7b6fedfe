/* audit_dlq.c - invariant 7: every dead_letters row of each service is a message on
 * saga-dlq and every saga-dlq message is a dead_letters row of the service named in
 * its saga-service header; and every outbox has drained.
 *
 * The topic's end offsets are taken before the databases are read (audit_dlq_begin):
 * a message below them was published after its row committed, so the row is in the
 * snapshots taken later, and a message without a row there is a violation. Newer
 * messages only account for rows. A row whose message is not out yet is still in
 * its service's outbox (legal only with --allow-in-flight). */
#include "audit_check.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>
#include <librdkafka/rdkafka.h>

#include "saga/err.h"

#define HDR_SERVICE "saga-service"
#define HDR_TOPIC "kafka_dlt-original-topic"
#define HDR_PARTITION "kafka_dlt-original-partition"
#define HDR_OFFSET "kafka_dlt-original-offset"

/* One dead_letters row. */
typedef struct dead_letter {
    audit_svc svc;
    const char *src_topic;
    long long src_partition;
    long long src_offset;
    const char *reason;
    long long on_topic; /* how many saga-dlq messages name it */
    bool in_outbox;     /* its message still waits in the service's outbox */
} dead_letter;

typedef struct dlq_state {
    audit_ctx *ctx;
    audit_svc svc;   /* the service being read */
    audit_map *rows; /* key() -> dead_letter */
    size_t nrows;
} dlq_state;

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void key_make(char *buf, size_t len, const char *svc, const char *topic, long long partition,
                     long long offset)
{
    snprintf(buf, len, "%s\x1f%s\x1f%lld\x1f%lld", svc, topic, partition, offset);
}

static bool parse_ll(const char *s, long long *out)
{
    char *end = NULL;
    if (!s || !*s)
        return false;
    *out = strtoll(s, &end, 10);
    return end && *end == '\0';
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
    rd_kafka_conf_t *conf = NULL;
    rd_kafka_t *rk = NULL;
    rd_kafka_topic_t *rkt = NULL;
    const rd_kafka_metadata_t *md = NULL;
    char errstr[512], group[64];
    int timeout = (int)o->kafka_timeout_ms;
    int rc = SAGA_ERR_UNAVAILABLE;

    ctx->dlq_npart = -1;
    if (!o->kafka_bootstrap[0]) {
        audit_note(ctx->r,
                   "%s not read (SAGA_KAFKA_BOOTSTRAP is not set): inv7 checks the "
                   "dead_letters rows and outboxes only",
                   o->dlq_topic);
        return SAGA_OK;
    }
    snprintf(group, sizeof(group), "saga-audit-%ld", (long)time(NULL));
    conf = rd_kafka_conf_new();
    if (rd_kafka_conf_set(conf, "bootstrap.servers", o->kafka_bootstrap, errstr, sizeof(errstr)) !=
            RD_KAFKA_CONF_OK ||
        rd_kafka_conf_set(conf, "group.id", group, errstr, sizeof(errstr)) ||
        rd_kafka_conf_set(conf, "enable.auto.commit", "false", errstr, sizeof(errstr)) ||
        rd_kafka_conf_set(conf, "enable.auto.offset.store", "false", errstr, sizeof(errstr)) ||
        rd_kafka_conf_set(conf, "enable.partition.eof", "true", errstr, sizeof(errstr)) ||
        rd_kafka_conf_set(conf, "auto.offset.reset", "earliest", errstr, sizeof(errstr)) ||
        rd_kafka_conf_set(conf, "allow.auto.create.topics", "false", errstr, sizeof(errstr)) ||
        rd_kafka_conf_set(conf, "fetch.wait.max.ms", "10", errstr, sizeof(errstr)) ||
        rd_kafka_conf_set(conf, "log_level", "3", errstr, sizeof(errstr))) {
        snprintf(ctx->err, sizeof(ctx->err), "kafka configuration: %s", errstr);
        goto out;
    }
    if (!(rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof(errstr)))) {
        snprintf(ctx->err, sizeof(ctx->err), "kafka client: %s", errstr);
        goto out;
    }
    conf = NULL; /* now owned by rk */
    rd_kafka_poll_set_consumer(rk);
    ctx->dlq_rk = rk;

    if (!(rkt = rd_kafka_topic_new(rk, o->dlq_topic, NULL))) {
        snprintf(ctx->err, sizeof(ctx->err), "kafka topic %s: %s", o->dlq_topic,
                 rd_kafka_err2str(rd_kafka_last_error()));
        goto out;
    }
    rd_kafka_resp_err_t err = rd_kafka_metadata(rk, 0, rkt, &md, timeout);
    if (err) {
        snprintf(ctx->err, sizeof(ctx->err),
                 "cannot read the metadata of %s from kafka at %.300s: %s", o->dlq_topic,
                 o->kafka_bootstrap, rd_kafka_err2str(err));
        goto out;
    }
    if (md->topic_cnt < 1 || md->topics[0].err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART) {
        audit_note(ctx->r, "topic %s does not exist", o->dlq_topic);
        ctx->dlq_npart = 0;
        rc = SAGA_OK;
        goto out;
    }
    if (md->topics[0].err) {
        snprintf(ctx->err, sizeof(ctx->err), "kafka metadata of %s: %s", o->dlq_topic,
                 rd_kafka_err2str(md->topics[0].err));
        goto out;
    }
    if (md->topics[0].partition_cnt > AUDIT_MAX_DLQ_PARTITIONS) {
        snprintf(ctx->err, sizeof(ctx->err), "%s has %d partitions, more than the %d supported",
                 o->dlq_topic, md->topics[0].partition_cnt, AUDIT_MAX_DLQ_PARTITIONS);
        goto out;
    }
    for (int i = 0; i < md->topics[0].partition_cnt; i++) {
        int32_t p = md->topics[0].partitions[i].id;
        int64_t low = 0, high = 0;
        if (p < 0 || p >= AUDIT_MAX_DLQ_PARTITIONS)
            continue;
        err = rd_kafka_query_watermark_offsets(rk, o->dlq_topic, p, &low, &high, timeout);
        if (err) {
            snprintf(ctx->err, sizeof(ctx->err),
                     "cannot read the offsets of %s [%d] from %.300s: %s", o->dlq_topic, (int)p,
                     o->kafka_bootstrap, rd_kafka_err2str(err));
            goto out;
        }
        if (p >= ctx->dlq_npart)
            ctx->dlq_npart = p + 1;
        ctx->dlq_low[p] = low;
        ctx->dlq_high[p] = high;
        if (low > 0)
            audit_note(ctx->r,
                       "%s [%d] starts at offset %lld: older messages were deleted by "
                       "retention, so dead letters missing from it may be among them",
                       o->dlq_topic, (int)p, (long long)low);
    }
    rc = SAGA_OK;
out:
    if (md)
        rd_kafka_metadata_destroy(md);
    if (rkt)
        rd_kafka_topic_destroy(rkt);
    if (conf)
        rd_kafka_conf_destroy(conf);
    return rc;
}

void audit_dlq_end(audit_ctx *ctx)
{
    rd_kafka_t *rk = ctx->dlq_rk;
    if (!rk)
        return;
    ctx->dlq_rk = NULL;
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
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
             saga_row_i64(row, 2));
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
    d->reason = audit_dup(ctx, saga_row_str(row, 3) ? saga_row_str(row, 3) : "");
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
    char key[600];

    if (!text || !(h = cJSON_ParseWithLength(text, saga_row_len(row, 0))))
        return 0;
    const char *svc = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(h, HDR_SERVICE));
    const char *topic = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(h, HDR_TOPIC));
    const char *ptext = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(h, HDR_PARTITION));
    const char *otext = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(h, HDR_OFFSET));
    if (topic && parse_ll(ptext, &partition) && parse_ll(otext, &offset)) {
        key_make(key, sizeof(key), svc ? svc : audit_svc_name(st->svc), topic, partition, offset);
        dead_letter *d = audit_map_get(st->rows, key);
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
    char svc[64], topic[256], ptext[32], otext[32], where[64], key[600];
    long long partition, offset;
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
    if (svc_lookup(svc, &s) != 0) {
        if (!judge)
            return;
        audit_violation(ctx->r, AUDIT_INV7, "dlq", where, NULL, NULL,
                        "%s message from unknown service '%s' (source %s/%lld/%lld)",
                        ctx->opts->dlq_topic, svc, topic, partition, offset);
        return;
    }
    key_make(key, sizeof(key), svc, topic, partition, offset);
    dead_letter *d = audit_map_get(st->rows, key);
    if (d) {
        d->on_topic++;
        return;
    }
    if (!judge)
        return;
    char src[320];
    snprintf(src, sizeof(src), "%s/%lld/%lld", topic, partition, offset);
    audit_violation(ctx->r, AUDIT_INV7, "service", svc, "src", src,
                    "%s message %s has no dead_letters row in %s", ctx->opts->dlq_topic, where,
                    ctx->opts->db[s].mysql_database);
}

/* Reads the topic from each partition's start to its end now. Messages below the
 * end offsets taken before the snapshots are judged; newer ones (published between
 * those offsets and the snapshots, on a live system) only account for rows. */
static int dlq_read(dlq_state *st)
{
    audit_ctx *ctx = st->ctx;
    rd_kafka_t *rk = ctx->dlq_rk;
    rd_kafka_topic_partition_list_t *parts = NULL;
    long long deadline = now_ms() + ctx->opts->kafka_timeout_ms;
    long long expected = 0, seen = 0;
    long long *end = NULL;
    bool *done = NULL;
    int remaining = 0, rc = SAGA_OK, timeout = (int)ctx->opts->kafka_timeout_ms;
    char last_err[256] = "no error";
    rd_kafka_resp_err_t err;

    if (ctx->dlq_npart <= 0)
        return SAGA_OK;
    end = calloc((size_t)ctx->dlq_npart, sizeof(*end));
    done = calloc((size_t)ctx->dlq_npart, sizeof(*done));
    parts = rd_kafka_topic_partition_list_new(ctx->dlq_npart);
    if (!end || !done) {
        snprintf(ctx->err, sizeof(ctx->err), "out of memory");
        rc = SAGA_ERR_NOMEM;
        goto out;
    }
    for (int p = 0; p < ctx->dlq_npart; p++) {
        int64_t low = 0, high = 0;
        err = rd_kafka_query_watermark_offsets(rk, ctx->opts->dlq_topic, p, &low, &high, timeout);
        end[p] = err ? ctx->dlq_high[p] : high;
        if (end[p] <= ctx->dlq_low[p]) {
            done[p] = true;
            continue;
        }
        rd_kafka_topic_partition_list_add(parts, ctx->opts->dlq_topic, p)->offset = ctx->dlq_low[p];
        expected += end[p] - ctx->dlq_low[p];
        remaining++;
    }
    if (remaining == 0)
        goto out;
    if ((err = rd_kafka_assign(rk, parts))) {
        snprintf(ctx->err, sizeof(ctx->err), "cannot assign %s: %s", ctx->opts->dlq_topic,
                 rd_kafka_err2str(err));
        rc = SAGA_ERR_UNAVAILABLE;
        goto out;
    }
    while (remaining > 0) {
        if (now_ms() > deadline) {
            snprintf(ctx->err, sizeof(ctx->err),
                     "%s: read %lld of about %lld messages in %ld ms (last error: %s); raise "
                     "SAGA_AUDIT_KAFKA_TIMEOUT_MS",
                     ctx->opts->dlq_topic, seen, expected, ctx->opts->kafka_timeout_ms, last_err);
            rc = SAGA_ERR_UNAVAILABLE;
            break;
        }
        rd_kafka_message_t *rkm = rd_kafka_consumer_poll(rk, 100);
        if (!rkm)
            continue;
        int p = rkm->partition;
        bool ours = p >= 0 && p < ctx->dlq_npart && !done[p];
        if (rkm->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            if (ours) {
                done[p] = true;
                remaining--;
            }
        } else if (rkm->err) {
            snprintf(last_err, sizeof(last_err), "%s", rd_kafka_message_errstr(rkm));
        } else if (ours) {
            seen++;
            dlq_message(st, rkm, rkm->offset < ctx->dlq_high[p]);
            if (rkm->offset + 1 >= end[p]) {
                done[p] = true;
                remaining--;
            }
        }
        rd_kafka_message_destroy(rkm);
    }
    rd_kafka_assign(rk, NULL);
out:
    rd_kafka_topic_partition_list_destroy(parts);
    free(end);
    free(done);
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
    snprintf(src, sizeof(src), "%s/%lld/%lld", d->src_topic, d->src_partition, d->src_offset);
    audit_violation(ctx->r, AUDIT_INV7, "service", audit_svc_name(d->svc), "src", src,
                    "dead letter (%s) is not on %s%s", d->reason, ctx->opts->dlq_topic,
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
    long long dups = 0;
    int rc = SAGA_OK;

    if (!(st.rows = audit_map_new(ctx->arena))) {
        snprintf(ctx->err, sizeof(ctx->err), "out of memory");
        return SAGA_ERR_NOMEM;
    }
    for (int s = 0; s < AUDIT_NSVC; s++) {
        st.svc = (audit_svc)s;
        if ((rc = audit_query(ctx, st.svc,
                              "SELECT src_topic, src_partition, src_offset, reason"
                              " FROM dead_letters",
                              NULL, 0, dead_letter_row, &st)) ||
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
    if (dups)
        audit_note(ctx->r,
                   "%lld dead letters are on %s more than once (an outbox relay retried after "
                   "a crash; harmless)",
                   dups, ctx->opts->dlq_topic);
out:
    audit_map_free(st.rows);
    return rc;
}
