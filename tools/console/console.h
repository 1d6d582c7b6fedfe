/* console.h - saga-console: a browser view of the topics, of one order's saga
 * across the four services, of the dead letters, and of the services' metrics.
 *
 * One executable on the common library: the HTTP layer (saga/http.h) with the
 * services' bearer tokens (administrators only on /api/), one Kafka reader that
 * never joins a consumer group (partitions assigned, bounded reads), one read-only
 * MySQL connection per service database, and the services' /metrics. It serves
 * one static page (web/index.html, console.js, console.css) and a JSON API the page
 * polls. Read-only except for the dead-letter replay, which is sagactl's
 * (tools/shared/dlq_replay.h). */
#ifndef SAGA_CONSOLE_H
#define SAGA_CONSOLE_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>
#include <librdkafka/rdkafka.h>

#include "saga/auth.h"
#include "saga/config.h"
#include "saga/db.h"
#include "saga/http.h"

#define CONSOLE_NSVC 4
#define CONSOLE_NTOPICS 5 /* the four event topics, then saga-dlq */
#define CONSOLE_MAX_PARTITIONS 256
#define CONSOLE_VALUE_MAX 65536 /* bytes of one message shown; longer ones are cut and say so */

typedef enum console_svc {
    CONSOLE_ORDER = 0,
    CONSOLE_PAYMENT,
    CONSOLE_INVENTORY,
    CONSOLE_NOTIFICATION,
} console_svc;

/* "order", "payment", "inventory", "notification" */
extern const char *const console_svc_names[CONSOLE_NSVC];

/* ---- settings (console_opts.c) ---- */

typedef struct console_cfg {
    char bind[64];                     /* SAGA_CONSOLE_BIND, default 127.0.0.1 */
    int port;                          /* SAGA_CONSOLE_PORT, default 9000 */
    int threads;                       /* SAGA_CONSOLE_THREADS, default 2 */
    char bootstrap[512];               /* SAGA_KAFKA_BOOTSTRAP */
    char topics[CONSOLE_NTOPICS][128]; /* the four event topics, then the dead-letter topic */
    char web_dir[512];            /* SAGA_CONSOLE_WEB_DIR: index.html, console.js, console.css */
    saga_config db[CONSOLE_NSVC]; /* read-only MySQL user and database per service */
    char metrics_url[CONSOLE_NSVC][256]; /* SAGA_CONSOLE_<SVC>_METRICS_URL */
    char group[CONSOLE_NSVC][128]; /* SAGA_CONSOLE_<SVC>_GROUP: the service's consumer group */
    long scan_max;            /* SAGA_CONSOLE_SCAN_MAX: messages read per partition per request */
    long dlq_max;             /* SAGA_CONSOLE_DLQ_MAX: newest dead letters listed */
    long timeout_ms;          /* SAGA_CONSOLE_KAFKA_TIMEOUT_MS: one Kafka read or replay */
    saga_log_level log_level; /* SAGA_LOG_LEVEL */
} console_cfg;

/* Fills cfg from the environment. Returns SAGA_OK or SAGA_ERR_INVALID with err naming
 * the variable. */
int console_cfg_load(console_cfg *cfg, char *err, size_t errlen);

/* ---- the running console ---- */

typedef struct console_file {
    char *body; /* owned */
    size_t len;
} console_file;

typedef struct console {
    console_cfg cfg;
    saga_auth *auth; /* owned */
    /* Kafka: one reader (assign only) and, per service, a handle with its group.id
     * that only reads the group's committed offsets; all used under kafka_lock. */
    pthread_mutex_t kafka_lock;
    rd_kafka_t *reader;               /* owned; made on first use */
    rd_kafka_t *groups[CONSOLE_NSVC]; /* owned; made on first use */
    /* MySQL: one connection per service database, each under its lock */
    pthread_mutex_t db_lock[CONSOLE_NSVC];
    saga_db *db[CONSOLE_NSVC]; /* owned; opened on first use, NULL while unreachable */
    console_file index_html, console_js, console_css;
    /* what the last reads found of each recent order (console_scan.c), so a saga view
     * polled every 1.5 s reads only what arrived since; under kafka_lock */
    struct console_scan_cache {
        char key[72]; /* "" unused */
        int64_t since_ms;
        int64_t next[CONSOLE_NTOPICS]; /* the next offset to read; -1 not started */
        cJSON *msgs;                   /* owned: the messages found so far */
        bool partial, capped;
    } scans[8];
    unsigned scans_next; /* the entry replaced next (round robin) */
} console;

/* ---- the static page (console_web.c) ---- */

