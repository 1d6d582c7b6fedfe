/* config.h - configuration from environment variables, with defaults.
 *
 * Every variable is documented in the README's configuration table. An invalid
 * value stops start-up with a message naming the variable. */
#ifndef SAGA_CONFIG_H
#define SAGA_CONFIG_H

#include <stddef.h>
#include <stdbool.h>
#include "saga/log.h"

typedef struct saga_config {
    char service[32];        /* "order", "payment", ... (not from the environment) */
    char http_bind[64];      /* SAGA_HTTP_BIND, default 127.0.0.1 */
    int http_port;           /* SAGA_HTTP_PORT, default per service; 0 picks a free port */
    int http_threads;        /* SAGA_HTTP_THREADS, default 2 */
    long http_body_max;      /* SAGA_HTTP_BODY_MAX bytes, default 65536 */
    int http_max_connections;/* SAGA_HTTP_MAX_CONNECTIONS: open at once, default 512 */
    int http_max_per_address;/* SAGA_HTTP_MAX_CONNECTIONS_PER_ADDRESS, default 128; 0 no limit */
    int http_timeout_s;      /* SAGA_HTTP_TIMEOUT_S: to send a whole request, default 10 */
    int http_ready_cache_ms; /* SAGA_HTTP_READY_CACHE_MS: /ready's check reused, default 1000 */
    char metrics_bind[64];   /* SAGA_METRICS_BIND: /metrics listener, default 127.0.0.1 */
    int metrics_port;        /* SAGA_METRICS_PORT, default http_port + 1000 (0 if http_port is 0) */
    char mysql_host[128];    /* SAGA_MYSQL_HOST, default 127.0.0.1 */
    int mysql_port;          /* SAGA_MYSQL_PORT, default 3306 */
    char mysql_user[64];     /* SAGA_MYSQL_USER, default saga_<service> */
    char mysql_password[128];/* SAGA_MYSQL_PASSWORD or SAGA_MYSQL_PASSWORD_FILE, default empty */
    char mysql_database[64]; /* SAGA_MYSQL_DATABASE, default saga_<service> */
    char mysql_socket[256];  /* SAGA_MYSQL_SOCKET, default empty (TCP) */
    int mysql_read_timeout_s;/* SAGA_MYSQL_READ_TIMEOUT_S: how long a statement's
                              * answer may take before the connection is given up
                              * (60; 0: 60). Tools that read whole tables set it
                              * longer, and migrations run without it. */
    char mysql_migrate_user[64];      /* SAGA_MYSQL_MIGRATE_USER: applies the migrations,
                                       * default empty (SAGA_MYSQL_USER does) */
    char mysql_migrate_password[128]; /* SAGA_MYSQL_MIGRATE_PASSWORD, default empty */
    char migrations_dir[512];/* SAGA_MIGRATIONS_DIR, default deploy/mysql */
    char schemas_dir[512];   /* SAGA_SCHEMAS_DIR, default schemas */
    char kafka_bootstrap[512];/* SAGA_KAFKA_BOOTSTRAP, default localhost:9092 */
    char kafka_group[128];   /* SAGA_KAFKA_GROUP, default <service>-service */
    int kafka_fetch_wait_ms; /* SAGA_KAFKA_FETCH_WAIT_MS, default 5 */
    int kafka_session_timeout_ms; /* SAGA_KAFKA_SESSION_TIMEOUT_MS, default 10000 */
    char kafka_group_instance_id[250]; /* SAGA_KAFKA_GROUP_INSTANCE_ID: static group
                                          membership (KIP-345), unique per instance;
                                          default empty (dynamic membership) */
    char redis_host[128];    /* SAGA_REDIS_HOST, default 127.0.0.1 */
    int redis_port;          /* SAGA_REDIS_PORT, default 6379 */
    char redis_password[128];/* SAGA_REDIS_PASSWORD: AUTH on every connection, default empty */
    int redis_timeout_ms;    /* SAGA_REDIS_TIMEOUT_MS: connect and reply timeout, default 250 */
    int batch_max;           /* SAGA_BATCH_MAX, default 500 */
    int batch_wait_ms;       /* SAGA_BATCH_WAIT_MS, default 5 */
    int max_attempts;        /* SAGA_MAX_ATTEMPTS: failures of one message before it is dead-lettered, default 3 */
    int retry_base_ms;       /* SAGA_RETRY_BASE_MS, default 50 */
    int retry_max_ms;        /* SAGA_RETRY_MAX_MS, default 5000 */
    int relay_batch_max;     /* SAGA_RELAY_BATCH_MAX, default 1000 */
    int relay_poll_ms;       /* SAGA_RELAY_POLL_MS: scan interval when not woken, default 500 */
    int inbox_retention_hours; /* SAGA_INBOX_RETENTION_HOURS: ids kept for dedup, default 168 */
    int inbox_prune_interval_s;/* SAGA_INBOX_PRUNE_INTERVAL_S, default 300 */
    saga_log_level log_level;/* SAGA_LOG_LEVEL, default info */
} saga_config;

/* Fills cfg from the environment for `service` ("order", ...), whose HTTP port
 * defaults to default_port. Returns SAGA_OK, or SAGA_ERR_INVALID with a message
 * naming the variable in err. */
int saga_config_load(saga_config *cfg, const char *service, int default_port, char *err,
                     size_t errlen);

/* One variable each, for a service's own settings. On an unset or empty variable
 * the default is stored. Returns SAGA_OK or SAGA_ERR_INVALID (err names the
 * variable, the value and what was expected). */
int saga_config_int(const char *name, long def, long min, long max, long *out, char *err,
                    size_t errlen);
int saga_config_str(const char *name, const char *def, char *out, size_t outlen, char *err,
                    size_t errlen);
int saga_config_bool(const char *name, bool def, bool *out, char *err, size_t errlen);

/* A secret setting (a password, a token secret): given in `name` itself, or as
 * `name`_FILE, the path of a file holding it (a container secret, a generated file);
 * the value is then the file's content minus one trailing newline. Neither set (or
 * both empty): def is stored. Returns SAGA_OK or SAGA_ERR_INVALID, err naming the
 * variable at fault: both set (naming both), a file that cannot be read, is empty,
 * holds a NUL byte or does not fit in outlen - 1 bytes. Every secret setting is read
 * through this function, so each has its _FILE variant. */
int saga_config_secret(const char *name, const char *def, char *out, size_t outlen, char *err,
                       size_t errlen);

#endif
