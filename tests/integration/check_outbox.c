/* check_outbox.c - the outbox relay against real MariaDB and the local broker:
 * rows reach Kafka in id order, each once; rows written as one batch keep the
 * order they were added in; a relay killed between produce and
 * delete republishes on restart and the inbox absorbs the duplicates; a broker
 * outage loses nothing. */
#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "saga/err.h"
#include "saga/inbox.h"
#include "saga/outbox.h"
#include "saga/write_batch.h"
#include "testenv.h"

/* Relay tests publish to a topic no consumer test reads. */
#define TOPIC "notification-events"

/* Adds n events seq 0..n-1 keyed by `key`, one transaction each (so ids are
 * assigned in seq order), and returns their event ids in ids (n * 37 bytes). */
static void add_events(saga_db *db, const char *key, int n, char (*ids)[SAGA_UUID_LEN + 1])
{
    for (int i = 0; i < n; i++) {
        cJSON *data = cJSON_CreateObject();
        cJSON_AddNumberToObject(data, "seq", i);
        saga_event *ev = saga_event_new("TestEvent", "/test", key, key, NULL, data);
        ck_assert_ptr_nonnull(ev);
        if (ids)
            memcpy(ids[i], ev->id, SAGA_UUID_LEN + 1);
        ck_assert_int_eq(saga_db_begin(db), SAGA_OK);
        ck_assert_int_eq(saga_outbox_add_event(db, TOPIC, ev, NULL), SAGA_OK);
        ck_assert_int_eq(saga_db_commit(db), SAGA_OK);
        saga_event_free(ev);
    }
}

/* Adds n events seq 0..n-1 keyed by `key` in db's open transaction. */
static void add_events_in_tx(saga_db *db, const char *key, int n)
{
    for (int i = 0; i < n; i++) {
        cJSON *data = cJSON_CreateObject();
        cJSON_AddNumberToObject(data, "seq", i);
        saga_event *ev = saga_event_new("TestEvent", "/test", key, key, NULL, data);
        ck_assert_ptr_nonnull(ev);
        ck_assert_int_eq(saga_outbox_add_event(db, TOPIC, ev, NULL), SAGA_OK);
        saga_event_free(ev);
    }
}

static long long count_rows(saga_db *db, const char *sql)
{
    long long v = -1;
    ck_assert_int_eq(saga_db_query_i64(db, sql, NULL, 0, &v), SAGA_OK);
    return v;
}

typedef struct seen_events {
    int count;
    int seqs[1000];
    char ids[1000][SAGA_UUID_LEN + 1];
} seen_events;

static void record_event(const rd_kafka_message_t *rkm, void *ud)
{
    seen_events *seen = ud;
    saga_event *ev = NULL;
    char err[256];
    ck_assert_int_eq(saga_event_parse(rkm->payload, rkm->len, &ev, err, sizeof(err)), SAGA_OK);
    ck_assert_int_lt(seen->count, 1000);
    seen->seqs[seen->count] = cJSON_GetObjectItem(ev->data, "seq")->valueint;
    memcpy(seen->ids[seen->count], ev->id, SAGA_UUID_LEN + 1);
    seen->count++;
    saga_event_free(ev);
}

static saga_db *open_db(const saga_config *cfg)
{
    char err[512];
    saga_db *db = saga_db_open(cfg, err, sizeof(err));
    ck_assert_msg(db != NULL, "%s", err);
    return db;
}

static saga_relay *start_relay(const saga_config *cfg)
{
    char err[512];
    saga_relay *relay = saga_relay_start(cfg, err, sizeof(err));
    ck_assert_msg(relay != NULL, "%s", err);
    return relay;
}

START_TEST(test_relay_in_order_once)
{
    saga_config cfg;
    char key[16];
    seen_events *seen = calloc(1, sizeof(*seen));
    const int n = 300;

    testenv_config(&cfg, "outbox", "outbox_order");
    testenv_run_id(key);
    saga_db *db = open_db(&cfg);
    add_events(db, key, n, NULL);

    saga_relay *relay = start_relay(&cfg);
    ck_assert_int_eq(testenv_wait_i64(db, "SELECT COUNT(*) FROM outbox", 0, 30000), 0);

    rd_kafka_t *reader = testenv_reader(TOPIC);
    /* to the end of every partition: a duplicate would be seen */
    testenv_read_key(reader, key, (size_t)n, 20000, record_event, seen);
    ck_assert_int_eq(seen->count, n);
    for (int i = 0; i < n; i++)
        ck_assert_int_eq(seen->seqs[i], i);

    rd_kafka_consumer_close(reader);
    rd_kafka_destroy(reader);
    saga_relay_stop(relay, 5000);
    saga_db_close(db);
    free(seen);
}
END_TEST

