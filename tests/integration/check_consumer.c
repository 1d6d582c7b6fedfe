/* check_consumer.c - the consumer loop against real MariaDB and the local
 * broker: a duplicate event is applied once; poison messages land in saga-dlq
 * with their headers while the messages after them are processed; a poison message
 * at the position of an earlier dead letter from another message (a topic whose
 * offsets started again) is dead-lettered, a redelivered one is not; offsets are not
 * committed while the DB transaction fails, and the batch is retried; a broker
 * outage is survived. */
#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "saga/consumer.h"
#include "saga/err.h"
#include "saga/metrics.h"
#include "saga/outbox.h"
#include "testenv.h"

#define TOPIC "order-events"

typedef struct test_ctx {
    char run[16];
    char flaky_customer[64];
    int flaky_calls;
    bool checked_during_failure;
    int64_t committed_during_failure;
    double lag_during_failure;
    int64_t flaky_offset;
    int32_t flaky_partition;
    rd_kafka_t *checker; /* same group as the consumer, never subscribes */
    saga_config cfg;
} test_ctx;

/* The committed offset of the consumer's group on one partition (-1001 if none). */
static int64_t committed_offset(rd_kafka_t *checker, int32_t partition)
{
    rd_kafka_topic_partition_list_t *list = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(list, TOPIC, partition);
    rd_kafka_resp_err_t kerr = rd_kafka_committed(checker, list, 5000);
    ck_assert_msg(kerr == 0, "committed(): %s", rd_kafka_err2str(kerr));
    int64_t offset = list->elems[0].offset;
    rd_kafka_topic_partition_list_destroy(list);
    return offset;
}

static int apply_order_created(saga_db *db, const saga_event *ev, saga_msg_meta *meta, void *ud)
{
    test_ctx *ctx = ud;
    const char *customer = cJSON_GetObjectItem(ev->data, "customerId")->valuestring;
    char always_fails[64], rejected[64];

    snprintf(always_fails, sizeof(always_fails), "always-fails-%s", ctx->run);
    snprintf(rejected, sizeof(rejected), "rejected-%s", ctx->run);
    if (strcmp(customer, always_fails) == 0) {
        snprintf(meta->err, meta->errlen, "the test handler always fails on %s", customer);
        return SAGA_ERR_INTERNAL;
    }
    if (strcmp(customer, rejected) == 0) {
        snprintf(meta->err, meta->errlen, "the test handler rejects %s", customer);
        return SAGA_ERR_INVALID;
    }
    saga_param p[] = {SAGA_P_STR(ev->id), SAGA_P_STR(ev->subject)};
    int rc = saga_db_exec(db,
                          "INSERT INTO applied (event_id, order_id, n) VALUES (?, ?, 1)"
                          " ON DUPLICATE KEY UPDATE n = n + 1",
                          p, 2, NULL, NULL);
    if (rc)
        return rc;
    if (strcmp(customer, ctx->flaky_customer) == 0 && ctx->flaky_calls < 2) {
        ctx->flaky_calls++;
        ctx->flaky_offset = meta->offset;
        ctx->flaky_partition = meta->partition;
        if (ctx->flaky_calls == 2) {
            /* the batch failed once already: its offset must not be committed */
            ctx->committed_during_failure = committed_offset(ctx->checker, meta->partition);
            ctx->checked_during_failure = true;
            /* and /metrics shows the consumer behind by at least this message */
            size_t len = 0;
            char *text = saga_metrics_render(&len);
            const char *total = strstr(text, "\nsaga_consumer_total_lag ");
            ctx->lag_during_failure = total ? atof(total + strlen("\nsaga_consumer_total_lag ")) : -1;
            free(text);
        }
        /* a real lost connection, in the middle of the batch's transaction */
        return saga_db_exec(db, "KILL CONNECTION_ID()", NULL, 0, NULL, NULL);
    }
    return SAGA_OK;
}

static const saga_handler handlers[] = {
    {.event_type = "OrderCreated", .fn = apply_order_created}};
static const char *const topics[] = {TOPIC};

