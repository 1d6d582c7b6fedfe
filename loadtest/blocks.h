/* blocks.h - saga-blocks: what the building blocks alone do on this machine.
 *
 * A saga's throughput is bounded by two things it cannot do faster than the machine
 * allows: durable MariaDB commits of a step's rows (inbox + state + outbox) and the
 * broker's produce/consume path. saga-blocks measures both without the services, so
 * a load test's figures read as a fraction of them (loadtest/bench.sh puts them side
 * by side in BENCHMARKS.md). Beside them, the CPU of the services' own work that every
 * saga repeats (parsing and validating events, verifying the order's token), so the
 * report's CPU per saga can be read against it. blocks.c: options and report;
 * blocks_db.c: MariaDB; blocks_broker.c: the broker; blocks_cpu.c: the services' work. */
#ifndef BLOCKS_H
#define BLOCKS_H

#include <stddef.h>
#include <stdint.h>

typedef struct blocks_opts {
    double seconds;                  /* per measurement */
    const char *json_path;           /* NULL: text only */
    int run_db, run_broker, run_cpu; /* which groups to measure */
    const char *schemas_dir;         /* the event schemas (cpu) */
    /* MariaDB: the socket unless host is set; password from MYSQL_PWD */
    const char *mysql_socket;
    const char *mysql_host;
    unsigned mysql_port;
    const char *mysql_user;
    const char *mysql_password;
    const char *database; /* the scratch database, dropped and recreated */
    int keep_database;
    /* broker */
    const char *bootstrap;
    const char *topic; /* the scratch topic */
    int message_bytes;
    double latency_rate; /* messages per second of the latency run */
} blocks_opts;

/* One MariaDB measurement: `connections` threads, each committing transactions of
 * `steps_per_tx` saga steps, each step's three rows written either one statement
 * per round trip or as three multi-row INSERTs per transaction. */
typedef struct blocks_db_result {
    const char *name; /* stable key, e.g. "step_tx1_c4" (static) */
    unsigned connections;
    unsigned steps_per_tx;
    int multi_row; /* 0: one statement per round trip */
    unsigned long long steps, commits, retries;
    double elapsed_s;
    double steps_per_s, commits_per_s;
    double tx_p50_ms, tx_p99_ms, tx_max_ms;
    char error[256]; /* "" when the measurement ran */
} blocks_db_result;

typedef struct blocks_db_info {
    char version[64];
    long flush_log_at_trx_commit;
    long sync_binlog;
    long log_bin;
    char error[256];
} blocks_db_info;

typedef struct blocks_broker_result {
    int partitions; /* of the scratch topic */
    /* produce as fast as it goes: acks=all, idempotent, linger.ms 5 */
    unsigned long long produced;
    double produce_s, produce_per_s, produce_mib_per_s;
    /* consume what the topic retains, over and over, as one consumer */
    unsigned long long consumed;
    double consume_s, consume_per_s;
    /* produce -> consume latency at latency_rate msg/s, fetch.wait.max.ms 5 */
    unsigned long long lat_sent, lat_received;
    double lat_p50_ms, lat_p99_ms, lat_max_ms;
    char error[256];
} blocks_broker_result;

/* The CPU of the per-saga work in the services (blocks_cpu.c), in µs per operation
 * on one thread. */
#define BLOCKS_CPU_EVENTS 4
#define BLOCKS_CPU_ALGS 3
typedef struct blocks_cpu_result {
    const char *event_type[BLOCKS_CPU_EVENTS]; /* static */
    int consumers[BLOCKS_CPU_EVENTS];          /* services that read it in one saga */
    size_t event_bytes[BLOCKS_CPU_EVENTS];
    double parse_us[BLOCKS_CPU_EVENTS];      /* saga_event_parse */
    double validate_us[BLOCKS_CPU_EVENTS];   /* type known + schema validation */
    double events_per_saga_us;               /* each consumer's parse and validation */
    const char *alg[BLOCKS_CPU_ALGS];        /* static */
    double verify_us[BLOCKS_CPU_ALGS];       /* saga_auth_verify, a token's first use */
    double verify_again_us[BLOCKS_CPU_ALGS]; /* the same token again (remembered) */
    char error[256];
} blocks_cpu_result;

/* Fills *info from the server's variables. Returns 0, or -1 with info->error set. */
int blocks_db_info_read(const blocks_opts *o, blocks_db_info *info);

/* Drops and creates the scratch database with its three tables. 0 or -1 (err). */
int blocks_db_prepare(const blocks_opts *o, char *err, size_t errlen);

/* Drops the scratch database (unless o->keep_database). */
void blocks_db_cleanup(const blocks_opts *o);

/* Runs one measurement for o->seconds. Returns 0, or -1 with r->error set. */
int blocks_db_measure(const blocks_opts *o, blocks_db_result *r);

/* The three broker measurements. Returns 0, or -1 with r->error set (what was
 * measured before the failure stays in *r). */
int blocks_broker_measure(const blocks_opts *o, blocks_broker_result *r);

/* Times the events and the tokens, o->seconds each piece. Returns 0, or -1 with
 * r->error set. */
int blocks_cpu_measure(const blocks_opts *o, blocks_cpu_result *r);

/* Monotonic clock in seconds. */
double blocks_now(void);

/* The q-quantile (0..1) of n values, sorting them in place; 0 when n is 0. */
double blocks_quantile(double *v, size_t n, double q);

#endif
