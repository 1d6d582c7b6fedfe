/* audit_db.h - the audit's connections: one per service's database, each reading
 * in its own consistent snapshot (REPEATABLE READ, READ ONLY). */
#ifndef SAGA_AUDIT_DB_H
#define SAGA_AUDIT_DB_H

#include "audit_check.h"

/* Opens ctx->db[*] with ctx->opts->db[*]. On failure ctx->err names the service,
 * database, server and user, and returns SAGA_ERR_UNAVAILABLE. */
int audit_db_open_all(audit_ctx *ctx);
/* Ends the snapshots and closes every connection; safe on half-opened ctx. */
void audit_db_close_all(audit_ctx *ctx);
/* Takes svc's snapshot now: every later query of that connection sees the
 * database as it is at this moment. */
int audit_db_snapshot(audit_ctx *ctx, audit_svc svc);

#endif
