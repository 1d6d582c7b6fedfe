/* config.c - configuration from environment variables. */
#include "saga/config.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "saga/err.h"

static const char *env_value(const char *name)
{
    const char *v = getenv(name);
    return (v && *v) ? v : NULL;
}

int saga_config_int(const char *name, long def, long min, long max, long *out, char *err,
                    size_t errlen)
{
    const char *v = env_value(name);
    char *end = NULL;
    long n;

    if (!v) {
        *out = def;
        return SAGA_OK;
    }
    errno = 0;
    n = strtol(v, &end, 10);
    if (errno || end == v || *end != '\0') {
        snprintf(err, errlen, "%s: '%s' is not an integer", name, v);
        return SAGA_ERR_INVALID;
    }
    if (n < min || n > max) {
        snprintf(err, errlen, "%s: %ld is out of range [%ld, %ld]", name, n, min, max);
        return SAGA_ERR_INVALID;
    }
    *out = n;
    return SAGA_OK;
}

int saga_config_str(const char *name, const char *def, char *out, size_t outlen, char *err,
                    size_t errlen)
{
    const char *v = env_value(name);
    if (!v)
        v = def;
    if (strlen(v) >= outlen) {
        snprintf(err, errlen, "%s: value is longer than %zu characters", name, outlen - 1);
        return SAGA_ERR_INVALID;
    }
    memcpy(out, v, strlen(v) + 1);
    return SAGA_OK;
}

int saga_config_bool(const char *name, bool def, bool *out, char *err, size_t errlen)
{
    static const char *const yes[] = {"1", "true", "yes", "on"};
    static const char *const no[] = {"0", "false", "no", "off"};
    const char *v = env_value(name);

    if (!v) {
        *out = def;
        return SAGA_OK;
    }
    for (size_t i = 0; i < 4; i++) {
        if (strcasecmp(v, yes[i]) == 0) {
            *out = true;
            return SAGA_OK;
        }
        if (strcasecmp(v, no[i]) == 0) {
            *out = false;
            return SAGA_OK;
        }
    }
    snprintf(err, errlen, "%s: '%s' is not a boolean (true/false)", name, v);
    return SAGA_ERR_INVALID;
}

int saga_config_secret(const char *name, const char *def, char *out, size_t outlen, char *err,
                       size_t errlen)
{
    char file_var[128];
    const char *v = env_value(name);
    const char *path;
    FILE *f = NULL;
    size_t n = 0;
    int rc = SAGA_ERR_INVALID;

    snprintf(file_var, sizeof(file_var), "%s_FILE", name);
    path = env_value(file_var);
    if (v && path) {
        snprintf(err, errlen, "%s and %s are both set: set one", name, file_var);
        return SAGA_ERR_INVALID;
    }
    if (!path)
        return saga_config_str(name, def, out, outlen, err, errlen);
    if (outlen < 2) {
        snprintf(err, errlen, "%s: no room for a value", file_var);
        return SAGA_ERR_INVALID;
    }
    if (!(f = fopen(path, "rb"))) {
        snprintf(err, errlen, "%s: cannot read %s: %s", file_var, path, strerror(errno));
        return SAGA_ERR_INVALID;
    }
    /* up to outlen bytes: the longest value (outlen - 1) plus its newline */
    n = fread(out, 1, outlen, f);
    if (ferror(f)) {
        snprintf(err, errlen, "%s: cannot read %s: %s", file_var, path, strerror(errno));
        goto out;
    }
    if (n == outlen && (out[n - 1] != '\n' || fgetc(f) != EOF)) {
        snprintf(err, errlen, "%s: %s holds more than %zu bytes", file_var, path, outlen - 1);
        goto out;
    }
    if (n > 0 && out[n - 1] == '\n') /* one newline, as `echo` and editors leave it */
        n--;
    if (n == 0) {
        snprintf(err, errlen, "%s: %s is empty: it must hold the value of %s", file_var, path,
                 name);
        goto out;
    }
    if (memchr(out, '\0', n)) {
        snprintf(err, errlen, "%s: %s holds a NUL byte", file_var, path);
        goto out;
    }
    out[n] = '\0';
    rc = SAGA_OK;
out:
    if (rc != SAGA_OK)
        memset(out, 0, outlen);
    fclose(f);
    return rc;
}

/* Reads an int variable into an int field. */
static int load_int(const char *name, long def, long min, long max, int *field, char *err,
                    size_t errlen)
{
    long v;
    int rc = saga_config_int(name, def, min, max, &v, err, errlen);
    if (rc == SAGA_OK)
        *field = (int)v;
    return rc;
}

