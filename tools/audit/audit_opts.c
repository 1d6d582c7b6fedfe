/* audit_opts.c - command line and environment of saga-audit. */
#include "audit.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "saga/err.h"

static const char usage_text[] =
    "usage: saga-audit [--allow-in-flight] [--grace-ms N] [--json] [--max-print N]\n"
    "\n"
    "Checks the invariants of docs/DESIGN.md section 5 across the four services' databases\n"
    "and the saga-dlq topic. Exit status: 0 clean, 1 violations, 2 could not run.\n"
    "\n"
    "  --allow-in-flight  tolerate the legal states of a system that has not drained\n"
    "                     (an OrderCancelled not yet applied, PENDING notifications,\n"
    "                     unpublished outbox rows); default: strict\n"
    "  --grace-ms N       inv5: orders past their deadline by more than N ms (5000)\n"
    "  --json             also print the result as one JSON object (the last line)\n"
    "  --max-print N      print at most N violations per invariant, 0 = all (1000)\n"
    "  -V, --version      the version and the commit of this build\n"
    "\n"
    "Environment (defaults in brackets):\n"
    "  SAGA_AUDIT_MYSQL_HOST [127.0.0.1], SAGA_AUDIT_MYSQL_PORT [3306],\n"
    "  SAGA_AUDIT_MYSQL_USER [root], SAGA_AUDIT_MYSQL_PASSWORD [], SAGA_AUDIT_MYSQL_SOCKET []\n"
    "  SAGA_AUDIT_<SVC>_MYSQL_HOST/PORT/USER/PASSWORD/SOCKET  per service (SVC = ORDER,\n"
    "      PAYMENT, INVENTORY, NOTIFICATION), each defaulting to the shared setting\n"
    "  every *_PASSWORD may instead be given as *_PASSWORD_FILE, a file holding it\n"
    "  SAGA_AUDIT_<SVC>_DB [saga_order, saga_payment, saga_inventory, saga_notification]\n"
    "  SAGA_AUDIT_MYSQL_READ_TIMEOUT_S [3600]  how long one query's answer may take\n"
    "  SAGA_KAFKA_BOOTSTRAP []  read saga-dlq for inv7; unset: skipped with a note\n"
    "  SAGA_AUDIT_DLQ_TOPIC [saga-dlq], SAGA_AUDIT_KAFKA_TIMEOUT_MS [30000]\n"
    "  SAGA_AUDIT_DLQ_SINCE []  when the broker holding saga-dlq started empty (an\n"
    "      in-memory broker restarted; RFC 3339 UTC, 2026-12-06T05:00:00.000Z): dead letters\n"
    "      recorded before it and missing from saga-dlq are reported as lost with the\n"
    "      broker, not as violations\n";

static const char *const svc_upper[AUDIT_NSVC] = {"ORDER", "PAYMENT", "INVENTORY", "NOTIFICATION"};

/* A string setting: SAGA_AUDIT_<SVC>_<what> if set, else the shared value. */
static int svc_str(const char *svc, const char *what, const char *shared, char *out, size_t outlen,
                   char *err, size_t errlen)
{
    char name[96];
    snprintf(name, sizeof(name), "SAGA_AUDIT_%s_%s", svc, what);
    return saga_config_str(name, shared, out, outlen, err, errlen);
}

/* A secret setting: SAGA_AUDIT_<SVC>_<what> or its _FILE if set, else the shared value. */
static int svc_secret(const char *svc, const char *what, const char *shared, char *out,
                      size_t outlen, char *err, size_t errlen)
{
    char name[96];
    snprintf(name, sizeof(name), "SAGA_AUDIT_%s_%s", svc, what);
    return saga_config_secret(name, shared, out, outlen, err, errlen);
}

static int parse_long(const char *opt, const char *val, long min, long max, long *out, char *err,
                      size_t errlen)
{
    char *end = NULL;
    long v;
    if (!val) {
        snprintf(err, errlen, "%s needs a value", opt);
        return SAGA_ERR_INVALID;
    }
    errno = 0;
    v = strtol(val, &end, 10);
    if (errno || end == val || *end || v < min || v > max) {
        snprintf(err, errlen, "%s: '%s' is not an integer in %ld..%ld", opt, val, min, max);
        return SAGA_ERR_INVALID;
    }
    *out = v;
    return SAGA_OK;
}

/* SAGA_AUDIT_DLQ_SINCE: an RFC 3339 UTC time ("2026-12-06T05:00:00Z", fractions of a
 * second optional, at most milliseconds used) into out as MySQL's "YYYY-MM-DD
 * HH:MM:SS.fff"; unset: out is "". */