START_TEST(test_relay_killed_between_produce_and_delete)
{
    saga_config cfg;
    char key[16];
    seen_events *seen = calloc(1, sizeof(*seen));
    const int n = 50;
    int status = 0;

    testenv_config(&cfg, "outbox", "outbox_crash");
    testenv_run_id(key);
    saga_db *db = open_db(&cfg);
    add_events(db, key, n, NULL);
    saga_db_close(db);

    /* the child relays with the fault point armed: it is killed by SIGKILL after
     * the delivery reports, before deleting the rows */
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        setenv("SAGA_FAULT", "relay.after_produce", 1);
        char err[512];
        saga_relay *relay = saga_relay_start(&cfg, err, sizeof(err));
        if (!relay)
            _exit(3);
        sleep(30);
        _exit(4); /* the fault point never fired */
    }
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert_msg(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL,
                  "the relay was not killed at the fault point (status %d)", status);

    db = open_db(&cfg);
    long long left = -1;
    saga_db_query_i64(db, "SELECT COUNT(*) FROM outbox", NULL, 0, &left);
    ck_assert_int_eq(left, n); /* published, but not deleted */

    saga_relay *relay = start_relay(&cfg);
    ck_assert_int_eq(testenv_wait_i64(db, "SELECT COUNT(*) FROM outbox", 0, 30000), 0);
    saga_relay_stop(relay, 5000);

    /* on the wire: every event twice, in order within each publication */
    rd_kafka_t *reader = testenv_reader(TOPIC);
    testenv_read_key(reader, key, (size_t)2 * n, 20000, record_event, seen);
    ck_assert_int_eq(seen->count, 2 * n);
    for (int i = 0; i < n; i++) {
        ck_assert_int_eq(seen->seqs[i], i);
        ck_assert_int_eq(seen->seqs[n + i], i);
        ck_assert_str_eq(seen->ids[i], seen->ids[n + i]);
    }

    /* the inbox absorbs the duplicates: each event id is applied once */
    int applied = 0, skipped = 0;
    ck_assert_int_eq(saga_db_begin(db), SAGA_OK);
    for (int i = 0; i < seen->count; i++) {
        int rc = saga_inbox_claim(db, seen->ids[i], "TestEvent");
        if (rc == SAGA_OK)
            applied++;
        else if (rc == SAGA_ERR_DUPLICATE)
            skipped++;
    }
    ck_assert_int_eq(saga_db_commit(db), SAGA_OK);
    ck_assert_int_eq(applied, n);
    ck_assert_int_eq(skipped, n);

    rd_kafka_consumer_close(reader);
    rd_kafka_destroy(reader);
    saga_db_close(db);
    free(seen);
}
END_TEST

START_TEST(test_relay_survives_broker_outage)
{
    saga_config cfg;
    char key[16];
    seen_events *seen = calloc(1, sizeof(*seen));
    const int n = 100;

    testenv_config(&cfg, "outbox", "outbox_outage");
    testenv_run_id(key);
    saga_db *db = open_db(&cfg);
    saga_relay *relay = start_relay(&cfg);

    testenv_broker("all/down");
    add_events(db, key, n, NULL);
    testenv_sleep_ms(3000);
    long long left = -1;
    saga_db_query_i64(db, "SELECT COUNT(*) FROM outbox", NULL, 0, &left);
    ck_assert_int_eq(left, n); /* nothing deleted while undeliverable */
    testenv_broker("all/up");

    ck_assert_int_eq(testenv_wait_i64(db, "SELECT COUNT(*) FROM outbox", 0, 60000), 0);
    rd_kafka_t *reader = testenv_reader(TOPIC);
    testenv_read_key(reader, key, (size_t)n, 20000, record_event, seen);
    ck_assert_int_eq(seen->count, n);
    for (int i = 0; i < n; i++)
        ck_assert_int_eq(seen->seqs[i], i);

    rd_kafka_consumer_close(reader);
    rd_kafka_destroy(reader);
    saga_relay_stop(relay, 5000);
    saga_db_close(db);
    free(seen);
}
END_TEST

