#!/usr/bin/env bash
# deploy/local/audit.sh - runs the invariant audit (saga-audit) against the local
# stack that up.sh started: the four databases over MariaDB's socket, saga-dlq on
# the local broker. Exit status 0 when clean, 1 on any violation. Arguments go to
# saga-audit (--json, --allow-in-flight, --grace-ms N, --max-print N).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
LOCAL=$ROOT/.local
[[ -S $LOCAL/mysql.sock ]] || { echo "audit.sh: the local stack is not running (deploy/local/up.sh)" >&2; exit 2; }
export SAGA_AUDIT_MYSQL_SOCKET=$LOCAL/mysql.sock
export SAGA_AUDIT_MYSQL_USER=${SAGA_AUDIT_MYSQL_USER:-root}
export SAGA_AUDIT_MYSQL_HOST=localhost
[[ -f $LOCAL/kafka.bootstrap ]] && export SAGA_KAFKA_BOOTSTRAP=$(cat "$LOCAL/kafka.bootstrap")
exec "$ROOT/build-release/tools/saga-audit" "$@"
