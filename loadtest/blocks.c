/* blocks.c - saga-blocks: measures the building blocks alone (blocks.h), prints a
 * table and optionally writes the figures as JSON for loadtest/bench_report.py.
 *
 *   saga-blocks [--seconds N] [--json FILE] [--only db|broker|cpu] [--schemas DIR]
 *               [--mysql-socket PATH | --mysql-host H --mysql-port P] [--mysql-user U]
 *               [--database NAME] [--keep-database]
 *               [--bootstrap LIST] [--topic NAME] [--message-bytes N] [--latency-rate N]
 *
 * Defaults fit the local stack when run from the checkout: socket .local/mysql.sock,
 * the user running it (the local stack's administrator, by unix-socket
 * authentication; a password from MYSQL_PWD for another user), bootstrap from
 * SAGA_KAFKA_BOOTSTRAP or .local/kafka.bootstrap. Exit status 0 when every measurement ran, 1 when one
 * failed (the others are still reported), 2 on bad usage. */
#include "blocks.h"

#include <getopt.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <mysql.h>

double blocks_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The name of the user running this: the local stack's MariaDB administrator logs in
 * under it over the socket (deploy/local/lib.sh). "root" if it has none. */
static const char *os_user(void)
{
    const struct passwd *pw = getpwuid(getuid());
    return pw && pw->pw_name ? pw->pw_name : "root";
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double blocks_quantile(double *v, size_t n, double q)
{
    if (!n)
        return 0;
    qsort(v, n, sizeof(*v), cmp_double);
    size_t i = (size_t)(q * (double)(n - 1) + 0.5);
    return v[i < n ? i : n - 1];
}

/* ---- options ---------------------------------------------------------------------- */

static void usage(FILE *f)
{
    fprintf(f,
            "usage: saga-blocks [options]\n"
            "  --seconds N          per measurement (default 3)\n"
            "  --json FILE          also write the figures as JSON\n"
            "  --only db|broker|cpu measure one group only\n"
            "  --schemas DIR        the event schemas, for cpu (default schemas)\n"
            "  --mysql-socket PATH  (default .local/mysql.sock)\n"
            "  --mysql-host H       TCP instead of the socket; --mysql-port P (3306)\n"
            "  --mysql-user U       (default: the user running this, by unix-socket\n"
            "                       authentication; a password from MYSQL_PWD)\n"
            "  --database NAME      scratch database, dropped and recreated (saga_bench_blocks)\n"
            "  --keep-database      leave the scratch database when done\n"
            "  --bootstrap LIST     (default SAGA_KAFKA_BOOTSTRAP, else .local/kafka.bootstrap)\n"
            "  --topic NAME         scratch topic (default saga-bench-blocks)\n"
            "  --message-bytes N    broker message size (default 300)\n"
            "  --latency-rate N     messages/s of the latency run (default 1000)\n");
}

static char *read_first_line(const char *path)
{
    char buf[1024];
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    char *line = fgets(buf, sizeof(buf), f);
    fclose(f);
    if (!line)
        return NULL;
    buf[strcspn(buf, "\r\n")] = '\0';
    return buf[0] ? strdup(buf) : NULL;
}

static int positive(const char *s, double max, double *out)
{
    char *end;
    double v = strtod(s, &end);
    if (end == s || *end || !(v > 0) || v > max)
        return -1;
    *out = v;
    return 0;
}

/* 0: run, 1: help shown, 2: bad usage (said on stderr). */
static int opts_parse(int argc, char **argv, blocks_opts *o, char **bootstrap_owned)
{
    static const struct option longopts[] = {
        {"seconds", required_argument, NULL, 's'},
        {"json", required_argument, NULL, 'j'},
        {"only", required_argument, NULL, 'o'},
        {"schemas", required_argument, NULL, 'c'},
        {"mysql-socket", required_argument, NULL, 'S'},
        {"mysql-host", required_argument, NULL, 'H'},
        {"mysql-port", required_argument, NULL, 'P'},
        {"mysql-user", required_argument, NULL, 'u'},
        {"database", required_argument, NULL, 'd'},
        {"keep-database", no_argument, NULL, 'k'},
        {"bootstrap", required_argument, NULL, 'b'},
        {"topic", required_argument, NULL, 't'},
        {"message-bytes", required_argument, NULL, 'm'},
        {"latency-rate", required_argument, NULL, 'r'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    double v;
    int c;

    *o = (blocks_opts){
        .seconds = 3,
        .run_db = 1,
        .run_broker = 1,
        .run_cpu = 1,
        .schemas_dir = "schemas",
        .mysql_socket = ".local/mysql.sock",
        .mysql_user = os_user(),
        .mysql_password = getenv("MYSQL_PWD"),
        .database = "saga_bench_blocks",
        .bootstrap = getenv("SAGA_KAFKA_BOOTSTRAP"),
        .topic = "saga-bench-blocks",
        .message_bytes = 300,
        .latency_rate = 1000,
    };
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (c) {
        case 's':
            if (positive(optarg, 3600, &o->seconds))
                goto bad_value;
            break;
        case 'j':
            o->json_path = optarg;
            break;
        case 'o':
            o->run_db = !strcmp(optarg, "db");
            o->run_broker = !strcmp(optarg, "broker");
            o->run_cpu = !strcmp(optarg, "cpu");
            if (!o->run_db && !o->run_broker && !o->run_cpu)
                goto bad_value;
            break;
        case 'c':
            o->schemas_dir = optarg;
            break;
        case 'S':
            o->mysql_socket = optarg;
            break;
        case 'H':
            o->mysql_host = optarg;
            break;
        case 'P':
            if (positive(optarg, 65535, &v))
                goto bad_value;
            o->mysql_port = (unsigned)v;
            break;
        case 'u':
            o->mysql_user = optarg;
            break;
        case 'd':
            o->database = optarg;
            break;
        case 'k':
            o->keep_database = 1;
            break;
        case 'b':
            o->bootstrap = optarg;
            break;
        case 't':
            o->topic = optarg;
            break;
        case 'm':
            if (positive(optarg, 1000000, &v) || v < 20)
                goto bad_value;
            o->message_bytes = (int)v;
            break;
        case 'r':
            if (positive(optarg, 1000000, &o->latency_rate))
                goto bad_value;
            break;
        case 'h':
            usage(stdout);
            return 1;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "saga-blocks: unexpected argument '%s'\n", argv[optind]);
        return 2;
    }
    if (o->run_broker && (!o->bootstrap || !*o->bootstrap)) {
        *bootstrap_owned = read_first_line(".local/kafka.bootstrap");
        o->bootstrap = *bootstrap_owned;
        if (!o->bootstrap) {
            fprintf(stderr, "saga-blocks: no broker: give --bootstrap, set SAGA_KAFKA_BOOTSTRAP "
                            "or run from a checkout with the local stack up\n");
            return 2;
        }
    }
    return 0;
bad_value:
    for (const struct option *lo = longopts; lo->name; lo++)
        if (lo->val == c)
            fprintf(stderr, "saga-blocks: bad value '%s' for --%s\n", optarg, lo->name);
    return 2;
}

/* ---- the measurements --------------------------------------------------------------- */

static const blocks_db_result DB_PLAN[] = {
    {.name = "step_tx1_c1", .connections = 1, .steps_per_tx = 1},
    {.name = "step_tx1_c4", .connections = 4, .steps_per_tx = 1},
    {.name = "step_tx1_c16", .connections = 16, .steps_per_tx = 1},
    {.name = "step_tx100_rows_c1", .connections = 1, .steps_per_tx = 100},
    {.name = "step_tx100_multi_c1", .connections = 1, .steps_per_tx = 100, .multi_row = 1},
    {.name = "step_tx100_rows_c4", .connections = 4, .steps_per_tx = 100},
    {.name = "step_tx100_multi_c4", .connections = 4, .steps_per_tx = 100, .multi_row = 1},
};
#define DB_PLAN_N (sizeof(DB_PLAN) / sizeof(DB_PLAN[0]))

static cJSON *db_json(const blocks_db_info *info, const blocks_db_result *res, size_t n)
{
    cJSON *db = cJSON_CreateObject();
    cJSON_AddStringToObject(db, "server_version", info->version);
    cJSON_AddNumberToObject(db, "innodb_flush_log_at_trx_commit",
                            (double)info->flush_log_at_trx_commit);
    cJSON_AddNumberToObject(db, "sync_binlog", (double)info->sync_binlog);
    cJSON_AddNumberToObject(db, "log_bin", (double)info->log_bin);
    if (info->error[0])
        cJSON_AddStringToObject(db, "error", info->error);
    cJSON *arr = cJSON_AddArrayToObject(db, "measurements");
    for (size_t i = 0; i < n; i++) {
        const blocks_db_result *r = &res[i];
        cJSON *m = cJSON_CreateObject();
        cJSON_AddStringToObject(m, "name", r->name);
        cJSON_AddNumberToObject(m, "connections", r->connections);
        cJSON_AddNumberToObject(m, "steps_per_tx", r->steps_per_tx);
        cJSON_AddStringToObject(m, "statements", r->multi_row ? "multi_row" : "per_row");
        cJSON_AddNumberToObject(m, "steps", (double)r->steps);
        cJSON_AddNumberToObject(m, "commits", (double)r->commits);
        cJSON_AddNumberToObject(m, "retries", (double)r->retries);
        cJSON_AddNumberToObject(m, "elapsed_s", r->elapsed_s);
        cJSON_AddNumberToObject(m, "steps_per_s", r->steps_per_s);
        cJSON_AddNumberToObject(m, "commits_per_s", r->commits_per_s);
        cJSON_AddNumberToObject(m, "tx_p50_ms", r->tx_p50_ms);
        cJSON_AddNumberToObject(m, "tx_p99_ms", r->tx_p99_ms);
        cJSON_AddNumberToObject(m, "tx_max_ms", r->tx_max_ms);
        if (r->error[0])
            cJSON_AddStringToObject(m, "error", r->error);
        cJSON_AddItemToArray(arr, m);
    }
    return db;
}

static cJSON *broker_json(const blocks_opts *o, const blocks_broker_result *r)
{
    cJSON *b = cJSON_CreateObject();
    cJSON_AddStringToObject(b, "topic", o->topic);
    cJSON_AddNumberToObject(b, "partitions", r->partitions);
    cJSON_AddNumberToObject(b, "message_bytes", o->message_bytes);
    cJSON *p = cJSON_AddObjectToObject(b, "produce");
    cJSON_AddStringToObject(p, "settings", "acks=all enable.idempotence=true linger.ms=5");
    cJSON_AddNumberToObject(p, "messages", (double)r->produced);
    cJSON_AddNumberToObject(p, "elapsed_s", r->produce_s);
    cJSON_AddNumberToObject(p, "msgs_per_s", r->produce_per_s);
    cJSON_AddNumberToObject(p, "mib_per_s", r->produce_mib_per_s);
    cJSON *c = cJSON_AddObjectToObject(b, "consume");
    cJSON_AddStringToObject(c, "settings", "fetch.wait.max.ms=5, from the start, repeated");
    cJSON_AddNumberToObject(c, "messages", (double)r->consumed);
    cJSON_AddNumberToObject(c, "elapsed_s", r->consume_s);
    cJSON_AddNumberToObject(c, "msgs_per_s", r->consume_per_s);
    cJSON *l = cJSON_AddObjectToObject(b, "latency");
    cJSON_AddStringToObject(l, "settings",
                            "producer acks=all enable.idempotence=true "
                            "linger.ms=1, consumer fetch.wait.max.ms=5");
    cJSON_AddNumberToObject(l, "rate", o->latency_rate);
    cJSON_AddNumberToObject(l, "sent", (double)r->lat_sent);
    cJSON_AddNumberToObject(l, "received", (double)r->lat_received);
    cJSON_AddNumberToObject(l, "p50_ms", r->lat_p50_ms);
    cJSON_AddNumberToObject(l, "p99_ms", r->lat_p99_ms);
    cJSON_AddNumberToObject(l, "max_ms", r->lat_max_ms);
    if (r->error[0])
        cJSON_AddStringToObject(b, "error", r->error);
    return b;
}

static cJSON *cpu_json(const blocks_cpu_result *r)
{
    cJSON *o = cJSON_CreateObject(), *events = cJSON_AddArrayToObject(o, "events");
    cJSON *verify = cJSON_AddObjectToObject(o, "verify_us");
    cJSON *again = cJSON_AddObjectToObject(o, "verify_again_us");

    for (size_t i = 0; i < BLOCKS_CPU_EVENTS && r->event_type[i]; i++) {
        cJSON *e = cJSON_CreateObject();
        cJSON_AddStringToObject(e, "type", r->event_type[i]);
        cJSON_AddNumberToObject(e, "consumers", r->consumers[i]);
        cJSON_AddNumberToObject(e, "bytes", (double)r->event_bytes[i]);
        cJSON_AddNumberToObject(e, "parse_us", r->parse_us[i]);
        cJSON_AddNumberToObject(e, "validate_us", r->validate_us[i]);
        cJSON_AddItemToArray(events, e);
    }
    cJSON_AddNumberToObject(o, "events_per_saga_us", r->events_per_saga_us);
    for (size_t i = 0; i < BLOCKS_CPU_ALGS && r->alg[i]; i++) {
        cJSON_AddNumberToObject(verify, r->alg[i], r->verify_us[i]);
        cJSON_AddNumberToObject(again, r->alg[i], r->verify_again_us[i]);
    }
    if (r->error[0])
        cJSON_AddStringToObject(o, "error", r->error);
    return o;
}

static int json_write(const char *path, cJSON *doc)
{
    char *text = cJSON_Print(doc);
    FILE *f = text ? fopen(path, "w") : NULL;
    int rc = -1;
    if (f) {
        rc = fputs(text, f) < 0 || fputc('\n', f) == EOF ? -1 : 0;
        if (fclose(f))
            rc = -1;
    }
    if (rc)
        fprintf(stderr, "saga-blocks: cannot write %s\n", path);
    cJSON_free(text);
    return rc;
}

int main(int argc, char **argv)
{
    blocks_opts o;
    char *bootstrap_owned = NULL;
    blocks_db_info info = {0};
    blocks_db_result res[DB_PLAN_N];
    blocks_broker_result br = {0};
    blocks_cpu_result cpu = {0};
    size_t nres = 0;
    int failed = 0;

    int prc = opts_parse(argc, argv, &o, &bootstrap_owned);
    if (prc)
        return prc == 1 ? 0 : 2;
    /* before any thread (the MariaDB client library is not thread-safe to start) */
    if (mysql_library_init(0, NULL, NULL)) {
        fprintf(stderr, "saga-blocks: cannot initialise the MariaDB client library\n");
        return 1;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    printf("saga-blocks: %.0f s per measurement\n", o.seconds);

    if (o.run_db) {
        char err[256];
        if (blocks_db_info_read(&o, &info)) {
            fprintf(stderr, "saga-blocks: %s\n", info.error);
            failed = 1;
        } else {
            printf("\nMariaDB %s, innodb_flush_log_at_trx_commit=%ld, sync_binlog=%ld, "
                   "log_bin=%ld; scratch database %s\n",
                   info.version, info.flush_log_at_trx_commit, info.sync_binlog, info.log_bin,
                   o.database);
            printf("a step = inbox INSERT IGNORE + order row upsert + outbox INSERT (500 B)\n");
            printf("%-22s %5s %6s %-9s %10s %10s %8s %8s %8s\n", "measurement", "conns", "steps",
                   "stmts", "steps/s", "commits/s", "p50 ms", "p99 ms", "retries");
            for (size_t i = 0; i < DB_PLAN_N; i++) {
                blocks_db_result *r = &res[nres++];
                *r = DB_PLAN[i];
                /* each measurement starts from empty tables */
                if (blocks_db_prepare(&o, err, sizeof(err))) {
                    snprintf(r->error, sizeof(r->error), "%s", err);
                } else {
                    blocks_db_measure(&o, r);
                }
                if (r->error[0]) {
                    failed = 1;
                    printf("%-22s failed: %s\n", r->name, r->error);
                    continue;
                }
                printf("%-22s %5u %6u %-9s %10.0f %10.0f %8.2f %8.2f %8llu\n", r->name,
                       r->connections, r->steps_per_tx, r->multi_row ? "multi-row" : "per-row",
                       r->steps_per_s, r->commits_per_s, r->tx_p50_ms, r->tx_p99_ms, r->retries);
            }
            blocks_db_cleanup(&o);
        }
    }

    if (o.run_broker) {
        printf("\nbroker %s, scratch topic %s, %d-byte messages\n", o.bootstrap, o.topic,
               o.message_bytes);
        if (blocks_broker_measure(&o, &br)) {
            failed = 1;
            printf("broker measurement failed: %s\n", br.error);
        }
        printf("scratch topic: %d partitions\n", br.partitions);
        printf("produce (acks=all, idempotent, linger.ms 5): %10.0f msg/s (%.1f MiB/s, %llu "
               "messages)\n",
               br.produce_per_s, br.produce_mib_per_s, br.produced);
        printf("consume (one consumer, fetch.wait.max.ms 5): %10.0f msg/s (%llu messages)\n",
               br.consume_per_s, br.consumed);
        printf("produce->consume latency at %.0f msg/s:    p50 %.2f ms, p99 %.2f ms, max %.2f "
               "ms (%llu of %llu received)\n",
               o.latency_rate, br.lat_p50_ms, br.lat_p99_ms, br.lat_max_ms, br.lat_received,
               br.lat_sent);
    }

    if (o.run_cpu) {
        printf("\nservices' CPU per operation, one thread, schemas from %s\n", o.schemas_dir);
        if (blocks_cpu_measure(&o, &cpu)) {
            failed = 1;
            printf("cpu measurement failed: %s\n", cpu.error);
        }
        printf("%-18s %9s %6s %9s %12s\n", "event", "consumers", "bytes", "parse us",
               "validate us");
        for (size_t i = 0; i < BLOCKS_CPU_EVENTS && cpu.event_type[i]; i++)
            printf("%-18s %9d %6zu %9.1f %12.1f\n", cpu.event_type[i], cpu.consumers[i],
                   cpu.event_bytes[i], cpu.parse_us[i], cpu.validate_us[i]);
        printf("every consumer's parse and validation, per saga: %.1f us\n",
               cpu.events_per_saga_us);
        for (size_t i = 0; i < BLOCKS_CPU_ALGS && cpu.alg[i]; i++)
            printf("bearer token verified, %s: %.1f us on first use, %.1f us again\n", cpu.alg[i],
                   cpu.verify_us[i], cpu.verify_again_us[i]);
    }

    if (o.json_path) {
        cJSON *doc = cJSON_CreateObject();
        cJSON_AddStringToObject(doc, "tool", "saga-blocks");
        cJSON_AddNumberToObject(doc, "seconds", o.seconds);
        cJSON_AddNumberToObject(doc, "at", (double)time(NULL));
        if (o.run_db)
            cJSON_AddItemToObject(doc, "db", db_json(&info, res, nres));
        if (o.run_broker)
            cJSON_AddItemToObject(doc, "broker", broker_json(&o, &br));
        if (o.run_cpu)
            cJSON_AddItemToObject(doc, "cpu", cpu_json(&cpu));
        cJSON_AddBoolToObject(doc, "ok", !failed);
        if (json_write(o.json_path, doc))
            failed = 1;
        cJSON_Delete(doc);
    }
    free(bootstrap_owned);
    mysql_library_end();
    return failed ? 1 : 0;
}
