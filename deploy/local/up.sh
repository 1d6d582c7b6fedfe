#!/usr/bin/env bash
# deploy/local/up.sh - start the whole platform locally, without Docker.
#
# Installs missing Debian packages, builds Release into build-release/, then starts
# MariaDB, Redis, the local Kafka-protocol broker (saga-broker) and the four
# services, everything under .local/ in the checkout (data, pid files, logs in
# .local/logs/<name>.log). Safe to run again: what is already running is left alone.
# Secrets (made on first run, deploy/local/secrets.sh): .local/secrets/ holds the JWT
# key pair the services verify tokens with, the MariaDB passwords (each service's
# runtime and migration users, the audit's read-only user) and Redis's password;
# mint tokens with deploy/local/token.sh SUBJECT [--admin]. MariaDB's root (and the
# administrator: the user running this) logs in over the socket only, by unix-socket
# authentication; .local/ and the socket are private to that user.
# Last, saga-console (tools/console) on http://127.0.0.1:9000 (SAGA_LOCAL_CONSOLE_PORT),
# reading each database as its own read-only user saga_console_<service>.
# Stop with deploy/local/down.sh (add --purge to delete .local/ too).
#
# Environment (all optional):
#   SAGA_LOCAL_MYSQL_PORT           MariaDB port on 127.0.0.1     (13306)
#   SAGA_LOCAL_REDIS_PORT           Redis port on 127.0.0.1       (16379)
#   SAGA_LOCAL_BROKER_CONTROL_PORT  broker control API port       (19092)
#   SAGA_TOPIC_PARTITIONS           partitions per topic          (6)
#   SAGA_LOCAL_BROKERS              brokers in the mock cluster   (3)
#   SAGA_LOCAL_CONSOLE_PORT         saga-console on 127.0.0.1      (9000)
#   SAGA_LOCAL_MYSQL_OPTIONS        more mariadbd options, after the stack's own (a
#                                   later option wins), e.g. to benchmark other settings
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=deploy/local/lib.sh
source "$ROOT/deploy/local/lib.sh"
# shellcheck source=deploy/local/secrets.sh
source "$ROOT/deploy/local/secrets.sh"
cd "$ROOT"

LOCAL=$ROOT/.local
LOGS=$LOCAL/logs
PIDS=$LOCAL/pids
BUILD=$ROOT/build-release
MYSQL_PORT=${SAGA_LOCAL_MYSQL_PORT:-13306}
MYSQL_SOCK=$LOCAL/mysql.sock
REDIS_PORT=${SAGA_LOCAL_REDIS_PORT:-16379}
CONTROL_PORT=${SAGA_LOCAL_BROKER_CONTROL_PORT:-19092}
BROKERS=${SAGA_LOCAL_BROKERS:-3}
BOOTSTRAP_FILE=$LOCAL/kafka.bootstrap
CONSOLE_PORT=${SAGA_LOCAL_CONSOLE_PORT:-9000}
SERVICES=(order payment inventory notification)
declare -A HTTP_PORT=([order]=8081 [payment]=8082 [inventory]=8083 [notification]=8084)

# ---- dependencies and build ----------------------------------------------------
saga_say "checking Debian packages"
"$ROOT/deploy/install-deps.sh"

saga_say "building (Release) into $BUILD"
cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$BUILD" -j2

mkdir -p "$LOGS" "$PIDS" "$LOCAL/redis"
# data, sockets, logs and secrets: the stack's user's alone (MariaDB's socket lives here)
chmod 0700 "$LOCAL"

# JWT key pair and MariaDB passwords: made on first run, kept in .local/secrets/
SECRETS=$LOCAL/secrets
saga_secrets_init "$SECRETS" "$BUILD/tools/saga-token"

# ---- MariaDB ------------------------------------------------------------------
if saga_pid_alive "$PIDS/mariadb.pid" mariadbd; then
    saga_say "MariaDB: already running (pid $(saga_pid_read "$PIDS/mariadb.pid"))"