/* A valid OrderCreated for this run. Caller frees with cJSON_free. */
static char *order_created(const char *run, const char *customer, char *id_out)
{
    char order_id[SAGA_UUID_LEN + 1]; /* order ids are UUIDs (the event schemas) */
    (void)run;
    cJSON *data = cJSON_CreateObject();
    saga_uuid_v4(order_id);
    cJSON_AddStringToObject(data, "orderId", order_id);
    cJSON_AddStringToObject(data, "customerId", customer);
    cJSON *items = cJSON_AddArrayToObject(data, "items");
    cJSON *item = cJSON_CreateObject();
    cJSON_AddStringToObject(item, "sku", "SKU-1");
    cJSON_AddNumberToObject(item, "quantity", 2);
    cJSON_AddItemToArray(items, item);
    cJSON_AddStringToObject(data, "currency", "EUR");
    cJSON_AddStringToObject(data, "deadline", "2030-01-01T00:00:00.000Z");
    saga_event *ev = saga_event_new("OrderCreated", "/test", order_id, order_id, NULL, data);
    char *text = saga_event_print(ev);
    if (id_out)
        strcpy(id_out, ev->id);
    saga_event_free(ev);
    return text;
}

typedef struct running {
    saga_consumer *consumer;
    saga_relay *relay;
    pthread_t thread;
} running;

static void *consumer_thread(void *arg)
{
    saga_consumer_run(arg);
    return NULL;
}

static void start(running *r, test_ctx *ctx, const saga_schema_registry *schemas)
{
    char err[512];
    r->relay = saga_relay_start(&ctx->cfg, err, sizeof(err));
    ck_assert_msg(r->relay != NULL, "%s", err);
    saga_consumer_opts opts = {
        .cfg = &ctx->cfg, .topics = topics, .ntopics = 1, .handlers = handlers,
        .nhandlers = 1, .ud = ctx, .schemas = schemas,
        .commit_hook = saga_relay_wake, .commit_hook_ud = r->relay,
    };
    r->consumer = saga_consumer_new(&opts, err, sizeof(err));
    ck_assert_msg(r->consumer != NULL, "%s", err);
    ck_assert_int_eq(pthread_create(&r->thread, NULL, consumer_thread, r->consumer), 0);
}

static void stop(running *r)
{
    saga_consumer_stop(r->consumer);
    pthread_join(r->thread, NULL);
    saga_consumer_free(r->consumer);
    saga_relay_stop(r->relay, 5000);
}

static saga_db *setup(test_ctx *ctx, const char *dbname)
{
    char err[512];
    testenv_run_id(ctx->run);
    testenv_config(&ctx->cfg, "test", dbname);
    snprintf(ctx->cfg.kafka_group, sizeof(ctx->cfg.kafka_group), "test-consumer-%s", ctx->run);
    snprintf(ctx->flaky_customer, sizeof(ctx->flaky_customer), "flaky-%s", ctx->run);
    saga_db *db = saga_db_open(&ctx->cfg, err, sizeof(err));
    ck_assert_msg(db != NULL, "%s", err);
    ck_assert_int_eq(saga_db_exec_script(db, "CREATE TABLE applied (event_id VARCHAR(64) PRIMARY"
                                             " KEY, order_id VARCHAR(64), n INT NOT NULL)"),
                     SAGA_OK);
    return db;
}

static long long applied_n(saga_db *db, const char *event_id)
{
    long long n = 0;
    saga_param p[] = {SAGA_P_STR(event_id)};
    saga_db_query_i64(db, "SELECT n FROM applied WHERE event_id = ?", p, 1, &n);
    return n;
}

static void wait_applied(saga_db *db, const char *event_id)
{
    for (int i = 0; i < 600 && applied_n(db, event_id) == 0; i++)
        testenv_sleep_ms(50);
    ck_assert_msg(applied_n(db, event_id) > 0, "event %s was never applied", event_id);
}

