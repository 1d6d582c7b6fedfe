/* audit.h - saga-audit: checks the invariants of docs/DESIGN.md section 5 across the
 * four services' databases (and the saga-dlq topic) after a run.
 *
 * Shape: every database is read in its own consistent snapshot, one service at a
 * time, into memory (per order id, see audit_data.h); the order database is read
 * last, in pages, and each order is checked against what the other services hold
 * about it. No cross-database JOIN: the databases may live on different servers.
 *
 * Output (stdout): one line per violation,
 *     VIOLATION inv2 order=<id>: CONFIRMED but no captured payment
 * then notes ("note: ...") and one summary line, "audit: N violations" or
 * "audit: clean (orders=.., confirmed=.., cancelled=.., products=.., wallets=..)";
 * with --json one more line: the whole result as one JSON object.
 * Exit status: 0 clean, 1 violations, 2 the audit could not run (connection,
 * missing table, broker unreachable, bad option). */
#ifndef SAGA_AUDIT_H
#define SAGA_AUDIT_H

#include <stdbool.h>
#include <stddef.h>

#include "saga/config.h"
#include "saga/db.h"

#define AUDIT_EXIT_CLEAN 0
#define AUDIT_EXIT_VIOLATIONS 1
#define AUDIT_EXIT_ERROR 2

typedef enum audit_svc {
    AUDIT_ORDER = 0,
    AUDIT_PAYMENT,
    AUDIT_INVENTORY,
    AUDIT_NOTIFICATION,
    AUDIT_NSVC,
} audit_svc;

/* "order", "payment", ... (the saga-service header value). Never NULL. */
const char *audit_svc_name(audit_svc svc);

typedef enum audit_inv {
    AUDIT_INV1 = 0, /* stock conservation per product */
    AUDIT_INV2,     /* CONFIRMED: one captured payment, committed reservations */
    AUDIT_INV3,     /* CANCELLED: nothing captured, nothing held or committed */
    AUDIT_INV3A,    /* money and stock only move for known orders */
    AUDIT_INV4,     /* wallet conservation */
    AUDIT_INV5,     /* nothing left in flight past its deadline */
    AUDIT_INV6,     /* one notification per order, trigger and channel */
    AUDIT_INV7,     /* dead letters accounted for; outboxes drained */
    AUDIT_NINV,
} audit_inv;

/* "inv1", ..., "inv3a", ... Never NULL. */
const char *audit_inv_name(audit_inv inv);

/* Options (command line) and connection settings (environment). */
typedef struct audit_opts {
    bool allow_in_flight;       /* --allow-in-flight: tolerate the legal states of a live system */
    bool json;                  /* --json */
    long grace_ms;              /* --grace-ms, default 5000 */
    long max_print;             /* --max-print: violations printed per invariant, 0 = all */
    saga_config db[AUDIT_NSVC]; /* connection of each service's database */
    char kafka_bootstrap[512];  /* SAGA_KAFKA_BOOTSTRAP; empty: saga-dlq not read */
    char dlq_topic[250];        /* SAGA_AUDIT_DLQ_TOPIC, default saga-dlq */
    long kafka_timeout_ms;      /* SAGA_AUDIT_KAFKA_TIMEOUT_MS, default 30000 */
    long mysql_read_timeout_s;  /* SAGA_AUDIT_MYSQL_READ_TIMEOUT_S, default 3600 */
    char dlq_since[24];         /* SAGA_AUDIT_DLQ_SINCE (RFC 3339 UTC) as "YYYY-MM-DD
                                 * HH:MM:SS.fff": when the broker holding saga-dlq
                                 * started with it empty (an in-memory broker); "" none */
} audit_opts;

/* Fills opts from argv and the environment. Returns SAGA_OK; SAGA_ERR_INVALID with
 * the reason in err; SAGA_ERR_NOT_FOUND when --help was given (usage printed). */
int audit_opts_load(audit_opts *opts, int argc, char **argv, char *err, size_t errlen);

/* ---- the report: violations, notes, counters ---- */

typedef enum audit_count {
    AUDIT_C_ORDERS = 0,
    AUDIT_C_CONFIRMED,
    AUDIT_C_CANCELLED,
    AUDIT_C_IN_FLIGHT, /* PENDING or AWAITING_PAYMENT */
    AUDIT_C_PRODUCTS,
    AUDIT_C_WALLETS,
    AUDIT_C_PAYMENTS,
    AUDIT_C_RESERVATIONS,
    AUDIT_C_NOTIFICATIONS,
    AUDIT_C_DEAD_LETTERS,
    AUDIT_C_DLQ_MESSAGES,
    AUDIT_NCOUNT,
} audit_count;

typedef struct audit_report audit_report;

/* A report printing on stdout as it goes. Free with audit_report_free. NULL: no memory. */
audit_report *audit_report_new(long max_print, bool json);
void audit_report_free(audit_report *r); /* NULL is fine */

/* Records one violation and prints its line (up to max_print per invariant):
 * "VIOLATION <inv> k1=v1 [k2=v2]: <message>". k2/v2 may be NULL. Ids and message
 * are printed with control characters replaced. */
void audit_violation(audit_report *r, audit_inv inv, const char *k1, const char *v1, const char *k2,
                     const char *v2, const char *fmt, ...) __attribute__((format(printf, 7, 8)));

/* A remark that is not a violation ("note: ..."), printed at once. */
void audit_note(audit_report *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

void audit_count_add(audit_report *r, audit_count c, long long n);

/* Total number of violations so far. */
long long audit_report_violations(const audit_report *r);

/* Prints the summary line (and the JSON object with --json). */
void audit_report_finish(audit_report *r);

/* Prints ids safely: a copy of s in buf with control characters as '?', cut to fit. */
const char *audit_safe(const char *s, char *buf, size_t buflen);

#endif