else
    saga_say "MariaDB: starting on 127.0.0.1:$MYSQL_PORT (data in $LOCAL/mysql)"
    saga_mysql_init "$LOCAL/mysql" "$LOGS/mariadb.log"
    # Durable commits (flush_log_at_trx_commit=1); a redo log large enough that
    # checkpoints do not force page flushing under a sustained load, a buffer pool that
    # holds the hot end of every index of a grown database, and flushing sized for an
    # SSD (no neighbour pages, 2000 IOPS): docs/PERFORMANCE.md, "Fast when full". The
    # whole pool's page list is saved at shutdown and read back at start (the default
    # is a quarter of it), so a restart does not leave a grown database cold.
    # shellcheck disable=SC2086 # SAGA_LOCAL_MYSQL_OPTIONS: one word per option
    saga_mysql_start "$PIDS/mariadb.pid" "$LOGS/mariadb.log" "$LOCAL/mysql" "$MYSQL_SOCK" \
        "$MYSQL_PORT" --innodb-flush-log-at-trx-commit=1 --innodb-buffer-pool-size=2G \
        --innodb-log-file-size=1G --innodb-flush-neighbors=0 --innodb-io-capacity=2000 \
        --innodb-io-capacity-max=4000 --innodb-buffer-pool-dump-pct=100 \
        --max-connections=500 ${SAGA_LOCAL_MYSQL_OPTIONS:-}
fi
chmod 0600 "$MYSQL_SOCK" # also for a server started before (world-writable socket)

# Root and the administrator by unix-socket authentication only; nothing without a
# password over TCP (a data directory from before had a password-less root there).
saga_mysql_secure "$MYSQL_SOCK"

# One database per service and two users (deploy/local/lib.sh,
# saga_mysql_service_users_sql): saga_<svc> runs the service (SELECT, INSERT, UPDATE,
# DELETE on its database only), saga_<svc>_migrate applies its migrations at start;
# passwords from .local/secrets (set again: a .local from before keeps working, its
# users lose what they no longer need). saga_audit reads the four databases. Idempotent.
sql=""
for svc in "${SERVICES[@]}"; do
    sql+=$(saga_mysql_service_users_sql "saga_$svc" "saga_$svc" \
        "$(saga_secrets_password "$SECRETS" "mysql-$svc")" "saga_${svc}_migrate" \
        "$(saga_secrets_password "$SECRETS" "mysql-$svc-migrate")" 127.0.0.1 localhost)
done
audit_pw=$(saga_secrets_password "$SECRETS" mysql-audit)
sql+="CREATE USER IF NOT EXISTS 'saga_audit'@'localhost' IDENTIFIED BY '$audit_pw';"
sql+="ALTER USER 'saga_audit'@'localhost' IDENTIFIED BY '$audit_pw';"
sql+="REVOKE ALL PRIVILEGES, GRANT OPTION FROM 'saga_audit'@'localhost';"
for svc in "${SERVICES[@]}"; do
    sql+="GRANT SELECT ON \`saga\\_$svc\`.* TO 'saga_audit'@'localhost';"
done
# saga-console's read-only user on each database: SELECT on it and nothing else
for svc in "${SERVICES[@]}"; do
    ro=saga_console_$svc
    pw=$(saga_secrets_password "$SECRETS" "mysql-console-$svc")
    for host in 127.0.0.1 localhost; do
        sql+="CREATE USER IF NOT EXISTS '$ro'@'$host' IDENTIFIED BY '$pw';"
        sql+="ALTER USER '$ro'@'$host' IDENTIFIED BY '$pw';"
        sql+="REVOKE ALL PRIVILEGES, GRANT OPTION FROM '$ro'@'$host';"
        sql+="GRANT SELECT ON \`saga\\_$svc\`.* TO '$ro'@'$host';"
    done
