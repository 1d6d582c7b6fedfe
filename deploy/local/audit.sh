#!/usr/bin/env bash
# deploy/local/audit.sh - runs the invariant audit (saga-audit) against the local
# stack that up.sh started: the four databases over MariaDB's socket as the read-only
# user saga_audit (password in .local/secrets), saga-dlq on the local broker. The
# local broker keeps its topics in memory: dead letters recorded before it last
# started (.local/kafka.started) cannot be on its saga-dlq, and the audit reports them
# as lost with the broker, not as violations (SAGA_AUDIT_DLQ_SINCE). Exit status 0 when
# clean, 1 on any violation. Arguments go to saga-audit (--json, --allow-in-flight,
# --grace-ms N, --max-print N).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
LOCAL=$ROOT/.local
[[ -S $LOCAL/mysql.sock ]] || { echo "audit.sh: the local stack is not running (deploy/local/up.sh)" >&2; exit 2; }
export SAGA_AUDIT_MYSQL_SOCKET=$LOCAL/mysql.sock
export SAGA_AUDIT_MYSQL_HOST=localhost
if [[ -z ${SAGA_AUDIT_MYSQL_USER:-} ]]; then
    export SAGA_AUDIT_MYSQL_USER=saga_audit
    pwfile=$LOCAL/secrets/mysql-audit.password
    [[ -r $pwfile ]] || { echo "audit.sh: no $pwfile (run deploy/local/up.sh)" >&2; exit 2; }
    SAGA_AUDIT_MYSQL_PASSWORD=$(<"$pwfile")
    export SAGA_AUDIT_MYSQL_PASSWORD
fi
if [[ -f $LOCAL/kafka.bootstrap ]]; then
    export SAGA_KAFKA_BOOTSTRAP=$(cat "$LOCAL/kafka.bootstrap")
    [[ -s $LOCAL/kafka.started ]] && export SAGA_AUDIT_DLQ_SINCE=$(<"$LOCAL/kafka.started")
fi
exec "$ROOT/build-release/tools/saga-audit" "$@"
