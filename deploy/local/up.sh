#!/usr/bin/env bash
# deploy/local/up.sh - start the whole platform locally, without Docker.
#
# Installs missing Debian packages, builds Release into build-release/, then starts
# MariaDB, Redis, the local Kafka-protocol broker (saga-broker) and the four
# services, everything under .local/ in the checkout (data, pid files, logs in
# .local/logs/<name>.log). Safe to run again: what is already running is left alone.
# Secrets (made on first run, deploy/local/secrets.sh): .local/secrets/ holds the JWT
# key pair the services verify tokens with and one MariaDB password per service;
# mint tokens with deploy/local/token.sh SUBJECT [--admin].
# Stop with deploy/local/down.sh (add --purge to delete .local/ too).
#
# Environment (all optional):
#   SAGA_LOCAL_MYSQL_PORT           MariaDB port on 127.0.0.1     (13306)
#   SAGA_LOCAL_REDIS_PORT           Redis port on 127.0.0.1       (16379)
#   SAGA_LOCAL_BROKER_CONTROL_PORT  broker control API port       (19092)
#   SAGA_TOPIC_PARTITIONS           partitions per topic          (6)
#   SAGA_LOCAL_BROKERS              brokers in the mock cluster   (3)
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
SERVICES=(order payment inventory notification)
declare -A HTTP_PORT=([order]=8081 [payment]=8082 [inventory]=8083 [notification]=8084)

# ---- dependencies and build ----------------------------------------------------
saga_say "checking Debian packages"
"$ROOT/deploy/install-deps.sh"

saga_say "building (Release) into $BUILD"
cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$BUILD" -j2

mkdir -p "$LOGS" "$PIDS" "$LOCAL/redis"

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
    # SSD (no neighbour pages, 2000 IOPS): docs/PERFORMANCE.md, "Fast when full".
    # shellcheck disable=SC2086 # SAGA_LOCAL_MYSQL_OPTIONS: one word per option
    saga_mysql_start "$PIDS/mariadb.pid" "$LOGS/mariadb.log" "$LOCAL/mysql" "$MYSQL_SOCK" \
        "$MYSQL_PORT" --innodb-flush-log-at-trx-commit=1 --innodb-buffer-pool-size=2G \
        --innodb-log-file-size=1G --innodb-flush-neighbors=0 --innodb-io-capacity=2000 \
        --innodb-io-capacity-max=4000 --max-connections=500 ${SAGA_LOCAL_MYSQL_OPTIONS:-}
fi

# One database and one least-privilege user per service, with its password from
# .local/secrets (ALTER USER: a .local from before keeps working). Idempotent. The
# underscore is escaped because it is a wildcard in a GRANT's database name.
sql=""
for svc in "${SERVICES[@]}"; do
    db=saga_$svc
    pw=$(saga_secrets_mysql_password "$SECRETS" "$svc")
    sql+="CREATE DATABASE IF NOT EXISTS \`$db\` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin;"
    for host in 127.0.0.1 localhost; do
        sql+="CREATE USER IF NOT EXISTS '$db'@'$host' IDENTIFIED BY '$pw';"
        sql+="ALTER USER '$db'@'$host' IDENTIFIED BY '$pw';"
        sql+="GRANT ALL PRIVILEGES ON \`${db//_/\\_}\`.* TO '$db'@'$host';"
    done
done
# on stdin, not argv: the passwords stay out of the process list
saga_mysql "$MYSQL_SOCK" <<<"$sql"
saga_say "MariaDB: databases and users saga_{order,payment,inventory,notification} ready"

# ---- Redis --------------------------------------------------------------------
if saga_pid_alive "$PIDS/redis.pid" redis-server; then
    saga_say "Redis: already running (pid $(saga_pid_read "$PIDS/redis.pid"))"
else
    saga_say "Redis: starting on 127.0.0.1:$REDIS_PORT"
    saga_redis_start "$PIDS/redis.pid" "$LOGS/redis.log" "$LOCAL/redis" "$REDIS_PORT"
fi

# ---- broker -------------------------------------------------------------------
if saga_pid_alive "$PIDS/broker.pid" saga-broker && [[ -s $BOOTSTRAP_FILE ]]; then
    saga_say "broker: already running (pid $(saga_pid_read "$PIDS/broker.pid"))"
else
    saga_stop broker "$PIDS/broker.pid" saga-broker
    saga_say "broker: starting (control API on 127.0.0.1:$CONTROL_PORT)"
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
    pw=$(saga_secrets_mysql_password "$SECRETS" "$svc")
    # The mock listens on new random ports at each start (and keeps nothing): a
    # service still running with another broker's list is restarted, and so is one
    # started with other secrets (its MariaDB password was just changed).
    if saga_pid_alive "$pidfile" "$svc-service" &&
        saga_secrets_service_stale "$pidfile" "SAGA_KAFKA_BOOTSTRAP=$BOOTSTRAP" \
            "SAGA_MYSQL_PASSWORD=$pw" "SAGA_JWT_KEY_FILE=$SECRETS/jwt-public.pem"; then
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
        SAGA_HTTP_PORT=$port \
            SAGA_MYSQL_HOST=127.0.0.1 SAGA_MYSQL_PORT=$MYSQL_PORT \
            SAGA_MYSQL_USER=saga_$svc SAGA_MYSQL_PASSWORD=$pw \
            SAGA_JWT_ALG=ES256 SAGA_JWT_KEY_FILE=$SECRETS/jwt-public.pem SAGA_JWT_SECRET='' \
            SAGA_MYSQL_DATABASE=saga_$svc \
            SAGA_KAFKA_BOOTSTRAP=$BOOTSTRAP \
            SAGA_REDIS_HOST=127.0.0.1 SAGA_REDIS_PORT=$REDIS_PORT \
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

# ---- summary ------------------------------------------------------------------
echo
echo "The local stack is up."
for svc in "${SERVICES[@]}"; do
    state="not built"
    [[ " ${up[*]} " == *" $svc "* ]] && state="ready"
    printf '  %-13s http://127.0.0.1:%s   (%s; /metrics on 127.0.0.1:%s)\n' "$svc" \
        "${HTTP_PORT[$svc]}" "$state" "$((HTTP_PORT[$svc] + 1000))"
done
echo "  Swagger UI    http://127.0.0.1:<port>/swagger-ui.html on each service above (Authorize with a token)"
echo "  MariaDB       127.0.0.1:$MYSQL_PORT  (socket $MYSQL_SOCK; user saga_<svc>, password in $SECRETS/mysql-<svc>.password)"
echo "  Redis         127.0.0.1:$REDIS_PORT"
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