done
# on stdin, not argv: the passwords stay out of the process list
saga_mysql "$MYSQL_SOCK" <<<"$sql"
saga_say "MariaDB: databases and users saga_{order,payment,inventory,notification}[_migrate], saga_audit ready"
saga_say "MariaDB: saga-console's read-only users saga_console_{order,payment,inventory,notification} ready"

# ---- Redis --------------------------------------------------------------------
REDIS_PW_FILE=$SECRETS/redis.password
if saga_pid_alive "$PIDS/redis.pid" redis-server && ! saga_redis_ping "$REDIS_PORT" "" &&
    saga_redis_ping "$REDIS_PORT" "$REDIS_PW_FILE"; then
    saga_say "Redis: already running (pid $(saga_pid_read "$PIDS/redis.pid"))"
else
    # one started before Redis had a password answers without one: it holds only
    # hints and rate-limit buckets, so it is started again
    saga_stop Redis "$PIDS/redis.pid" redis-server
    saga_say "Redis: starting on 127.0.0.1:$REDIS_PORT (password in $REDIS_PW_FILE)"
    saga_redis_start "$PIDS/redis.pid" "$LOGS/redis.log" "$LOCAL/redis" "$REDIS_PORT" \
        "$REDIS_PW_FILE"
fi

# ---- broker -------------------------------------------------------------------
if saga_pid_alive "$PIDS/broker.pid" saga-broker && [[ -s $BOOTSTRAP_FILE ]]; then
    saga_say "broker: already running (pid $(saga_pid_read "$PIDS/broker.pid"))"
else
    saga_stop broker "$PIDS/broker.pid" saga-broker
    saga_say "broker: starting (control API on 127.0.0.1:$CONTROL_PORT)"
    # it keeps its topics in memory and starts empty: audit.sh tells the audit when,
    # so dead letters published to the broker before are reported as lost with it
    date -u +%Y-%m-%dT%H:%M:%S.%3NZ >"$LOCAL/kafka.started"
    saga_broker_start "$PIDS/broker.pid" "$LOGS/broker.log" \
        "$BUILD/deploy/local/saga-broker" "$BOOTSTRAP_FILE" "$CONTROL_PORT" --brokers "$BROKERS"
fi
BOOTSTRAP=$(<"$BOOTSTRAP_FILE")
saga_say "broker: bootstrap servers $BOOTSTRAP"