START_TEST(test_duplicate_applied_once)
{
    test_ctx ctx = {0};
    running r;
    char id1[40], id2[40];
    saga_schema_registry *schemas = testenv_schemas();
    saga_db *db = setup(&ctx, "consumer_dup");
    rd_kafka_t *producer = testenv_producer();

    start(&r, &ctx, schemas);
    char *e1 = order_created(ctx.run, "alice", id1);
    char *e2 = order_created(ctx.run, "bob", id2);
    testenv_produce(producer, TOPIC, ctx.run, e1, strlen(e1));
    testenv_produce(producer, TOPIC, ctx.run, e1, strlen(e1)); /* the same event again */
    testenv_produce(producer, TOPIC, ctx.run, e2, strlen(e2));
    wait_applied(db, id2); /* same key: e2 comes after both copies of e1 */
    ck_assert_int_eq(applied_n(db, id1), 1);
    ck_assert_int_eq(applied_n(db, id2), 1);

    /* and /metrics tells: applied by type, the duplicate skipped */
    size_t len = 0;
    char *text = saga_metrics_render(&len);
    const char *dup = strstr(text, "\nsaga_events_duplicate_total ");
    ck_assert_ptr_nonnull(dup);
    ck_assert_int_ge(atof(dup + strlen("\nsaga_events_duplicate_total ")), 1);
    const char *applied = strstr(text, "saga_events_consumed_total{type=\"OrderCreated\"} ");
    ck_assert_ptr_nonnull(applied);
    ck_assert_int_ge(atof(strchr(applied, ' ') + 1), 2);
    free(text);

    /* once everything is processed and committed, the consumer's lag is zero, and
     * it is reported per partition */
    double lag = -1;
    for (int i = 0; i < 100 && lag != 0; i++) {
        text = saga_metrics_render(&len);
        const char *total = strstr(text, "\nsaga_consumer_total_lag ");
        ck_assert_ptr_nonnull(total);
        lag = atof(total + strlen("\nsaga_consumer_total_lag "));
        ck_assert_ptr_nonnull(strstr(text, "saga_consumer_lag{topic=\"order-events\",partition=\""));
        free(text);
        if (lag != 0)
            testenv_sleep_ms(50);
    }
    ck_assert(lag == 0);

    stop(&r);
    cJSON_free(e1);
    cJSON_free(e2);
    rd_kafka_destroy(producer);
    saga_db_close(db);
    saga_schema_registry_free(schemas);
}
END_TEST

typedef struct dlq_seen {
    int count;
    char reasons[16][32];
    char payloads[16][1024];
    long long offsets[16], timestamps[16];
    char topic[16][64], group[16][96], service[16][32], attempts[16][8];
} dlq_seen;

static void record_dlq(const rd_kafka_message_t *rkm, void *ud)
{
    dlq_seen *d = ud;
    char buf[128];
    int i = d->count++;
    ck_assert_int_lt(i, 16);
    snprintf(d->reasons[i], 32, "%s",
             testenv_header(rkm, "kafka_dlt-exception-fqcn", buf, sizeof(buf)) ?: "");
    snprintf(d->topic[i], 64, "%s",
             testenv_header(rkm, "kafka_dlt-original-topic", buf, sizeof(buf)) ?: "");
    snprintf(d->group[i], 96, "%s",
             testenv_header(rkm, "kafka_dlt-original-consumer-group", buf, sizeof(buf)) ?: "");
    snprintf(d->service[i], 32, "%s", testenv_header(rkm, "saga-service", buf, sizeof(buf)) ?: "");
    snprintf(d->attempts[i], 8, "%s", testenv_header(rkm, "saga-attempts", buf, sizeof(buf)) ?: "");
    const char *off = testenv_header(rkm, "kafka_dlt-original-offset", buf, sizeof(buf));
    d->offsets[i] = off ? atoll(off) : -1;
    ck_assert_ptr_nonnull(testenv_header(rkm, "kafka_dlt-original-partition", buf, sizeof(buf)));
    const char *ts = testenv_header(rkm, "kafka_dlt-original-timestamp", buf, sizeof(buf));
    ck_assert_ptr_nonnull(ts);
    d->timestamps[i] = atoll(ts);
    ck_assert_ptr_nonnull(testenv_header(rkm, "kafka_dlt-exception-message", buf, sizeof(buf)));
    snprintf(d->payloads[i], sizeof(d->payloads[i]), "%.*s", (int)rkm->len,
             (const char *)rkm->payload);
}

static int find_reason(const dlq_seen *d, const char *reason)
{
    for (int i = 0; i < d->count; i++) {
        if (strcmp(d->reasons[i], reason) == 0)
            return i;
    }
    return -1;
}

