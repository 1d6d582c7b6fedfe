#!/usr/bin/env bash
# deploy/local/down.sh - stop what deploy/local/up.sh started, by its pid files in
# .local/pids/: the services first, then the broker, Redis and MariaDB. SIGTERM,
# then SIGKILL after 15 s. Data under .local/ is kept.
#
#   deploy/local/down.sh            stop
#   deploy/local/down.sh --purge    stop and delete .local/ (all local data and logs)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=deploy/local/lib.sh
source "$ROOT/deploy/local/lib.sh"

LOCAL=$ROOT/.local
PIDS=$LOCAL/pids
purge=0
case "${1:-}" in
    "") ;;
    --purge) purge=1 ;;
    -h | --help)
        sed -n '2,7p' "${BASH_SOURCE[0]}"
        exit 0
        ;;
    *)
        saga_err "unknown option $1 (usage: down.sh [--purge])"
        exit 2
        ;;
esac

if [[ -d $PIDS ]]; then
    for svc in notification inventory payment order; do
        saga_stop "$svc" "$PIDS/$svc.pid" "$svc-service"
    done
    saga_stop broker "$PIDS/broker.pid" saga-broker
    rm -f "$LOCAL/kafka.bootstrap"
    saga_stop Redis "$PIDS/redis.pid" redis-server
    saga_mysql_stop "$PIDS/mariadb.pid" "$LOCAL/mysql.sock"
else
    saga_say "nothing to stop ($PIDS does not exist)"
fi

if ((purge)); then
    rm -rf "$LOCAL"
    saga_say "deleted $LOCAL"
fi
saga_say "local stack stopped"