# ---- services -----------------------------------------------------------------
up=()
for svc in "${SERVICES[@]}"; do
    bin=$BUILD/services/$svc/$svc-service
    port=${HTTP_PORT[$svc]}
    pidfile=$PIDS/$svc.pid
    pw=$(saga_secrets_password "$SECRETS" "mysql-$svc")
    mpw=$(saga_secrets_password "$SECRETS" "mysql-$svc-migrate")
    rpw=$(saga_secrets_password "$SECRETS" redis)
    # The mock listens on new random ports at each start (and keeps nothing): a
    # service still running with another broker's list is restarted, and so is one
    # started with other secrets (its MariaDB password was just changed).
    if saga_pid_alive "$pidfile" "$svc-service" &&
        saga_secrets_service_stale "$pidfile" "SAGA_KAFKA_BOOTSTRAP=$BOOTSTRAP" \
            "SAGA_MYSQL_PASSWORD=$pw" "SAGA_MYSQL_MIGRATE_USER=saga_${svc}_migrate" \
            "SAGA_MYSQL_MIGRATE_PASSWORD=$mpw" "SAGA_REDIS_PASSWORD=$rpw" \
            "SAGA_JWT_KEY_FILE=$SECRETS/jwt-public.pem"; then
        saga_say "$svc: restarting (it runs against a broker that is gone, or older secrets)"
        saga_stop "$svc" "$pidfile" "$svc-service"
    fi
    if saga_pid_alive "$pidfile" "$svc-service"; then
        saga_say "$svc: already running (pid $(saga_pid_read "$pidfile"))"
    elif [[ ! -x $bin ]]; then
        saga_say "$svc: $bin is not built (yet), skipping"
        continue
    else
        if saga_port_in_use "$port"; then
            saga_err "port $port is already in use: cannot start the $svc service there"
            exit 1
        fi
        saga_say "$svc: starting on 127.0.0.1:$port"
        # The mock broker ignores static membership (group.instance.id) and holds a
        # rebalance for the session timeout less 1 s: a short session lets a
        # restarted service take its partitions back about 2 s after it joins.
        SAGA_KAFKA_SESSION_TIMEOUT_MS=${SAGA_KAFKA_SESSION_TIMEOUT_MS:-3000} \
            SAGA_HTTP_PORT=$port \
            SAGA_MYSQL_HOST=127.0.0.1 SAGA_MYSQL_PORT=$MYSQL_PORT \
            SAGA_MYSQL_USER=saga_$svc SAGA_MYSQL_PASSWORD=$pw \
            SAGA_MYSQL_MIGRATE_USER=saga_${svc}_migrate SAGA_MYSQL_MIGRATE_PASSWORD=$mpw \
            SAGA_JWT_ALG=ES256 SAGA_JWT_KEY_FILE=$SECRETS/jwt-public.pem SAGA_JWT_SECRET='' \
            SAGA_MYSQL_DATABASE=saga_$svc \
            SAGA_KAFKA_BOOTSTRAP=$BOOTSTRAP \
            SAGA_REDIS_HOST=127.0.0.1 SAGA_REDIS_PORT=$REDIS_PORT SAGA_REDIS_PASSWORD=$rpw \
            saga_start "$pidfile" "$LOGS/$svc.log" "$bin"
    fi
    saga_wait_until "$svc service (http://127.0.0.1:$port/ready)" 60 "$pidfile" \
        "$LOGS/$svc.log" saga_http_ok "http://127.0.0.1:$port/ready"
    up+=("$svc")
done

