/* testenv.h - what the integration tests share: the servers the harness started
 * (tests/harness/servers.sh), a fresh database per test, Kafka helpers. */
#ifndef SAGA_TESTENV_H
#define SAGA_TESTENV_H

#include <stdbool.h>
#include <stddef.h>
#include <librdkafka/rdkafka.h>

#include "saga/config.h"
#include "saga/db.h"
#include "saga/schema.h"

/* Loads the harness's state file ($SAGA_TEST_STATE) into the environment. */
void testenv_load(void);

/* A configuration for `service` on database saga_test_<dbname>, dropped, created
 * and migrated afresh; tight retry and relay timings for tests. */
void testenv_config(saga_config *cfg, const char *service, const char *dbname);
/* The same with the database left empty (no table): for what migrates it itself. */
void testenv_config_empty(saga_config *cfg, const char *service, const char *dbname);

/* A migrations directory $SAGA_TEST_DIR/<name> (made anew) with common/ and
 * <service>/ holding a link to each of cfg's migrations, but those whose name ends
 * in skip (NULL: none); its path in dir. Tests add files to it or leave some out. */
void testenv_migrations_copy(const saga_config *cfg, const char *service, const char *name,
                             const char *skip, char *dir, size_t dirlen);

/* The schemas in the source tree. Free with saga_schema_registry_free. */
saga_schema_registry *testenv_schemas(void);

/* A short random id, to tell this run's messages from others on shared topics. */
void testenv_run_id(char out[16]);

/* A plain producer (not idempotent); produce with testenv_produce. */
rd_kafka_t *testenv_producer(void);
void testenv_produce(rd_kafka_t *rk, const char *topic, const char *key, const char *payload,
                     size_t len);

/* A consumer reading every partition of `topic` from the beginning (assigned,
 * not subscribed). */
rd_kafka_t *testenv_reader(const char *topic);

/* Reads from a testenv_reader until every partition is at its end and at least
 * `want` messages with this key have been seen, or timeout_ms passes; calls fn for
 * each message with the key. Returns how many were seen. */
typedef void (*testenv_msg_fn)(const rd_kafka_message_t *rkm, void *ud);
size_t testenv_read_key(rd_kafka_t *reader, const char *key, size_t want, int timeout_ms,
                        testenv_msg_fn fn, void *ud);

/* A header's value as a string (copied into buf), or NULL. */
const char *testenv_header(const rd_kafka_message_t *rkm, const char *name, char *buf,
                           size_t buflen);

/* POSTs to the broker control API: "all/down", "all/up", "2/down", ... */
void testenv_broker(const char *action);

/* Polls `sql` (one integer) on db until it returns `want` or timeout_ms passes.
 * Returns the last value. */
long long testenv_wait_i64(saga_db *db, const char *sql, long long want, int timeout_ms);

/* A blocking HTTP/1.1 GET on 127.0.0.1:port. Returns the status code, or -1 if
 * nothing answered; the body (truncated) goes to body when not NULL. */
int testenv_http_get(int port, const char *path, char *body, size_t bodylen);

/* Milliseconds of sleep. */
void testenv_sleep_ms(long ms);

#endif
