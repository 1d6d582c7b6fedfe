#!/usr/bin/env bash
# deploy/local/down.sh - stop what deploy/local/up.sh started, by its pid files in
# .local/pids/: saga-console and the services first, then the broker, Redis and MariaDB. SIGTERM,
# then SIGKILL after 15 s. Data under .local/ is kept.
#
#   deploy/local/down.sh              stop
#   deploy/local/down.sh --purge      stop and delete .local/ (all local data and logs)
#   deploy/local/down.sh --services   stop the console, the four services and the broker only
#                                     (MariaDB and Redis keep running; up.sh starts the rest)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=deploy/local/lib.sh
source "$ROOT/deploy/local/lib.sh"

LOCAL=$ROOT/.local
PIDS=$LOCAL/pids
purge=0
services_only=0
case "${1:-}" in
    "") ;;
    --purge) purge=1 ;;
    --services) services_only=1 ;;
    -h | --help)
        sed -n '2,9p' "${BASH_SOURCE[0]}"
        exit 0
        ;;
    *)
        saga_err "unknown option $1 (usage: down.sh [--purge | --services])"
        exit 2
        ;;
esac

if [[ -d $PIDS ]]; then
    saga_stop console "$PIDS/console.pid" saga-console
    for svc in notification inventory payment order; do
        saga_stop "$svc" "$PIDS/$svc.pid" "$svc-service"
    done
    saga_stop broker "$PIDS/broker.pid" saga-broker
    rm -f "$LOCAL/kafka.bootstrap"
    if ((!services_only)); then
        saga_stop Redis "$PIDS/redis.pid" redis-server
        saga_mysql_stop "$PIDS/mariadb.pid" "$LOCAL/mysql.sock"
    fi
else
    saga_say "nothing to stop ($PIDS does not exist)"
fi

if ((purge)); then
    rm -rf "$LOCAL"
    saga_say "deleted $LOCAL"
fi
saga_say "local stack stopped"