# ---- demo data ----------------------------------------------------------------
if [[ -f $ROOT/deploy/local/demo-data.sh ]]; then
    if ((${#up[@]} == ${#SERVICES[@]})); then
        saga_say "loading demo data (deploy/local/demo-data.sh)"
        SAGA_LOCAL_DIR=$LOCAL SAGA_LOCAL_MYSQL_PORT=$MYSQL_PORT \
            SAGA_TOKEN_BIN=$BUILD/tools/saga-token \
            SAGA_LOCAL_MYSQL_SOCKET=$MYSQL_SOCK SAGA_LOCAL_REDIS_PORT=$REDIS_PORT \
            SAGA_KAFKA_BOOTSTRAP=$BOOTSTRAP \
            SAGA_ORDER_URL=http://127.0.0.1:${HTTP_PORT[order]} \
            SAGA_PAYMENT_URL=http://127.0.0.1:${HTTP_PORT[payment]} \
            SAGA_INVENTORY_URL=http://127.0.0.1:${HTTP_PORT[inventory]} \
            SAGA_NOTIFICATION_URL=http://127.0.0.1:${HTTP_PORT[notification]} \
            bash "$ROOT/deploy/local/demo-data.sh"
    else
        saga_say "demo data: skipped (not all four services are running)"
    fi
fi

# ---- console ------------------------------------------------------------------
console_bin=$BUILD/tools/saga-console
console_pidfile=$PIDS/console.pid
console_env=(SAGA_CONSOLE_PORT="$CONSOLE_PORT" SAGA_KAFKA_BOOTSTRAP="$BOOTSTRAP"
    SAGA_CONSOLE_MYSQL_HOST=127.0.0.1 SAGA_CONSOLE_MYSQL_PORT="$MYSQL_PORT"
    SAGA_JWT_ALG=ES256 SAGA_JWT_KEY_FILE="$SECRETS/jwt-public.pem" SAGA_JWT_SECRET=)
for svc in "${SERVICES[@]}"; do
    up_svc=${svc^^}
    console_env+=("SAGA_CONSOLE_${up_svc}_MYSQL_PASSWORD=$(saga_secrets_password "$SECRETS" "mysql-console-$svc")"
        "SAGA_CONSOLE_${up_svc}_METRICS_URL=http://127.0.0.1:$((HTTP_PORT[$svc] + 1000))/metrics")
done
console_state="not built"
if saga_pid_alive "$console_pidfile" saga-console &&
    saga_secrets_service_stale "$console_pidfile" "${console_env[@]}"; then
    saga_say "console: restarting (it runs against a broker that is gone, or older secrets)"
    saga_stop console "$console_pidfile" saga-console
fi
if saga_pid_alive "$console_pidfile" saga-console; then
    saga_say "console: already running (pid $(saga_pid_read "$console_pidfile"))"
    console_state="ready"
elif [[ -x $console_bin ]]; then
    if saga_port_in_use "$CONSOLE_PORT"; then
        saga_err "port $CONSOLE_PORT is already in use: cannot start saga-console there"
        exit 1
    fi
    saga_say "console: starting on 127.0.0.1:$CONSOLE_PORT"
    (export "${console_env[@]}" && saga_start "$console_pidfile" "$LOGS/console.log" "$console_bin")
    saga_wait_until "saga-console (http://127.0.0.1:$CONSOLE_PORT/)" 30 "$console_pidfile" \
        "$LOGS/console.log" saga_http_ok "http://127.0.0.1:$CONSOLE_PORT/"
    console_state="ready"
fi

# ---- summary ------------------------------------------------------------------
echo
echo "The local stack is up."
for svc in "${SERVICES[@]}"; do
    state="not built"
    [[ " ${up[*]} " == *" $svc "* ]] && state="ready"
    printf '  %-13s http://127.0.0.1:%s   (%s; /metrics on 127.0.0.1:%s)\n' "$svc" \
        "${HTTP_PORT[$svc]}" "$state" "$((HTTP_PORT[$svc] + 1000))"
done
printf '  %-13s http://127.0.0.1:%s   (%s; sign in with an admin token: token.sh ops --admin)\n' \
    console "$CONSOLE_PORT" "$console_state"
echo "  Swagger UI    http://127.0.0.1:<port>/swagger-ui.html on each service above (Authorize with a token)"
echo "  MariaDB       127.0.0.1:$MYSQL_PORT  (socket $MYSQL_SOCK; user saga_<svc>, password in $SECRETS/mysql-<svc>.password;"
echo "                administrator: $(saga_mysql_admin_user) over the socket, e.g. mariadb --socket=$MYSQL_SOCK -u$(saga_mysql_admin_user))"
echo "  Redis         127.0.0.1:$REDIS_PORT  (password in $REDIS_PW_FILE: REDISCLI_AUTH=\$(cat $REDIS_PW_FILE) redis-cli -p $REDIS_PORT)"
echo "  Kafka         $BOOTSTRAP"
echo "  broker ctl    http://127.0.0.1:$CONTROL_PORT  (GET /health, /bootstrap; POST /brokers/{all|1..3}/{down|up})"
echo "  logs          $LOGS/"
echo
echo "Watch every topic (kcat 1.7 takes one -t in -C mode, so this is a group consumer;"
echo "use -o beginning to replay what the broker still retains):"
printf '  %s\n' "kcat -b $BOOTSTRAP -G saga-watch-\$\$ -q -o end -f '%t [%p] %k %s\\n'\
 order-events inventory-events payment-events notification-events saga-dlq"
echo "Tokens: the API wants 'Authorization: Bearer TOKEN'; mint one with"
echo "  $ROOT/deploy/local/token.sh alice     (a customer)   or   token.sh ops --admin"
echo "Stop: $ROOT/deploy/local/down.sh   (add --purge to delete $LOCAL)"
