#!/usr/bin/env bash
# loadtest/bench.sh - the whole benchmark in one command, written to BENCHMARKS.md.
#
#   1. (re)starts the local stack (deploy/local/down.sh, up.sh) with durable MariaDB
#      (innodb_flush_log_at_trx_commit=1, checked) and the order API's rate limits off;
#   2. loads the load test's wallets and products (loadtest/datagen.sh);
#   3. measures the building blocks alone (saga-blocks: MariaDB, the broker, the CPU of
#      the services' per-event and per-request work);
#   4. runs saga-load: a rate ladder (open loop), a maximum-throughput run (--rate 0),
#      and a flash sale (load-flash, 1000 units, 20000 orders as fast as they come),
#      each ending with the audit; before each run, a new local broker and services
#      (MariaDB and Redis keep running) and a warm-up (not reported);
#   5. with --growth, grows the stored history (loadtest/growth_load.py) to each size in
#      turn and measures there: the ceiling (--rate 0), p99 at a fixed rate, the CPU per
#      saga by component and the bytes on disk per stored order (with --growth-repeat,
#      each run several times, and the report takes the median);
#   6. writes the report (loadtest/bench_report.py): machine, settings, the command,
#      the building blocks, one table per run, each run as a fraction of its block, the
#      growth table, and plots (PNG, docs/bench/) of latency against offered rate, CPU
#      per saga by component and the growth.
#
# Usage: loadtest/bench.sh [--quick] [--products N] [--customers N] [--ladder "R R ..."]
#            [--duration S] [--concurrency N] [--flash-orders N] [--fresh] [--out FILE]
#            [--growth "SIZES"] [--growth-rate R] [--growth-ids v7|v4] [--growth-only]
#            [--growth-repeat N]
#   --quick            a few seconds per run (smoke-test the benchmark itself)
#   --products N       load products (1000000; --quick keeps the default unless given)
#   --customers N      load customers (100000)
#   --ladder "..."     offered rates, orders/s (250 500 1000 2000 4000); the ladder
#                      stops after the first rung the system does not keep up with
#   --full-ladder      run every rung anyway (an overloaded rung takes minutes to drain)
#   --duration S       seconds per ladder rung and for the maximum run (30; --quick 5)
#   --concurrency N    orders in flight in the maximum run and the flash sale (64)
#   --flash-orders N   orders in the flash sale (20000; --quick 3000)
#   --blocks-seconds S seconds per building-block measurement (3; --quick 1)
#   --brokers N        brokers in the local mock cluster (1: the mock's brokers run on
#                      the same 2 cores, and each one costs every consumer a fetch
#                      loop; docs/PERFORMANCE.md has the 1-vs-3 measurement)
#   --fresh            delete the local stack's data first (down.sh --purge)
#   --console-poll     keep saga-console busy during every run as three open pages would
#                      (loadtest/console_poll.py: glance, topics and a live saga view);
#                      its CPU is sampled like the stack's (it always is, polled or not)
#   --out FILE         the report (BENCHMARKS.md at the checkout's root); its plots go
#                      to docs/bench/ beside it
#   --growth "SIZES"   after the other runs, for each size (stored orders, ascending,
#                      e.g. "0 1000000 2000000 5000000"): grow the history to it, then a
#                      ceiling run and a fixed-rate run (each --duration s)
#   --growth-rate R    the fixed rate of the growth runs, orders/s (500)
#   --growth-ids V     the ids of the loaded history: v7 (as the services make them) or
#                      v4 (random, as older versions made them)
#   --growth-only      skip the ladder, the maximum run and the flash sale
#   --growth-repeat N  at each size, N ceiling runs and N fixed-rate runs, alternating
#                      (1); the growth table reports each kind's median run: single
#                      runs on a small VM spread by 15 % and more with its speed
# Raw results (JSON, logs) stay in .local/bench/<time>/. Exit status: 0 when every
# run passed (all accepted orders completed, audit clean, no oversell), 1 otherwise.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=deploy/local/lib.sh
source "$ROOT/deploy/local/lib.sh"
cd "$ROOT"

