/* audit_check.h - the checks, one file per service's data, sharing one context.
 *
 * Order of a run (audit_main.c): dlq watermarks, then payment, inventory,
 * notification (loaded into ctx->sides and checked on their own), dead letters and
 * outboxes, and last the orders, each checked against ctx->sides. Reading the order
 * database last keeps inv3a sound on a live system: an order is always committed
 * before any other service can hear of it. Every check returns SAGA_OK (violations
 * go to the report) or an error that stops the audit, described in ctx->err. */
#ifndef SAGA_AUDIT_CHECK_H
#define SAGA_AUDIT_CHECK_H

#include <stdint.h>

#include "audit.h"
#include "audit_data.h"

#define AUDIT_MAX_CHANNELS 16
#define AUDIT_MAX_DLQ_PARTITIONS 1024

typedef struct audit_ctx {
    const audit_opts *opts;
    audit_report *r;
    saga_db *db[AUDIT_NSVC];
    audit_arena *arena;
    audit_map *sides;                         /* order id -> audit_side */
    const char *channels[AUDIT_MAX_CHANNELS]; /* distinct notification channels (arena) */
    size_t nchannels;
    /* saga-dlq, read before the databases: what is below these offsets was published
     * before the snapshots were taken (dlq_npart < 0: topic not read) */
    int dlq_npart;
    int64_t dlq_low[AUDIT_MAX_DLQ_PARTITIONS];
    int64_t dlq_high[AUDIT_MAX_DLQ_PARTITIONS];
    void *dlq_rk;  /* rd_kafka_t *, owned; see audit_dlq.c */
    char err[768]; /* why the audit could not run */
} audit_ctx;

/* Runs sql on svc's database (prepared, params borrowed), fn per row. On failure
 * fills ctx->err naming the service, database and error. */
int audit_query(audit_ctx *ctx, audit_svc svc, const char *sql, const saga_param *params,
                size_t nparams, saga_row_fn fn, void *ud);

/* An id column (BINARY(16)) in text form, in buf; NULL if it is NULL. A column that
 * is not 16 bytes reads as "" (never a stored id's spelling). */
const char *audit_row_id(const saga_row *row, size_t col, char buf[SAGA_TEXT_UUID_LEN + 1]);

/* Copies s into the arena; NULL on no memory (sets ctx->err). */
const char *audit_dup(audit_ctx *ctx, const char *s);

int audit_payment_check(audit_ctx *ctx);      /* inv4; loads payments, cancelled_orders */
int audit_inventory_check(audit_ctx *ctx);    /* inv1; loads reservations */
int audit_notification_check(audit_ctx *ctx); /* inv6 duplicates; loads notifications */
int audit_orders_check(audit_ctx *ctx);       /* inv2, 3, 3a, 5, 6 */

/* inv7, in two steps: watermarks before the database snapshots, then the rest. */
int audit_dlq_begin(audit_ctx *ctx);
int audit_dlq_check(audit_ctx *ctx);
void audit_dlq_end(audit_ctx *ctx); /* frees the Kafka client; safe to call twice */

#endif