/* Loads index.html, console.js and console.css from cfg->web_dir (or the default
 * places: tools/console/web from the working directory, or beside the schemas
 * directory). Returns SAGA_OK or an error with err naming the file. */
int console_web_load(console *c, char *err, size_t errlen);
void console_web_free(console *c);

/* ---- Kafka (console_kafka.c): every call takes kafka_lock ---- */

/* One message read, as JSON: {"topic","partition","offset","timestamp","key","headers":
 * [{"name","value"}],"value","valueBytes","truncated","event"?} (event: the value parsed
 * when it is JSON). NULL: no memory. */
cJSON *console_message_json(const rd_kafka_message_t *rkm);

/* {"topics":[{"name","partitions":[{"partition","low","high"}],"messages"}],
 *  "groups":[{"group","service","topics":[{"topic","lag","partitions":[{"partition",
 *  "committed","high","lag"}]}]}]}. Returns SAGA_OK or SAGA_ERR_UNAVAILABLE (err). */
int console_topics_json(console *c, cJSON **out, char *err, size_t errlen);

typedef struct console_browse {
    int topic; /* index into cfg.topics */
    int32_t partition;
    int64_t offset;  /* oldest: the first offset read; newest: read below it; -1: the end */
    bool newest;     /* newest first */
    int limit;       /* 1..100 */
    const char *key; /* only messages with this key, NULL: all */
} console_browse;

/* {"topic","partition","low","high","messages":[...],"scanned","next"}: at most
 * limit messages, reading at most cfg.scan_max. next: where the next page starts
 * (oldest: the offset after the last read; newest: the lowest offset read), -1 at
 * the end. Returns SAGA_OK; SAGA_ERR_NOT_FOUND (no such partition);
 * SAGA_ERR_UNAVAILABLE (err). */
int console_browse_json(console *c, const console_browse *b, cJSON **out, char *err, size_t errlen);

#define CONSOLE_SCAN_KEEP 500 /* messages of one key kept; more are left out, and said so */

/* Every message with this key on the five topics: on each, the partition the key
 * hashes to (the producers' partitioner), from the first message at time since_ms
 * (-1: the last cfg.scan_max messages) to the end, reading at most cfg.scan_max
 * messages per topic per call. The messages found are kept for the next call with
 * the same key and since_ms (8 keys kept), which reads only what arrived since.
 * *out: a new array (cJSON_Delete) of console_message_json (saga-dlq:
 * console_dlq_entry_json) objects with "kind" ("event"|"dead-letter") and
 * "topicIndex", in the order read. *partial: a topic held more than was read (or
 * lost messages before they were read); *capped: more than CONSOLE_SCAN_KEEP
 * messages. Returns SAGA_OK, SAGA_ERR_NOMEM or SAGA_ERR_UNAVAILABLE (err). */
int console_key_scan(console *c, const char *key, int64_t since_ms, cJSON **out, bool *partial,
                     bool *capped, char *err, size_t errlen);

/* Frees what console_key_scan keeps. */
void console_scan_free(console *c);

/* The dead letters, newest first: at most limit (<= cfg.dlq_max) of the last limit
 * messages of each partition of the dead-letter topic, as {"entries":[...],
 * "total"}. Each entry: the message (console_message_json) plus "service","reason",
 * "message","consumerGroup","original":{"topic","partition","offset","timestamp"},
 * "attempts","eventType","eventId","orderId". Returns SAGA_OK or an error (err). */
int console_dlq_json(console *c, int limit, cJSON **out, char *err, size_t errlen);

/* Replays the dead letter at partition:offset with the replay path sagactl uses
 * (`sagactl dlq replay --offset P:O`). *out: {"replayed":true,"from","to":{"topic",
 * "partition","offset"}}. Returns SAGA_OK; SAGA_ERR_NOT_FOUND (no message there);
 * SAGA_ERR_CONFLICT (refused: why in err); SAGA_ERR_UNAVAILABLE (err). */
int console_dlq_replay(console *c, int32_t partition, int64_t offset, cJSON **out, char *err,
                       size_t errlen);

/* A dead letter (rkm on the dead-letter topic) as JSON (see console_dlq_json).
 * NULL: no memory. */
cJSON *console_dlq_entry_json(const rd_kafka_message_t *rkm);

void console_kafka_free(console *c);

/* Inside the Kafka files: the reader, made on first use (NULL with err), and a
 * topic's watermarks; call both with kafka_lock held. */