static int load_since(char *out, size_t outlen, char *err, size_t errlen)
{
    char text[64], frac[4] = "000";
    int y, mo, d, h, mi, sec, n = 0;
    const char *p;
    int rc = saga_config_str("SAGA_AUDIT_DLQ_SINCE", "", text, sizeof(text), err, errlen);

    out[0] = '\0';
    if (rc || !text[0])
        return rc;
    if (sscanf(text, "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &sec, &n) != 6 ||
        n != 19 || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 59)
        goto bad;
    p = text + n;
    if (*p == '.') {
        size_t digits = strspn(++p, "0123456789");
        if (digits == 0)
            goto bad;
        memcpy(frac, p, digits < 3 ? digits : 3);
        p += digits;
    }
    if (strcmp(p, "Z") != 0)
        goto bad;
    if ((size_t)snprintf(out, outlen, "%04d-%02d-%02d %02d:%02d:%02d.%.3s", y, mo, d, h, mi,
                         sec, frac) >= outlen)
        goto bad;
    return SAGA_OK;
bad:
    snprintf(err, errlen,
             "SAGA_AUDIT_DLQ_SINCE: '%s' is not an RFC 3339 UTC time (2026-12-06T05:00:00.000Z)",
             text);
    return SAGA_ERR_INVALID;
}

static int load_env(audit_opts *o, char *err, size_t errlen)
{
    char host[128], user[64], password[128], sock[256];
    long port = 0;
    int rc;

    if ((rc = saga_config_str("SAGA_AUDIT_MYSQL_HOST", "127.0.0.1", host, sizeof(host), err,
                              errlen)) ||
        (rc = saga_config_int("SAGA_AUDIT_MYSQL_PORT", 3306, 1, 65535, &port, err, errlen)) ||
        (rc = saga_config_str("SAGA_AUDIT_MYSQL_USER", "root", user, sizeof(user), err, errlen)) ||
        (rc = saga_config_secret("SAGA_AUDIT_MYSQL_PASSWORD", "", password, sizeof(password),
                                 err, errlen)) ||
        (rc = saga_config_str("SAGA_AUDIT_MYSQL_SOCKET", "", sock, sizeof(sock), err, errlen)) ||
        (rc = saga_config_int("SAGA_AUDIT_MYSQL_READ_TIMEOUT_S", 3600, 1, 86400,
                              &o->mysql_read_timeout_s, err, errlen)))
        return rc;

    for (int s = 0; s < AUDIT_NSVC; s++) {
        saga_config *c = &o->db[s];
        const char *up = svc_upper[s];
        char name[64], def_db[64];
        long p = 0;

        memset(c, 0, sizeof(*c));
        snprintf(c->service, sizeof(c->service), "%s", audit_svc_name((audit_svc)s));
        snprintf(def_db, sizeof(def_db), "saga_%s", audit_svc_name((audit_svc)s));
        snprintf(name, sizeof(name), "SAGA_AUDIT_%s_DB", up);
        if ((rc = saga_config_str(name, def_db, c->mysql_database, sizeof(c->mysql_database), err,
                                  errlen)) ||
            (rc = svc_str(up, "MYSQL_HOST", host, c->mysql_host, sizeof(c->mysql_host), err,
                          errlen)) ||
            (rc = svc_str(up, "MYSQL_USER", user, c->mysql_user, sizeof(c->mysql_user), err,
                          errlen)) ||
            (rc = svc_secret(up, "MYSQL_PASSWORD", password, c->mysql_password,
                             sizeof(c->mysql_password), err, errlen)) ||
            (rc = svc_str(up, "MYSQL_SOCKET", sock, c->mysql_socket, sizeof(c->mysql_socket), err,
                          errlen)))
            return rc;
        snprintf(name, sizeof(name), "SAGA_AUDIT_%s_MYSQL_PORT", up);
        if ((rc = saga_config_int(name, port, 1, 65535, &p, err, errlen)))
            return rc;
        c->mysql_port = (int)p;
        /* a whole-table read of a grown database (a GROUP BY over millions of payments
         * with a cold buffer pool) can take minutes before its first row */
        c->mysql_read_timeout_s = (int)o->mysql_read_timeout_s;
        if (!c->mysql_database[0]) {
            snprintf(err, errlen, "SAGA_AUDIT_%s_DB: empty database name", up);
            return SAGA_ERR_INVALID;
        }
    }
    if ((rc = saga_config_str("SAGA_KAFKA_BOOTSTRAP", "", o->kafka_bootstrap,
                              sizeof(o->kafka_bootstrap), err, errlen)) ||
        (rc = saga_config_str("SAGA_AUDIT_DLQ_TOPIC", "saga-dlq", o->dlq_topic,
                              sizeof(o->dlq_topic), err, errlen)) ||
        (rc = saga_config_int("SAGA_AUDIT_KAFKA_TIMEOUT_MS", 30000, 100, 3600000,
                              &o->kafka_timeout_ms, err, errlen)) ||
        (rc = load_since(o->dlq_since, sizeof(o->dlq_since), err, errlen)))
        return rc;
    return SAGA_OK;
}

int audit_opts_load(audit_opts *o, int argc, char **argv, char *err, size_t errlen)
{
    int rc;

    memset(o, 0, sizeof(*o));
    o->grace_ms = 5000;
    o->max_print = 1000;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--allow-in-flight")) {
            o->allow_in_flight = true;
        } else if (!strcmp(a, "--json")) {
            o->json = true;
        } else if (!strcmp(a, "--grace-ms")) {
            if ((rc = parse_long(a, i + 1 < argc ? argv[++i] : NULL, 0, 86400000L * 365,
                                 &o->grace_ms, err, errlen)))
                return rc;
        } else if (!strcmp(a, "--max-print")) {
            if ((rc = parse_long(a, i + 1 < argc ? argv[++i] : NULL, 0, 1000000000L, &o->max_print,
                                 err, errlen)))
                return rc;
        } else if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            fputs(usage_text, stdout);
            return SAGA_ERR_NOT_FOUND;
        } else {
            snprintf(err, errlen, "unknown option '%s' (--help lists them)", a);
            return SAGA_ERR_INVALID;
        }
    }
    return load_env(o, err, errlen);
}