typedef struct row_seqs {
    int n;
    int seqs[200];
} row_seqs;

static int read_row_seq(const saga_row *row, void *ud)
{
    row_seqs *r = ud;
    saga_event *ev = NULL;
    char err[256];
    ck_assert_int_eq(saga_event_parse(saga_row_str(row, 0), saga_row_len(row, 0), &ev, err,
                                      sizeof(err)),
                     SAGA_OK);
    ck_assert_int_lt(r->n, 200);
    r->seqs[r->n++] = cJSON_GetObjectItem(ev->data, "seq")->valueint;
    saga_event_free(ev);
    return 0;
}

START_TEST(test_batch_rows_in_order)
{
    saga_config cfg;
    char key[16];
    row_seqs rows = {0};
    const int n = 100; /* groups of 64, 32 and 4 rows */

    testenv_config(&cfg, "outbox", "outbox_batch");
    testenv_run_id(key);
    saga_db *db = open_db(&cfg);
    saga_write_batch *batch = saga_write_batch_new();
    ck_assert_ptr_nonnull(batch);

    /* rolled back: nothing written */
    ck_assert_int_eq(saga_db_begin(db), SAGA_OK);
    ck_assert_int_eq(saga_db_intercept(db, saga_write_batch_interceptor(batch)), SAGA_OK);
    add_events_in_tx(db, key, 3);
    saga_db_unintercept(db, saga_write_batch_interceptor(batch));
    saga_write_batch_discard(batch);
    saga_db_rollback(db);

    ck_assert_int_eq(saga_db_begin(db), SAGA_OK);
    ck_assert_int_eq(saga_db_intercept(db, saga_write_batch_interceptor(batch)), SAGA_OK);
    add_events_in_tx(db, key, n);
    /* rows of another shape, kept alongside */
    for (int i = 0; i < 70; i++) {
        char id[32];
        snprintf(id, sizeof(id), "kept-%d", i);
        saga_param p[] = {SAGA_P_STR(id), SAGA_P_STR("T")};
        ck_assert_int_eq(saga_db_insert(db, "INSERT INTO inbox (event_id, event_type) VALUES ",
                                        "(?,?)", p, 2),
                         SAGA_OK);
    }
    /* kept, not written: another connection that reads uncommitted rows sees none
     * (a read on db would write them first, see write_batch.h) */
    saga_db *peek = open_db(&cfg);
    ck_assert_int_eq(saga_db_exec_script(peek, "SET SESSION TRANSACTION ISOLATION LEVEL"
                                               " READ UNCOMMITTED"),
                     SAGA_OK);
    ck_assert_int_eq(count_rows(peek, "SELECT COUNT(*) FROM outbox"), 0);
    ck_assert_int_eq(count_rows(peek, "SELECT COUNT(*) FROM inbox"), 0);
    saga_db_close(peek);
    ck_assert_int_eq(saga_write_batch_flush(db, batch), SAGA_OK);
    saga_db_unintercept(db, saga_write_batch_interceptor(batch));
    ck_assert_int_eq(saga_db_commit(db), SAGA_OK);

    ck_assert_int_eq(saga_db_query(db, "SELECT payload FROM outbox ORDER BY id", NULL, 0,
                                   read_row_seq, &rows),
                     SAGA_OK);
    ck_assert_int_eq(rows.n, n);
    for (int i = 0; i < n; i++)
        ck_assert_int_eq(rows.seqs[i], i);
    ck_assert_int_eq(count_rows(db, "SELECT COUNT(*) FROM inbox WHERE event_id LIKE 'kept-%'"), 70);
    saga_write_batch_free(batch);
    saga_db_close(db);
}
END_TEST

static Suite *outbox_suite(void)
{
    Suite *s = suite_create("outbox");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_relay_in_order_once);
    tcase_add_test(tc, test_batch_rows_in_order);
    tcase_add_test(tc, test_relay_killed_between_produce_and_delete);
    tcase_add_test(tc, test_relay_survives_broker_outage);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(outbox_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