START_TEST(test_poison_to_dlq_and_carry_on)
{
    test_ctx ctx = {0};
    running r;
    char id_first[40], id_last[40], always_fails[64], rejected[64];
    dlq_seen *dlq = calloc(1, sizeof(*dlq));
    saga_schema_registry *schemas = testenv_schemas();
    saga_db *db = setup(&ctx, "consumer_poison");
    rd_kafka_t *producer = testenv_producer();

    snprintf(always_fails, sizeof(always_fails), "always-fails-%s", ctx.run);
    snprintf(rejected, sizeof(rejected), "rejected-%s", ctx.run);
    char *first = order_created(ctx.run, "alice", id_first);
    char *bad_schema = order_created(ctx.run, "carol", NULL);
    char *p = strstr(bad_schema, "\"quantity\":2");
    ck_assert_ptr_nonnull(p);
    p[11] = '0'; /* quantity 0: fails the schema's minimum */
    char *unknown_type = order_created(ctx.run, "dave", NULL);
    char *unknown_version = order_created(ctx.run, "erin", NULL);
    char *t = strstr(unknown_type, "\"type\":\"OrderCreated\"");
    ck_assert_ptr_nonnull(t);
    memcpy(t + 8, "OrderDeleted", 12); /* no such type */
    char *v = strstr(unknown_version, "OrderCreated:1");
    ck_assert_ptr_nonnull(v);
    v[13] = '9'; /* urn:saga:schema:OrderCreated:9 */
    char *fails = order_created(ctx.run, always_fails, NULL);
    char *rejects = order_created(ctx.run, rejected, NULL);
    char *last = order_created(ctx.run, "frank", id_last);
    const char *not_json = "{\"specversion\": \"1.0\", oops";
    /* an unknown type that is not valid UTF-8: its dead letter's reason quotes it,
     * and once made the consumer retry forever (the outbox insert failed) */
    char binary_type[512];
    char binary_id[SAGA_UUID_LEN + 1];
    saga_uuid_v4(binary_id);
    snprintf(binary_type, sizeof(binary_type),
             "{\"specversion\":\"1.0\",\"id\":\"%s\",\"source\":\"/test\",\"type\":\"Bad\xff\xfe"
             "Type\",\"time\":\"2026-11-22T10:00:00.000Z\",\"subject\":\"%s-x\","
             "\"datacontenttype\":\"application/json\",\"dataschema\":\"urn:saga:schema:Bad:1\","
             "\"data\":{}}",
             binary_id, ctx.run);

    start(&r, &ctx, schemas);
    testenv_produce(producer, TOPIC, ctx.run, first, strlen(first));
    testenv_produce(producer, TOPIC, ctx.run, not_json, strlen(not_json));
    testenv_produce(producer, TOPIC, ctx.run, bad_schema, strlen(bad_schema));
    testenv_produce(producer, TOPIC, ctx.run, unknown_type, strlen(unknown_type));
    testenv_produce(producer, TOPIC, ctx.run, unknown_version, strlen(unknown_version));
    testenv_produce(producer, TOPIC, ctx.run, fails, strlen(fails));
    testenv_produce(producer, TOPIC, ctx.run, rejects, strlen(rejects));
    testenv_produce(producer, TOPIC, ctx.run, binary_type, strlen(binary_type));
    testenv_produce(producer, TOPIC, ctx.run, last, strlen(last));

    wait_applied(db, id_last); /* the loop carried on past every poison message */
    ck_assert_int_eq(applied_n(db, id_first), 1);
    /* (the group reads the topic from the start: other runs' poison counts too) */
    ck_assert_int_eq(
        testenv_wait_i64(db, "SELECT COUNT(*) >= 7 FROM dead_letters", 1, 10000), 1);
    ck_assert_int_eq(testenv_wait_i64(db, "SELECT COUNT(*) FROM outbox", 0, 10000), 0);

    rd_kafka_t *reader = testenv_reader("saga-dlq");
    testenv_read_key(reader, ctx.run, 7, 20000, record_dlq, dlq);
    ck_assert_int_eq(dlq->count, 7);
    /* the binary one, last of the poison: its reason is stored with '?' for the bad bytes */
    int binary_at = -1;
    for (int i = 0; i < dlq->count; i++) {
        if (strcmp(dlq->payloads[i], binary_type) == 0)
            binary_at = i;
    }
    ck_assert_int_ge(binary_at, 0);
    ck_assert_str_eq(dlq->reasons[binary_at], "UNKNOWN_TYPE");
    const char *reasons[] = {"INVALID_JSON",    "SCHEMA_VIOLATION", "UNKNOWN_TYPE",
                             "UNKNOWN_VERSION", "HANDLER_FAILED",   "HANDLER_REJECTED"};
    const char *payloads[] = {not_json, bad_schema, unknown_type, unknown_version, fails, rejects};
    for (int i = 0; i < 6; i++) {
        int at = find_reason(dlq, reasons[i]);
        ck_assert_msg(at >= 0, "no dead letter with reason %s", reasons[i]);
        ck_assert_str_eq(dlq->payloads[at], payloads[i]);
        ck_assert_str_eq(dlq->topic[at], TOPIC);
        ck_assert_str_eq(dlq->group[at], ctx.cfg.kafka_group);
        ck_assert_str_eq(dlq->service[at], "test");
        if (i > 0) /* in the order they were produced, same partition */
            ck_assert_int_gt(dlq->offsets[at], dlq->offsets[find_reason(dlq, reasons[i - 1])]);
    }
    ck_assert_str_eq(dlq->attempts[find_reason(dlq, "HANDLER_FAILED")], "3");

    stop(&r);
    rd_kafka_consumer_close(reader);
    rd_kafka_destroy(reader);
    cJSON_free(first);
    cJSON_free(bad_schema);
    cJSON_free(unknown_type);
    cJSON_free(unknown_version);
    cJSON_free(fails);
    cJSON_free(rejects);
    cJSON_free(last);
    rd_kafka_destroy(producer);
    saga_db_close(db);
    saga_schema_registry_free(schemas);
    free(dlq);
}
END_TEST

