#!/usr/bin/env bash
# tests/harness/servers.sh - MariaDB, Redis and the local broker for the
# integration and e2e tests (the CTest fixture "servers"), on non-default ports
# in a fresh temporary directory.
#
#   servers.sh start STATEFILE BROKER_BINARY
#   servers.sh stop  STATEFILE
#
# start writes STATEFILE as KEY=VALUE lines (no quotes, no export): SAGA_TEST_DIR,
# SAGA_MYSQL_HOST, SAGA_MYSQL_PORT, SAGA_MYSQL_USER, SAGA_MYSQL_PASSWORD,
# SAGA_MYSQL_SOCKET, SAGA_MYSQL_ADMIN_USER, SAGA_REDIS_HOST, SAGA_REDIS_PORT,
# SAGA_REDIS_PASSWORD, SAGA_KAFKA_BOOTSTRAP, SAGA_BROKER_CONTROL_URL. The MySQL user
# saga_test (a password, over TCP) may create and use any database named saga_test_*;
# the server's administrator (SAGA_MYSQL_ADMIN_USER: root, or the user running the
# tests) logs in over the socket only, by unix-socket authentication, as on the local
# stack (deploy/local/lib.sh). Redis wants SAGA_REDIS_PASSWORD, made per run. The
# temporary directory and the socket are private (0700, 0600). A previous STATEFILE's
# servers are stopped first.
# stop stops them and deletes the temporary directory and STATEFILE.
#
# Ports: SAGA_TEST_MYSQL_PORT (23306), SAGA_TEST_REDIS_PORT (26379),
# SAGA_TEST_BROKER_CONTROL_PORT (29092).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=deploy/local/lib.sh
source "$HERE/../../deploy/local/lib.sh"

MYSQL_PORT=${SAGA_TEST_MYSQL_PORT:-23306}
REDIS_PORT=${SAGA_TEST_REDIS_PORT:-26379}
CONTROL_PORT=${SAGA_TEST_BROKER_CONTROL_PORT:-29092}
# Shape of the throwaway database: durable enough, small and quick to create.
MYSQL_FILE_OPTS=(--innodb-log-file-size=16M)
MYSQL_RUN_OPTS=(--innodb-flush-log-at-trx-commit=2 --innodb-buffer-pool-size=64M
    --max-connections=300)

usage() {
    echo "usage: servers.sh start STATEFILE BROKER_BINARY | servers.sh stop STATEFILE" >&2
    exit 2
}

# state_get STATEFILE KEY: prints KEY's value from STATEFILE.
state_get() {
    sed -n "s/^$2=//p" "$1" | head -n 1
}

# stop_dir DIR: stops the servers whose pid files are in DIR/pids, deletes DIR.
stop_dir() {
    local dir=$1
    [[ -d $dir ]] || return 0
    saga_stop broker "$dir/pids/broker.pid" saga-broker
    saga_stop Redis "$dir/pids/redis.pid" redis-server
    saga_mysql_stop "$dir/pids/mariadb.pid" "$dir/mysql.sock"
    case "$dir" in
        /tmp/saga-test.*) rm -rf "$dir" ;;
        *) saga_err "not deleting $dir: not a saga-test temporary directory" ;;
    esac
}

cmd_stop() {
    local state=$1 dir
    if [[ ! -f $state ]]; then
        echo "servers.sh: no state file $state, nothing to stop"
        return 0
    fi
    dir=$(state_get "$state" SAGA_TEST_DIR)
    [[ -n $dir ]] && stop_dir "$dir"
    rm -f "$state"
}