typedef struct console_marks {
    int npart;
    int64_t low[CONSOLE_MAX_PARTITIONS], high[CONSOLE_MAX_PARTITIONS];
    bool missing; /* the topic does not exist (yet): npart 0 */
} console_marks;
rd_kafka_t *console_reader(console *c, char *err, size_t errlen);
int console_marks_read(console *c, rd_kafka_t *rk, int topic, console_marks *m, char *err,
                       size_t errlen);

/* ---- the databases (console_db.c) ---- */

/* The order's state in each service's database: {"order":{...}|null,"items":[...],
 * "inventory":{"outcome","reservations":[...]},"payment":{...}|null,
 * "notifications":[...],"errors":{svc: "why"}}; a database that cannot be reached is
 * named in errors and its part left null. *created_ms: the order's created_at (ms),
 * -1 when order-service does not know it. Returns SAGA_OK or SAGA_ERR_NOMEM. */
int console_db_state(console *c, const char *order_id, cJSON **out, int64_t *created_ms);

/* Orders PENDING or AWAITING_PAYMENT (order-service's status index). Returns SAGA_OK
 * or an error (the database is unreachable). */
int console_db_in_flight(console *c, long long *n);

void console_db_free(console *c);

/* ---- one order's saga (console_saga.c) ---- */

/* {"orderId","settled","partial","scannedSince","state":(console_db_state),
 *  "events":[message + "kind" ("event"|"dead-letter"),"writer","depth","causeIndex",
 *  "sortTime"],"deadLetters":[...]}: every message keyed by the order id on the five
 * topics, in causal order (console_causal_order), at most 500. Returns SAGA_OK, or
 * an error with err (Kafka unreachable). */
int console_saga_json(console *c, const char *order_id, cJSON **out, char *err, size_t errlen);

/* ---- causal order (console_causal.c, no I/O) ---- */

typedef struct console_causal_node {
    const char *id;    /* the event id (borrowed); NULL: none */
    const char *cause; /* its causationid (borrowed); NULL: none */
    int64_t timestamp; /* ms, for ties and independent branches */
    int64_t tiebreak;  /* then this (e.g. topic index * 2^40 + offset) */
    /* out */
    int depth;       /* 0 for a root; a cause's depth + 1 */
    int cause_index; /* the position, in the result, of the cause; -1 none */
} console_causal_node;

/* Orders nodes[0..n-1] so that each event comes after the event it names as its
 * cause (the first one with that id), and otherwise by (timestamp, tiebreak): a
 * topological order by causationid that falls back on time. Clocks of different
 * services may disagree; causes still come first. A cause not among the nodes
 * makes a root. Cycles (forged events) are broken by time. Writes the permutation
 * to order[0..n-1] (order[k] = index of the k-th node) and fills depth and
 * cause_index. Returns SAGA_OK or SAGA_ERR_NOMEM. */
int console_causal_order(console_causal_node *nodes, size_t n, size_t *order);

/* An RFC 3339 UTC time ("2026-11-22T12:18:22.610Z", the events' "time") in ms since
 * the epoch; -1 if s is not one. */
int64_t console_time_parse_ms(const char *s);

/* ---- the services' metrics (console_prom.c, no I/O; console_glance.c) ---- */

/* Called for each sample of a Prometheus text exposition: name, its labels as
 * "name=value" pairs (unescaped), the value. Strings are borrowed for the call. */
typedef struct console_prom_label {
    const char *name;
    const char *value;
} console_prom_label;
typedef void (*console_prom_fn)(const char *name, const console_prom_label *labels, size_t nlabels,
                                double value, void *ud);

/* Parses text (len bytes, need not be NUL-terminated): comments and blank lines are
 * skipped, each sample line ("name{l=\"v\",...} value [timestamp]") calls fn.
 * Returns the number of lines that could not be parsed (skipped). */
size_t console_prom_parse(const char *text, size_t len, console_prom_fn fn, void *ud);

/* The sum of the samples named name whose label `label` equals value (label NULL:
 * all of them). *found tells whether there was any. */
double console_prom_sum(const char *text, size_t len, const char *name, const char *label,
                        const char *value, bool *found);

/* {"time","inFlight","services":{svc:{"up","lag","outboxBacklog","outboxOldestSeconds",
 * "consumed","published","deadLetters"}},"created","completed","confirmed",
 * "cancelled":{reason: n}}: counters as the services report them (the page turns
 * them into rates). Scrapes the four /metrics (1 s timeout each). */
int console_glance_json(console *c, cJSON **out);

/* ---- the HTTP API (console_routes.c) ---- */

extern const saga_http_route console_routes[];
extern const size_t console_nroutes;

#endif
