/* console_opts.c - saga-console's settings from the environment (README,
 * "saga-console"). */
#include "console.h"

#include <stdio.h>
#include <string.h>

#include "saga/err.h"

const char *const console_svc_names[CONSOLE_NSVC] = {"order", "payment", "inventory",
                                                     "notification"};

static const char *const svc_upper[CONSOLE_NSVC] = {"ORDER", "PAYMENT", "INVENTORY",
                                                    "NOTIFICATION"};

/* The services' default HTTP ports; /metrics is on port + 1000. */
static const int svc_port[CONSOLE_NSVC] = {8081, 8082, 8083, 8084};

static int svc_setting(const char *svc, const char *what, const char *def, char *out, size_t outlen,
                       char *err, size_t errlen)
{
    char name[96];
    snprintf(name, sizeof(name), "SAGA_CONSOLE_%s_%s", svc, what);
    return saga_config_str(name, def, out, outlen, err, errlen);
}

/* A secret: SAGA_CONSOLE_<SVC>_<what> or SAGA_CONSOLE_<SVC>_<what>_FILE. */
static int svc_secret(const char *svc, const char *what, char *out, size_t outlen, char *err,
                      size_t errlen)
{
    char name[96];
    snprintf(name, sizeof(name), "SAGA_CONSOLE_%s_%s", svc, what);
    return saga_config_secret(name, "", out, outlen, err, errlen);
}

static int load_db(console_cfg *cfg, char *err, size_t errlen)
{
    char host[128], sock[256];
    long port = 0;
    int rc;

    if ((rc = saga_config_str("SAGA_CONSOLE_MYSQL_HOST", "127.0.0.1", host, sizeof(host), err,
                              errlen)) ||
        (rc = saga_config_int("SAGA_CONSOLE_MYSQL_PORT", 3306, 1, 65535, &port, err, errlen)) ||
        (rc = saga_config_str("SAGA_CONSOLE_MYSQL_SOCKET", "", sock, sizeof(sock), err, errlen)))
        return rc;
    for (int s = 0; s < CONSOLE_NSVC; s++) {
        saga_config *d = &cfg->db[s];
        char def[64];
        memset(d, 0, sizeof(*d));
        snprintf(d->service, sizeof(d->service), "%s", console_svc_names[s]);
        snprintf(d->mysql_host, sizeof(d->mysql_host), "%s", host);
        snprintf(d->mysql_socket, sizeof(d->mysql_socket), "%s", sock);
        d->mysql_port = (int)port;
        d->log_level = cfg->log_level;
        snprintf(def, sizeof(def), "saga_console_%s", console_svc_names[s]);
        if ((rc = svc_setting(svc_upper[s], "MYSQL_USER", def, d->mysql_user, sizeof(d->mysql_user),
                              err, errlen)) ||
            (rc = svc_secret(svc_upper[s], "MYSQL_PASSWORD", d->mysql_password,
                             sizeof(d->mysql_password), err, errlen)))
            return rc;
        snprintf(def, sizeof(def), "saga_%s", console_svc_names[s]);
        if ((rc = svc_setting(svc_upper[s], "DB", def, d->mysql_database, sizeof(d->mysql_database),
                              err, errlen)))
            return rc;
        if (!d->mysql_database[0]) {
            snprintf(err, errlen, "SAGA_CONSOLE_%s_DB: empty database name", svc_upper[s]);
            return SAGA_ERR_INVALID;
        }
    }
    return SAGA_OK;
}

static int load_services(console_cfg *cfg, char *err, size_t errlen)
{
    int rc;
    for (int s = 0; s < CONSOLE_NSVC; s++) {
        char def[128];
        snprintf(def, sizeof(def), "http://127.0.0.1:%d/metrics", svc_port[s] + 1000);
        if ((rc = svc_setting(svc_upper[s], "METRICS_URL", def, cfg->metrics_url[s],
                              sizeof(cfg->metrics_url[s]), err, errlen)))
            return rc;
        snprintf(def, sizeof(def), "%s-service", console_svc_names[s]);
        if ((rc = svc_setting(svc_upper[s], "GROUP", def, cfg->group[s], sizeof(cfg->group[s]), err,
                              errlen)))
            return rc;
    }
    return SAGA_OK;
}

int console_cfg_load(console_cfg *cfg, char *err, size_t errlen)
{
    static const char *const topics[CONSOLE_NTOPICS] = {
        "order-events", "inventory-events", "payment-events", "notification-events", "saga-dlq"};
    char level[16];
    long port = 0, threads = 0;
    int rc;

    memset(cfg, 0, sizeof(*cfg));
    for (int t = 0; t < CONSOLE_NTOPICS; t++)
        snprintf(cfg->topics[t], sizeof(cfg->topics[t]), "%s", topics[t]);
    if ((rc = saga_config_str("SAGA_LOG_LEVEL", "info", level, sizeof(level), err, errlen)))
        return rc;
    if (saga_log_level_parse(level, &cfg->log_level) != 0) {
        snprintf(err, errlen, "SAGA_LOG_LEVEL: '%s' is not one of debug, info, warn, error", level);
        return SAGA_ERR_INVALID;
    }
    if ((rc = saga_config_str("SAGA_CONSOLE_BIND", "127.0.0.1", cfg->bind, sizeof(cfg->bind), err,
                              errlen)) ||
        (rc = saga_config_int("SAGA_CONSOLE_PORT", 9000, 0, 65535, &port, err, errlen)) ||
        (rc = saga_config_int("SAGA_CONSOLE_THREADS", 2, 1, 64, &threads, err, errlen)) ||
        (rc = saga_config_str("SAGA_KAFKA_BOOTSTRAP", "localhost:9092", cfg->bootstrap,
                              sizeof(cfg->bootstrap), err, errlen)) ||
        (rc = saga_config_str("SAGA_CONSOLE_WEB_DIR", "", cfg->web_dir, sizeof(cfg->web_dir), err,
                              errlen)) ||
        (rc = saga_config_int("SAGA_CONSOLE_SCAN_MAX", 20000, 100, 1000000, &cfg->scan_max, err,
                              errlen)) ||
        (rc = saga_config_int("SAGA_CONSOLE_DLQ_MAX", 200, 1, 10000, &cfg->dlq_max, err, errlen)) ||
        (rc = saga_config_int("SAGA_CONSOLE_KAFKA_TIMEOUT_MS", 10000, 100, 600000, &cfg->timeout_ms,
                              err, errlen)))
        return rc;
    cfg->port = (int)port;
    cfg->threads = (int)threads;
    if ((rc = load_db(cfg, err, errlen)) || (rc = load_services(cfg, err, errlen)))
        return rc;
    return SAGA_OK;
}