quick=0
products=1000000
customers=100000
ladder="250 500 1000 2000 4000"
duration=""
concurrency=64
flash_orders=""
flash_stock=1000
blocks_seconds=""
brokers=1
fresh=0
full_ladder=0
growth=""
growth_rate=500
growth_ids=v7
growth_only=0
growth_repeat=1
console_poll=0
# Beyond its capacity the system builds a backlog; saga-load waits this long after its
# last send for the outcomes (orders past SAGA_TIMEOUT_MS are cancelled meanwhile), so
# the audit sees a settled system.
drain_timeout=300
out=$ROOT/BENCHMARKS.md
command_line="loadtest/bench.sh$(printf ' %q' "$@")" # quoted so it can be pasted back

usage() { sed -n '2,50p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }
bad_usage() { saga_err "$* (see loadtest/bench.sh --help)"; exit 2; }
need_int() { [[ $2 =~ ^[0-9]+$ ]] && (($2 > 0)) || bad_usage "$1 wants a positive integer, not '$2'"; }

while (($#)); do
    case $1 in
        -h | --help) usage; exit 0 ;;
        --quick) quick=1; shift; continue ;;
        --fresh) fresh=1; shift; continue ;;
        --console-poll) console_poll=1; shift; continue ;;
        --full-ladder) full_ladder=1; shift; continue ;;
        --growth-only) growth_only=1; shift; continue ;;
    esac
    (($# >= 2)) || bad_usage "$1 needs a value"
    case $1 in
        --products) need_int "$1" "$2"; products=$2 ;;
        --customers) need_int "$1" "$2"; customers=$2 ;;
        --ladder)
            ladder=$2
            for r in $ladder; do need_int --ladder "$r"; done
            ;;
        --duration) need_int "$1" "$2"; duration=$2 ;;
        --concurrency) need_int "$1" "$2"; concurrency=$2 ;;
        --flash-orders) need_int "$1" "$2"; flash_orders=$2 ;;
        --blocks-seconds) need_int "$1" "$2"; blocks_seconds=$2 ;;
        --brokers) need_int "$1" "$2"; brokers=$2 ;;
        --out) out=$2 ;;
        --growth)
            growth=$2
            prev=-1
            for n in $growth; do
                [[ $n =~ ^[0-9]+$ ]] && ((n > prev)) ||
                    bad_usage "--growth wants ascending sizes (stored orders), not '$growth'"
                prev=$n
            done
            [[ -n $growth ]] || bad_usage "--growth wants at least one size"
            ;;
        --growth-rate) need_int "$1" "$2"; growth_rate=$2 ;;
        --growth-repeat) need_int "$1" "$2"; growth_repeat=$2 ;;
        --growth-ids)
            [[ $2 == v7 || $2 == v4 ]] || bad_usage "--growth-ids is v7 or v4, not '$2'"
            growth_ids=$2
            ;;
        *) bad_usage "unknown option $1" ;;
    esac
    shift 2
done
if ((quick)); then
    duration=${duration:-5}
    flash_orders=${flash_orders:-3000}
    blocks_seconds=${blocks_seconds:-1}
else
    duration=${duration:-30}
    flash_orders=${flash_orders:-20000}
    blocks_seconds=${blocks_seconds:-3}