/* Where a message is, and its timestamp. */
typedef struct source_msg {
    int count;
    int32_t partition[4];
    int64_t offset[4], timestamp[4];
} source_msg;

static void record_source(const rd_kafka_message_t *rkm, void *ud)
{
    source_msg *src = ud;
    int i = src->count++;
    ck_assert_int_lt(i, 4);
    src->partition[i] = rkm->partition;
    src->offset[i] = rkm->offset;
    src->timestamp[i] = rd_kafka_message_timestamp(rkm, NULL);
}

static long long dead_letters_at(saga_db *db, int32_t partition, int64_t offset)
{
    long long n = -1;
    saga_param p[] = {SAGA_P_STR(TOPIC), SAGA_P_I64(partition), SAGA_P_I64(offset)};
    saga_db_query_i64(db,
                      "SELECT COUNT(*) FROM dead_letters WHERE src_topic = ? AND"
                      " src_partition = ? AND src_offset = ?",
                      p, 3, &n);
    return n;
}

/* A dead letter is unique per source message (topic, partition, offset, timestamp),
 * not per position: when a topic's offsets start again at 0 (the in-memory broker
 * restarted, a topic re-created) a new poison message can sit where an earlier dead
 * letter came from. Simulated here: a dead_letters row for the new message's position
 * with another timestamp, as the letter from before the restart left it. */