int saga_config_load(saga_config *cfg, const char *service, int default_port, char *err,
                     size_t errlen)
{
    char def_name[96];
    char level[16];
    int rc;

    memset(cfg, 0, sizeof(*cfg));
    snprintf(cfg->service, sizeof(cfg->service), "%s", service);
    snprintf(def_name, sizeof(def_name), "saga_%s", service);

#define STR(var, def, field)                                                                       \
    if ((rc = saga_config_str(var, def, cfg->field, sizeof(cfg->field), err, errlen)))              \
        return rc
#define INT(var, def, min, max, field)                                                             \
    if ((rc = load_int(var, def, min, max, &cfg->field, err, errlen)))                             \
        return rc

    STR("SAGA_HTTP_BIND", "127.0.0.1", http_bind);
    INT("SAGA_HTTP_PORT", default_port, 0, 65535, http_port);
    INT("SAGA_HTTP_THREADS", 2, 1, 256, http_threads);
    INT("SAGA_HTTP_MAX_CONNECTIONS", 512, 1, 65536, http_max_connections);
    INT("SAGA_HTTP_MAX_CONNECTIONS_PER_ADDRESS", 128, 0, 65536, http_max_per_address);
    INT("SAGA_HTTP_TIMEOUT_S", 10, 1, 3600, http_timeout_s);
    INT("SAGA_HTTP_READY_CACHE_MS", 1000, 0, 60000, http_ready_cache_ms);
    if ((rc = saga_config_int("SAGA_HTTP_BODY_MAX", 65536, 1024, 64L * 1024 * 1024,
                              &cfg->http_body_max, err, errlen)))
        return rc;
    STR("SAGA_METRICS_BIND", "127.0.0.1", metrics_bind);
    /* /metrics has its own port so that it can stay on loopback or an internal
     * network while the API is exposed */
    int metrics_default = cfg->http_port && cfg->http_port + 1000 <= 65535 ? cfg->http_port + 1000 : 0;
    INT("SAGA_METRICS_PORT", metrics_default, 0, 65535, metrics_port);
    STR("SAGA_MYSQL_HOST", "127.0.0.1", mysql_host);
    INT("SAGA_MYSQL_PORT", 3306, 1, 65535, mysql_port);
    STR("SAGA_MYSQL_USER", def_name, mysql_user);
    if ((rc = saga_config_secret("SAGA_MYSQL_PASSWORD", "", cfg->mysql_password,
                                 sizeof(cfg->mysql_password), err, errlen)))
        return rc;
    STR("SAGA_MYSQL_DATABASE", def_name, mysql_database);
    STR("SAGA_MYSQL_SOCKET", "", mysql_socket);
    INT("SAGA_MYSQL_READ_TIMEOUT_S", 60, 1, 86400, mysql_read_timeout_s);
    STR("SAGA_MYSQL_MIGRATE_USER", "", mysql_migrate_user);
    if ((rc = saga_config_secret("SAGA_MYSQL_MIGRATE_PASSWORD", "", cfg->mysql_migrate_password, sizeof(cfg->mysql_migrate_password), err,
                                 errlen)))
        return rc;
    STR("SAGA_MIGRATIONS_DIR", "deploy/mysql", migrations_dir);
    STR("SAGA_SCHEMAS_DIR", "schemas", schemas_dir);
    STR("SAGA_KAFKA_BOOTSTRAP", "localhost:9092", kafka_bootstrap);
    snprintf(def_name, sizeof(def_name), "%s-service", service);
    STR("SAGA_KAFKA_GROUP", def_name, kafka_group);
    INT("SAGA_KAFKA_FETCH_WAIT_MS", 5, 0, 10000, kafka_fetch_wait_ms);
    INT("SAGA_KAFKA_SESSION_TIMEOUT_MS", 10000, 3000, 300000, kafka_session_timeout_ms);
    STR("SAGA_KAFKA_GROUP_INSTANCE_ID", "", kafka_group_instance_id);
    STR("SAGA_REDIS_HOST", "127.0.0.1", redis_host);
    INT("SAGA_REDIS_PORT", 6379, 1, 65535, redis_port);
    if ((rc = saga_config_secret("SAGA_REDIS_PASSWORD", "", cfg->redis_password, sizeof(cfg->redis_password), err,
                                 errlen)))
        return rc;
    INT("SAGA_REDIS_TIMEOUT_MS", 250, 1, 10000, redis_timeout_ms);
    INT("SAGA_BATCH_MAX", 500, 1, 100000, batch_max);
    INT("SAGA_BATCH_WAIT_MS", 5, 0, 60000, batch_wait_ms);
    INT("SAGA_MAX_ATTEMPTS", 3, 1, 100, max_attempts);
    INT("SAGA_RETRY_BASE_MS", 50, 1, 60000, retry_base_ms);
    INT("SAGA_RETRY_MAX_MS", 5000, 1, 600000, retry_max_ms);
    INT("SAGA_RELAY_BATCH_MAX", 1000, 1, 100000, relay_batch_max);
    INT("SAGA_RELAY_POLL_MS", 500, 10, 600000, relay_poll_ms);
    INT("SAGA_INBOX_RETENTION_HOURS", 168, 1, 87600, inbox_retention_hours);
    INT("SAGA_INBOX_PRUNE_INTERVAL_S", 300, 1, 86400, inbox_prune_interval_s);
#undef STR
#undef INT

    if ((rc = saga_config_str("SAGA_LOG_LEVEL", "info", level, sizeof(level), err, errlen)))
        return rc;
    if (saga_log_level_parse(level, &cfg->log_level) != 0) {
        snprintf(err, errlen, "SAGA_LOG_LEVEL: '%s' is not one of debug, info, warn, error",
                 level);
        return SAGA_ERR_INVALID;
    }
    /* Kafka's rule for group.instance.id, checked here rather than at the first join */
    for (const char *p = cfg->kafka_group_instance_id; *p; p++) {
        if (!isalnum((unsigned char)*p) && *p != '.' && *p != '_' && *p != '-') {
            snprintf(err, errlen,
                     "SAGA_KAFKA_GROUP_INSTANCE_ID: '%s' may hold only letters, digits, '.', '_' "
                     "and '-'",
                     cfg->kafka_group_instance_id);
            return SAGA_ERR_INVALID;
        }
    }
    if (cfg->retry_max_ms < cfg->retry_base_ms) {
        snprintf(err, errlen, "SAGA_RETRY_MAX_MS: %d is less than SAGA_RETRY_BASE_MS (%d)",
                 cfg->retry_max_ms, cfg->retry_base_ms);
        return SAGA_ERR_INVALID;
    }
    return SAGA_OK;
}
