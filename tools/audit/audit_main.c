/* saga-audit: checks the invariants of docs/DESIGN.md section 5 (see audit.h).
 *
 *   saga-audit [--allow-in-flight] [--grace-ms N] [--json] [--max-print N]
 *
 * Exit status 0 clean, 1 violations, 2 could not run (the message on stderr names
 * the database, server or broker). */
#include <stdio.h>
#include <stdlib.h>

#include "audit.h"
#include "audit_check.h"
#include "audit_db.h"
#include "saga/err.h"
#include "saga/log.h"
#include "saga/version.h"

/* Snapshot order: the order database last (see audit_check.h). */
static const audit_svc snapshot_order[AUDIT_NSVC] = {AUDIT_PAYMENT, AUDIT_INVENTORY,
                                                     AUDIT_NOTIFICATION, AUDIT_ORDER};

static int audit_run(audit_ctx *ctx)
{
    int rc;
    if ((rc = audit_db_open_all(ctx)))
        return rc;
    if ((rc = audit_dlq_begin(ctx)))
        return rc;
    for (int i = 0; i < AUDIT_NSVC; i++) {
        if ((rc = audit_db_snapshot(ctx, snapshot_order[i])))
            return rc;
    }
    if ((rc = audit_payment_check(ctx)) || (rc = audit_inventory_check(ctx)) ||
        (rc = audit_notification_check(ctx)) || (rc = audit_dlq_check(ctx)) ||
        (rc = audit_orders_check(ctx)))
        return rc;
    return SAGA_OK;
}

int main(int argc, char **argv)
{
    audit_opts opts;
    audit_ctx ctx = {0};
    char err[512] = "";
    int rc, status = AUDIT_EXIT_ERROR;

    if (saga_version_requested(argc, argv, "saga-audit"))
        return 0;
    rc = audit_opts_load(&opts, argc, argv, err, sizeof(err));
    if (rc == SAGA_ERR_NOT_FOUND)
        return AUDIT_EXIT_CLEAN; /* --help */
    if (rc) {
        fprintf(stderr, "saga-audit: %s\n", err);
        return AUDIT_EXIT_ERROR;
    }
    saga_log_init("audit", SAGA_LOG_ERROR);
    saga_db_library_init();

    ctx.opts = &opts;
    ctx.dlq_npart = -1;
    if (!(ctx.r = audit_report_new(opts.max_print, opts.json)) ||
        !(ctx.arena = audit_arena_new()) || !(ctx.sides = audit_map_new(ctx.arena))) {
        fprintf(stderr, "saga-audit: out of memory\n");
        goto out;
    }
    if ((rc = audit_run(&ctx))) {
        fflush(stdout);
        fprintf(stderr, "saga-audit: cannot audit: %s\n", ctx.err[0] ? ctx.err : saga_rc_str(rc));
        goto out;
    }
    audit_report_finish(ctx.r);
    status = audit_report_violations(ctx.r) ? AUDIT_EXIT_VIOLATIONS : AUDIT_EXIT_CLEAN;
out:
    audit_dlq_end(&ctx);
    audit_db_close_all(&ctx);
    audit_map_free(ctx.sides);
    audit_arena_free(ctx.arena);
    audit_report_free(ctx.r);
    saga_db_library_end();
    return status;
}