cmd_start() {
    local state=$1 broker=$2 dir t0=$SECONDS
    case "$broker" in
        /*) ;;
        *) broker=$PWD/$broker ;;
    esac
    if [[ -f $state ]]; then
        echo "servers.sh: stopping the servers of a previous run ($state)"
        cmd_stop "$state"
    fi
    mkdir -p "$(dirname "$state")"
    if [[ ! -x $broker ]]; then
        saga_err "broker binary $broker not found or not executable"
        return 1
    fi
    local port
    for port in "$MYSQL_PORT" "$REDIS_PORT" "$CONTROL_PORT"; do
        if saga_port_in_use "$port"; then
            saga_err "port $port is already in use (another test run, or a leftover server?)"
            return 1
        fi
    done

    dir=$(mktemp -d /tmp/saga-test.XXXXXX)
    # On any failure below: stop what did start and delete the directory.
    # shellcheck disable=SC2064
    trap "echo 'servers.sh: start failed, cleaning up' >&2; stop_dir '$dir' >&2" EXIT
    mkdir -p "$dir/logs" "$dir/pids"

    saga_mysql_init "$dir/mysql" "$dir/logs/mariadb.log" "${MYSQL_FILE_OPTS[@]}"
    saga_mysql_start "$dir/pids/mariadb.pid" "$dir/logs/mariadb.log" "$dir/mysql" \
        "$dir/mysql.sock" "$MYSQL_PORT" "${MYSQL_FILE_OPTS[@]}" "${MYSQL_RUN_OPTS[@]}"
    saga_mysql_secure "$dir/mysql.sock"
    saga_mysql "$dir/mysql.sock" -e "
        CREATE USER 'saga_test'@'127.0.0.1' IDENTIFIED BY 'saga_test';
        CREATE USER 'saga_test'@'localhost' IDENTIFIED BY 'saga_test';
        GRANT ALL PRIVILEGES ON \`saga\\_test%\`.* TO 'saga_test'@'127.0.0.1';
        GRANT ALL PRIVILEGES ON \`saga\\_test%\`.* TO 'saga_test'@'localhost';"

    # a new Redis password per run (hex: nothing to quote)
    (umask 077 && od -An -tx1 -N16 /dev/urandom | tr -d ' \n' >"$dir/redis.password")
    saga_redis_start "$dir/pids/redis.pid" "$dir/logs/redis.log" "$dir/redis" "$REDIS_PORT" \
        "$dir/redis.password"

    saga_broker_start "$dir/pids/broker.pid" "$dir/logs/broker.log" "$broker" \
        "$dir/kafka.bootstrap" "$CONTROL_PORT"

    # it holds passwords: the tests' user's alone
    (umask 077 && : >"$state.tmp")
    cat >"$state.tmp" <<EOF
SAGA_TEST_DIR=$dir
SAGA_MYSQL_HOST=127.0.0.1
SAGA_MYSQL_PORT=$MYSQL_PORT
SAGA_MYSQL_USER=saga_test
SAGA_MYSQL_PASSWORD=saga_test
SAGA_MYSQL_SOCKET=$dir/mysql.sock
SAGA_MYSQL_ADMIN_USER=$(saga_mysql_admin_user)
SAGA_REDIS_HOST=127.0.0.1
SAGA_REDIS_PORT=$REDIS_PORT
SAGA_REDIS_PASSWORD=$(<"$dir/redis.password")
SAGA_KAFKA_BOOTSTRAP=$(<"$dir/kafka.bootstrap")
SAGA_BROKER_CONTROL_URL=http://127.0.0.1:$CONTROL_PORT
EOF
    mv -f "$state.tmp" "$state"
    trap - EXIT
    echo "servers.sh: MariaDB :$MYSQL_PORT, Redis :$REDIS_PORT, broker" \
        "$(<"$dir/kafka.bootstrap") (control :$CONTROL_PORT) up in $((SECONDS - t0)) s;" \
        "state in $state, logs in $dir/logs"
}

case "${1:-}" in
    start)
        (($# == 3)) || usage
        cmd_start "$2" "$3"
        ;;
    stop)
        (($# == 2)) || usage
        cmd_stop "$2"
        ;;
    *) usage ;;
esac