START_TEST(test_new_poison_at_an_old_position)
{
    test_ctx ctx = {0};
    running r;
    char id_last[40];
    source_msg *src = calloc(1, sizeof(*src));
    dlq_seen *dlq = calloc(1, sizeof(*dlq));
    saga_schema_registry *schemas = testenv_schemas();
    saga_db *db = setup(&ctx, "consumer_reused_position");
    rd_kafka_t *producer = testenv_producer();
    const char *poison_new = "{\"specversion\": \"1.0\", new poison";
    const char *poison_redelivered = "{\"specversion\": \"1.0\", redelivered poison";
    char *last = order_created(ctx.run, "frank", id_last);

    /* same key, same partition, in this order */
    testenv_produce(producer, TOPIC, ctx.run, poison_new, strlen(poison_new));
    testenv_produce(producer, TOPIC, ctx.run, poison_redelivered, strlen(poison_redelivered));
    rd_kafka_t *source = testenv_reader(TOPIC);
    ck_assert_int_eq(testenv_read_key(source, ctx.run, 2, 20000, record_source, src), 2);
    ck_assert_int_ne(src->timestamp[0], -1);
    ck_assert_int_ne(src->timestamp[1], -1);

    /* the first one's position was dead-lettered before, from another message (an
     * earlier timestamp); the second one itself was dead-lettered already (its row
     * committed, the offset commit lost: it is redelivered) */
    saga_param old[] = {SAGA_P_STR(TOPIC), SAGA_P_I64(src->partition[0]),
                        SAGA_P_I64(src->offset[0]), SAGA_P_I64(src->timestamp[0] - 60000)};
    ck_assert_int_eq(saga_db_exec(db,
                                  "INSERT INTO dead_letters (src_topic, src_partition,"
                                  " src_offset, src_timestamp, reason, message, attempts)"
                                  " VALUES (?,?,?,?,'INVALID_JSON','before the restart',1)",
                                  old, 4, NULL, NULL),
                     SAGA_OK);
    saga_param same[] = {SAGA_P_STR(TOPIC), SAGA_P_I64(src->partition[1]),
                         SAGA_P_I64(src->offset[1]), SAGA_P_I64(src->timestamp[1])};
    ck_assert_int_eq(saga_db_exec(db,
                                  "INSERT INTO dead_letters (src_topic, src_partition,"
                                  " src_offset, src_timestamp, reason, message, attempts)"
                                  " VALUES (?,?,?,?,'INVALID_JSON','dead-lettered already',1)",
                                  same, 4, NULL, NULL),
                     SAGA_OK);

    start(&r, &ctx, schemas);
    testenv_produce(producer, TOPIC, ctx.run, last, strlen(last));
    wait_applied(db, id_last); /* past both poison messages */
    ck_assert_int_eq(testenv_wait_i64(db, "SELECT COUNT(*) FROM outbox", 0, 10000), 0);

    /* the new message has its own row beside the old one, with its timestamp */
    ck_assert_int_eq(dead_letters_at(db, src->partition[0], src->offset[0]), 2);
    long long found = 0;
    saga_param mine[] = {SAGA_P_STR(TOPIC), SAGA_P_I64(src->partition[0]),
                         SAGA_P_I64(src->offset[0]), SAGA_P_I64(src->timestamp[0])};
    saga_db_query_i64(db,
                      "SELECT COUNT(*) FROM dead_letters WHERE src_topic = ? AND"
                      " src_partition = ? AND src_offset = ? AND src_timestamp = ?"
                      " AND reason = 'INVALID_JSON'",
                      mine, 4, &found);
    ck_assert_int_eq(found, 1);
    /* the redelivered one is not recorded twice */
    ck_assert_int_eq(dead_letters_at(db, src->partition[1], src->offset[1]), 1);

    /* on saga-dlq: the new message, once; not the redelivered one */
    rd_kafka_t *reader = testenv_reader("saga-dlq");
    testenv_read_key(reader, ctx.run, 1, 20000, record_dlq, dlq);
    ck_assert_int_eq(dlq->count, 1);
    ck_assert_str_eq(dlq->payloads[0], poison_new);
    ck_assert_int_eq(dlq->offsets[0], src->offset[0]);
    ck_assert_int_eq(dlq->timestamps[0], src->timestamp[0]);

    stop(&r);
    rd_kafka_consumer_close(reader);
    rd_kafka_destroy(reader);
    rd_kafka_consumer_close(source);
    rd_kafka_destroy(source);
    cJSON_free(last);
    rd_kafka_destroy(producer);
    saga_db_close(db);
    saga_schema_registry_free(schemas);
    free(dlq);
    free(src);
}
END_TEST