fi
((growth_only == 0)) || [[ -n $growth ]] || bad_usage "--growth-only needs --growth"
warmup_s=5
[[ $out == /* ]] || out=$ROOT/$out

LOCAL=$ROOT/.local
BUILD=$ROOT/build-release # up.sh builds here; saga-load and saga-blocks come with it
SOCK=$LOCAL/mysql.sock
REDIS_PORT=${SAGA_LOCAL_REDIS_PORT:-16379}

# ---- 1. the stack ------------------------------------------------------------------
# The order API's rate limits would refuse most of a benchmark's orders; the
# services inherit this environment from up.sh.
export SAGA_RATE_LIMIT_ADDRESS_PER_S=0 SAGA_RATE_LIMIT_CUSTOMER_PER_S=0
export SAGA_LOCAL_BROKERS=$brokers

if pgrep -x saga-load >/dev/null; then
    saga_err "a saga-load is running (pid $(pgrep -x saga-load | head -n1)): the stack or the machine is busy; try later"
    exit 1
fi
stack_log=$(mktemp "${TMPDIR:-/tmp}/saga-bench-stack.XXXXXX")
saga_say "restarting the local stack (log: $stack_log)"
if ((fresh)); then
    "$ROOT/deploy/local/down.sh" --purge >>"$stack_log" 2>&1
else
    "$ROOT/deploy/local/down.sh" >>"$stack_log" 2>&1
fi
if ! "$ROOT/deploy/local/up.sh" >>"$stack_log" 2>&1; then
    saga_err "the local stack did not start"
    tail -n 40 "$stack_log" >&2
    exit 1
fi
for bin in saga-load saga-blocks; do
    [[ -x $BUILD/loadtest/$bin ]] || { saga_err "$BUILD/loadtest/$bin was not built"; exit 1; }
done

stamp=$(date -u +%Y%m%dT%H%M%SZ)
WORK=$LOCAL/bench/$stamp
mkdir -p "$WORK"
mv "$stack_log" "$WORK/stack.log"

# ---- the console's pages, if asked: polling until the end ------------------------
if ((console_poll)); then
    poll_token=$("$ROOT/deploy/local/token.sh" bench-console --admin --ttl 86400)
    /usr/bin/python3 "$ROOT/loadtest/console_poll.py" "http://127.0.0.1:${SAGA_LOCAL_CONSOLE_PORT:-9000}" \
        "$poll_token" "$WORK/console-poll.json" &
    poll_pid=$!
    trap 'kill -TERM "$poll_pid" 2>/dev/null || true' EXIT
    saga_say "saga-console polled as three open pages would (summary: $WORK/console-poll.json)"
fi
saga_say "raw results in $WORK"

mysql_root() { saga_mysql "$SOCK" -N -B "$@"; }
flush=$(mysql_root -e 'SELECT @@innodb_flush_log_at_trx_commit')
if [[ $flush != 1 ]]; then
    saga_err "MariaDB runs with innodb_flush_log_at_trx_commit=$flush, not 1: not durable"
    exit 1
fi
BOOTSTRAP=$(<"$LOCAL/kafka.bootstrap")

# A restarted MariaDB reads the buffer pool's pages back in the background (up.sh:
# innodb_buffer_pool_dump_pct=100); runs on a grown database measure the steady state
# only once that is done, not a cold start (at most 5 minutes).
pool_deadline=$((SECONDS + 300))
while [[ $(saga_mysql_pool_status "$SOCK" load) == Load* ]] && ((SECONDS < pool_deadline)); do
    sleep 1
done
saga_say "MariaDB's buffer pool: $(saga_mysql_pool_status "$SOCK" load)"

# What the report states about the run (bench_report.py reads these files).
{
    printf 'command=%s\n' "$command_line"
    printf 'stamp=%s\n' "$stamp"
    printf 'quick=%s\n' "$quick"
    printf 'products=%s\n' "$products"
    printf 'customers=%s\n' "$customers"
    printf 'mariadb_version=%s\n' "$(mysql_root -e 'SELECT VERSION()')"
    printf 'mariadb_flush_log_at_trx_commit=%s\n' "$flush"
    printf 'mariadb_sync_binlog=%s\n' "$(mysql_root -e 'SELECT @@sync_binlog')"
    printf 'mariadb_log_bin=%s\n' "$(mysql_root -e 'SELECT @@log_bin')"
    printf 'mariadb_buffer_pool_mib=%s\n' \
        "$(mysql_root -e 'SELECT @@innodb_buffer_pool_size DIV 1048576')"
    printf 'redis_version=%s\n' \
        "$(saga_redis_cli "$REDIS_PORT" "$LOCAL/secrets/redis.password" INFO server | tr -d '\r' |
            sed -n 's/^redis_version://p')"
    printf 'librdkafka_version=%s\n' "$(pkg-config --modversion rdkafka 2>/dev/null || echo '?')"
    printf 'git_commit=%s\n' "$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')"
    printf 'git_dirty=%s\n' "$(git -C "$ROOT" status --porcelain 2>/dev/null | grep -c . || true)"
    printf 'growth=%s\n' "$growth"
    printf 'growth_rate=%s\n' "$growth_rate"
    printf 'growth_ids=%s\n' "$growth_ids"
    printf 'growth_repeat=%s\n' "$growth_repeat"
    printf 'mariadb_log_file_mib=%s\n' \
        "$(mysql_root -e 'SELECT @@innodb_log_file_size DIV 1048576')"
    printf 'mariadb_flush_neighbors=%s\n' "$(mysql_root -e 'SELECT @@innodb_flush_neighbors')"
    printf 'mariadb_io_capacity=%s\n' "$(mysql_root -e 'SELECT @@innodb_io_capacity')"
} >"$WORK/meta.env"
# The settings that shape the figures, as the services and saga-load see them.
for name in SAGA_RATE_LIMIT_ADDRESS_PER_S SAGA_RATE_LIMIT_CUSTOMER_PER_S SAGA_BATCH_MAX \
    SAGA_BATCH_WAIT_MS SAGA_HTTP_THREADS SAGA_TIMEOUT_MS SAGA_KAFKA_FETCH_WAIT_MS \
    SAGA_TOPIC_PARTITIONS SAGA_RELAY_BATCH_MAX SAGA_NOTIFY_CHANNELS PAYMENT_FAILURE_RATE \
    PAYMENT_LATENCY_MS SAGA_LOG_LEVEL SAGA_LOCAL_BROKERS; do
    printf '%s=%s\n' "$name" "${!name-}"
done >"$WORK/settings.env"

# ---- 2. data ------------------------------------------------------------------------
saga_say "loading $customers wallets and $products products (loadtest/datagen.sh)"
"$ROOT/loadtest/datagen.sh" --products "$products" --customers "$customers" --socket "$SOCK" |
    tee "$WORK/datagen.txt"

# ---- 3. building blocks --------------------------------------------------------------
saga_say "measuring the building blocks (saga-blocks, $blocks_seconds s each)"
blocks_ok=1
"$BUILD/loadtest/saga-blocks" --seconds "$blocks_seconds" --json "$WORK/blocks.json" \
    --mysql-socket "$SOCK" --bootstrap "$BOOTSTRAP" --schemas "$ROOT/schemas" |
    tee "$WORK/blocks.txt" || blocks_ok=0

# ---- 4. load runs ---------------------------------------------------------------------
failed=0
: >"$WORK/runs.tsv"

# wait_quiet: until no order is in flight, every outbox is empty and no notification
# is pending (at most 3 minutes), so a run does not inherit the previous one's backlog.
wait_quiet() {
    local deadline=$((SECONDS + 180)) busy
    while ((SECONDS < deadline)); do
        busy=$(mysql_root -e "SELECT
            (SELECT COUNT(*) FROM saga_order.orders WHERE status IN ('PENDING','AWAITING_PAYMENT'))
          + (SELECT COUNT(*) FROM saga_order.outbox) + (SELECT COUNT(*) FROM saga_payment.outbox)
          + (SELECT COUNT(*) FROM saga_inventory.outbox)
          + (SELECT COUNT(*) FROM saga_notification.outbox)
          + (SELECT COUNT(*) FROM saga_notification.notifications WHERE status = 'PENDING')")
        ((busy == 0)) && return 0
        sleep 1
    done
    saga_say "the system is still busy after 3 minutes ($busy rows in flight); going on"
}

# stack_pids: NAME=PID for each process of the local stack (for bench_cpu.py)
stack_pids() {
    local name
    for name in mariadb redis broker order payment inventory notification console; do
        if [[ -s $LOCAL/pids/$name.pid ]]; then
            printf '%s=%s\n' "$name" "$(<"$LOCAL/pids/$name.pid")"
        fi
    done
}

# innodb_writes: bytes of data pages and of redo MariaDB has written since it started
innodb_writes() {
    mysql_root -e "SELECT
        (SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS
          WHERE VARIABLE_NAME = 'INNODB_DATA_WRITTEN'),
        (SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS
          WHERE VARIABLE_NAME = 'INNODB_OS_LOG_WRITTEN')"
}

# load_once NAME KIND LABEL SAGA-LOAD-OPTIONS...: one saga-load run, recorded in runs.tsv,
# with the CPU time of saga-load and of every process of the stack sampled meanwhile
# (<name>.cpu.jsonl, loadtest/bench_cpu.py) and what MariaDB wrote to its data files and
# its redo log during it (<name>.innodb: two lines, before and after). Every run but a
# warm-up ends with the audit; a warm-up is always followed by its run, whose audit
# checks every stored order and every product and wallet, the warm-up's included (on
# 5,000,000 stored orders an audit takes over two minutes). The audit runs through
# loadtest/bench_audit.sh, which keeps MariaDB's buffer pool as the run left it.
load_once() {
    local name=$1 kind=$2 label=$3 rc=0 audit=()
    shift 3
    [[ $kind == warmup ]] || audit=(--audit-cmd "$ROOT/loadtest/bench_audit.sh")
    wait_quiet
    saga_say "run $name: $label"
    innodb_writes >"$WORK/$name.innodb"
    # shellcheck disable=SC2046 # stack_pids: one NAME=PID argument per line
    SAGA_KAFKA_BOOTSTRAP=$BOOTSTRAP SAGA_JWT_ALG=ES256 \
        SAGA_JWT_PRIVATE_KEY_FILE=$LOCAL/secrets/jwt-private.pem \
        /usr/bin/python3 "$ROOT/loadtest/bench_cpu.py" run "$WORK/$name.cpu.jsonl" \
        $(stack_pids) -- \
        "$BUILD/loadtest/saga-load" --customers "$customers" --products "$products" \
        --order-url http://127.0.0.1:8081 --inventory-url http://127.0.0.1:8083 \
        --drain-timeout "$drain_timeout" --json "$WORK/$name.json" \
        "${audit[@]}" --quiet "$@" \
        >"$WORK/$name.txt" 2>&1 || rc=$?
    innodb_writes >>"$WORK/$name.innodb"
    grep -E '^(throughput|result)' "$WORK/$name.txt" | sed 's/^/    /' || true
    ((rc == 0)) || failed=1
    printf '%s\t%s\t%s\t%s\n' "$name" "$kind" "$label" "$rc" >>"$WORK/runs.tsv"
}

# flush_dirty_pages: MariaDB writes the buffer pool's dirty pages out (at most 3 minutes),
# so that every run starts with none. MariaDB writes no data page until its redo log is
# about three quarters full (innodb_max_dirty_pages_pct_lwm=0, its default), so without
# this the page writes for the earlier runs' rows land in whichever later run crosses
# that point (measured at 7013ce1: no data page written during a ladder of 250, 500 and
# 1,000 orders/s, then 15-44 MB/s from the middle of the maximum run on). A run of 20 to
# 30 s then holds few page writes, its own included: docs/PERFORMANCE.md has a sustained
# run that pays for them.
flush_dirty_pages() {
    local pct lwm restore deadline=$((SECONDS + 180))
    pct=$(mysql_root -e 'SELECT @@innodb_max_dirty_pages_pct')
    lwm=$(mysql_root -e 'SELECT @@innodb_max_dirty_pages_pct_lwm')
    restore="SET GLOBAL innodb_max_dirty_pages_pct = $pct;
        SET GLOBAL innodb_max_dirty_pages_pct_lwm = $lwm"
    # interrupted meanwhile, MariaDB would keep writing every page out at once until
    # its restart: the settings go back first
    # shellcheck disable=SC2064 # the values are the ones read now
    trap "mysql_root -e '$restore'; exit 130" INT TERM
    mysql_root -e 'SET GLOBAL innodb_max_dirty_pages_pct_lwm = 0;
        SET GLOBAL innodb_max_dirty_pages_pct = 0'
    while (($(mysql_root -e "SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS
            WHERE VARIABLE_NAME = 'INNODB_BUFFER_POOL_PAGES_DIRTY'") > 0)) &&
        ((SECONDS < deadline)); do
        sleep 1
    done
    mysql_root -e "$restore"
    trap - INT TERM
}

# fresh_broker NAME: a new local broker and new services before run NAME, warmed up.
# The mock broker finds a fetch's offset by walking the partition's whole log from its
# start (librdkafka 2.0.2, "FIXME: Maintain an index"), up to 5 MiB per partition: a
# run after others would pay for their messages (at 200 orders/s, 2.3 instead of 0.8 ms
# of broker CPU per saga, measured), which Apache Kafka's offset index does not.
# MariaDB and Redis keep running, with their caches warm. The first orders after a
# start wait for what happens only once (consumers joining their group, connection
# pools): a warm-up run at 100 orders/s takes that, and the report leaves it out.
fresh_broker() {
    local name=$1
    "$ROOT/deploy/local/down.sh" --services >>"$WORK/stack.log" 2>&1
    flush_dirty_pages
    if ! "$ROOT/deploy/local/up.sh" >>"$WORK/stack.log" 2>&1; then
        saga_err "the local stack did not restart before $name (see $WORK/stack.log)"
        exit 1
    fi
    BOOTSTRAP=$(<"$LOCAL/kafka.bootstrap")
    load_once "warmup-$name" warmup "100 orders/s for $warmup_s s" --rate 100 \
        --duration "$warmup_s"
}

# run_load NAME KIND LABEL SAGA-LOAD-OPTIONS...: a fresh broker, then the run
run_load() {
    fresh_broker "$1"
    load_once "$@"
}

saturated_at=""
((growth_only)) && ladder=""
for rate in $ladder; do
    if [[ -n $saturated_at ]]; then
        printf '%s\t%s\t%s\t%s\n' "rate-$rate" ladder "$rate orders/s for $duration s" \
            skipped >>"$WORK/runs.tsv"
        continue
    fi
    run_load "rate-$rate" ladder "$rate orders/s for $duration s" --rate "$rate" \
        --duration "$duration"
    if ((!full_ladder)) &&
        /usr/bin/python3 "$ROOT/loadtest/bench_report.py" --saturated "$WORK/rate-$rate.json" \
            "$rate"; then
        saturated_at=$rate
        saga_say "the system did not keep up with $rate orders/s: the ladder stops here"
    fi
done
if ((!growth_only)); then
    run_load max max "as fast as it goes: $concurrency in flight for $duration s" --rate 0 \
        --concurrency "$concurrency" --duration "$duration"
    run_load flash flash "flash sale: load-flash, $flash_stock units, $flash_orders orders" \
        --rate 0 --concurrency "$concurrency" --orders "$flash_orders" --flash load-flash \
        --flash-stock "$flash_stock"
fi

# ---- 5. growth ----------------------------------------------------------------------
# growth.tsv: size, orders stored, bytes of the four databases' tables (data + indexes,
# after ANALYZE TABLE), bytes of the data directory without the redo log, seconds the
# growth took. The history grows backwards in time (growth_load.py), so what the runs
# at one size added stays the newest data.
db_bytes() {
    local t
    for t in $(mysql_root -e "SELECT CONCAT(table_schema, '.', table_name) FROM
            information_schema.tables WHERE table_schema IN
            ('saga_order', 'saga_payment', 'saga_inventory', 'saga_notification')"); do
        mysql_root -e "ANALYZE TABLE $t" >/dev/null
    done
    mysql_root -e "SELECT SUM(data_length + index_length) FROM information_schema.tables
        WHERE table_schema IN ('saga_order', 'saga_payment', 'saga_inventory',
        'saga_notification')"
}
if [[ -n $growth ]]; then
    : >"$WORK/growth.tsv"
    for size in $growth; do
        wait_quiet
        saga_say "growing the stored history to $size orders (loadtest/growth_load.py)"
        started=$SECONDS
        if ! /usr/bin/python3 "$ROOT/loadtest/growth_load.py" --to "$size" \
            --customers "$customers" --products "$products" --ids "$growth_ids" \
            --socket "$SOCK" --json "$WORK/growth-$size.load.json" |
            tee -a "$WORK/growth-load.txt"; then
            saga_err "growing the history to $size orders failed"
            failed=1
            break
        fi
        stored=$(mysql_root -e 'SELECT COUNT(*) FROM saga_order.orders')
        printf '%s\t%s\t%s\t%s\t%s\n' "$size" "$stored" "$(db_bytes)" \
            "$(du -sb --exclude='ib_logfile*' "$LOCAL/mysql" | cut -f1)" \
            "$((SECONDS - started))" >>"$WORK/growth.tsv"
        for ((i = 1; i <= growth_repeat; i++)); do
            # one run of each kind: growth-SIZE-max, or growth-SIZE-max-I when repeated
            suffix=""
            ((growth_repeat == 1)) || suffix="-$i"
            run_load "growth-$size-max$suffix" growth-max \
                "ceiling at $stored stored orders: $concurrency in flight for $duration s" \
                --rate 0 --concurrency "$concurrency" --duration "$duration"
            run_load "growth-$size-rate$suffix" growth-rate \
                "$growth_rate orders/s at $stored stored orders for $duration s" \
                --rate "$growth_rate" --duration "$duration"
        done
    done
fi

if ((console_poll)); then
    kill -TERM "$poll_pid" 2>/dev/null || true
    wait "$poll_pid" 2>/dev/null || true
    trap - EXIT
    saga_say "console polls: $(tr -d ' \n' <"$WORK/console-poll.json" 2>/dev/null || echo none)"
fi

# ---- 6. the report --------------------------------------------------------------------
/usr/bin/python3 "$ROOT/loadtest/bench_report.py" --dir "$WORK" --out "$out" \
    --plots "$(dirname "$out")/docs/bench"
saga_say "report written to $out"
((blocks_ok)) || saga_err "a building-block measurement failed (see $WORK/blocks.txt)"
((failed == 0)) || saga_err "at least one run failed (see $WORK/*.txt)"
((failed == 0 && blocks_ok))