START_TEST(test_offsets_wait_for_db_commit)
{
    test_ctx ctx = {0};
    running r;
    char id_before[40], id_flaky[40];
    char why[256];
    saga_schema_registry *schemas = testenv_schemas();
    saga_db *db = setup(&ctx, "consumer_offsets");
    rd_kafka_t *producer = testenv_producer();

    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "bootstrap.servers", ctx.cfg.kafka_bootstrap, why, sizeof(why));
    rd_kafka_conf_set(conf, "group.id", ctx.cfg.kafka_group, why, sizeof(why));
    ctx.checker = rd_kafka_new(RD_KAFKA_CONSUMER, conf, why, sizeof(why));
    ck_assert_ptr_nonnull(ctx.checker);

    char *before = order_created(ctx.run, "alice", id_before);
    char *flaky = order_created(ctx.run, ctx.flaky_customer, id_flaky);
    start(&r, &ctx, schemas);
    testenv_produce(producer, TOPIC, ctx.run, before, strlen(before));
    wait_applied(db, id_before);
    testenv_produce(producer, TOPIC, ctx.run, flaky, strlen(flaky));
    wait_applied(db, id_flaky);

    ck_assert_int_eq(ctx.flaky_calls, 2);
    ck_assert(ctx.checked_during_failure);
    /* while the batch holding the flaky event kept failing, its offset stayed
     * uncommitted (the committed offset points at it, or before it) */
    ck_assert_int_le(ctx.committed_during_failure, ctx.flaky_offset);
    ck_assert_msg(ctx.lag_during_failure >= 1, "lag while failing: %g", ctx.lag_during_failure);
    /* the rolled-back attempts left nothing: applied once */
    ck_assert_int_eq(applied_n(db, id_flaky), 1);
    ck_assert_int_eq(applied_n(db, id_before), 1);
    long long inbox = 0;
    saga_param p[] = {SAGA_P_STR(id_flaky)}, id[] = {SAGA_P_UUID(id_flaky)};
    saga_db_query_i64(db, "SELECT COUNT(*) FROM inbox WHERE event_id = ?", id, 1, &inbox);
    ck_assert_int_eq(inbox, 1);
    /* and after the commit, the offset moves past it */
    int64_t committed = -1;
    for (int i = 0; i < 100; i++) {
        committed = committed_offset(ctx.checker, ctx.flaky_partition);
        if (committed == ctx.flaky_offset + 1)
            break;
        testenv_sleep_ms(50);
    }
    ck_assert_int_eq(committed, ctx.flaky_offset + 1);
    long long dead = -1;
    saga_db_query_i64(db, "SELECT COUNT(*) FROM dead_letters WHERE event_id = ?", p, 1, &dead);
    ck_assert_int_eq(dead, 0); /* transient failures never dead-letter */

    stop(&r);
    rd_kafka_destroy(ctx.checker);
    cJSON_free(before);
    cJSON_free(flaky);
    rd_kafka_destroy(producer);
    saga_db_close(db);
    saga_schema_registry_free(schemas);
}
END_TEST

START_TEST(test_consumer_survives_broker_outage)
{
    test_ctx ctx = {0};
    running r;
    char id1[40], id2[40];
    saga_schema_registry *schemas = testenv_schemas();
    saga_db *db = setup(&ctx, "consumer_outage");
    rd_kafka_t *producer = testenv_producer();

    start(&r, &ctx, schemas);
    char *e1 = order_created(ctx.run, "alice", id1);
    char *e2 = order_created(ctx.run, "bob", id2);
    testenv_produce(producer, TOPIC, ctx.run, e1, strlen(e1));
    wait_applied(db, id1);
    testenv_broker("all/down");
    testenv_sleep_ms(3000);
    testenv_broker("all/up");
    testenv_produce(producer, TOPIC, ctx.run, e2, strlen(e2));
    wait_applied(db, id2);
    testenv_sleep_ms(500);
    ck_assert_int_eq(applied_n(db, id1), 1);
    ck_assert_int_eq(applied_n(db, id2), 1);

    stop(&r);
    cJSON_free(e1);
    cJSON_free(e2);
    rd_kafka_destroy(producer);
    saga_db_close(db);
    saga_schema_registry_free(schemas);
}
END_TEST

static Suite *consumer_suite(void)
{
    Suite *s = suite_create("consumer");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_duplicate_applied_once);
    tcase_add_test(tc, test_poison_to_dlq_and_carry_on);
    tcase_add_test(tc, test_new_poison_at_an_old_position);
    tcase_add_test(tc, test_offsets_wait_for_db_commit);
    tcase_add_test(tc, test_consumer_survives_broker_outage);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(consumer_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
