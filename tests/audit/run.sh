#!/usr/bin/env bash
# tests/audit/run.sh - end-to-end test of saga-audit on the harness's servers.
#
#   tests/audit/run.sh STATEFILE [SAGA_AUDIT_BINARY]
#
# STATEFILE is the one tests/harness/servers.sh start wrote (MariaDB, broker). The
# binary defaults to $SAGA_BUILD_DIR/tools/saga-audit (SAGA_BUILD_DIR: build/).
# Creates four databases saga_test_audit_{order,payment,inventory,notification}
# (the services' migrations from deploy/mysql when present, then
# tests/audit/fixture.sql: tables per docs/DOMAIN.md and a clean scenario), puts the
# scenario's dead letter on a fresh topic (SAGA_AUDIT_DLQ_TOPIC, so other tests'
# messages on saga-dlq do not matter), checks that the audit is clean, then breaks
# each invariant one at a time on a fresh copy and checks exit status 1 and the
# violation line; --allow-in-flight and --grace-ms relax what they should; exit 2
# when a database or the broker cannot be reached. Drops the databases at the end.
# Prints one line per case and "N passed, M failed"; exits 1 on any failure.
# SAGA_AUDIT_TEST_VERBOSE=1 also prints the audit's output for passing cases.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
STATE=${1:?usage: run.sh STATEFILE [SAGA_AUDIT_BINARY]}
AUDIT=${2:-${SAGA_BUILD_DIR:-$ROOT/build}/tools/saga-audit}
FIXTURE=$ROOT/tests/audit/fixture.sql

[[ -f $STATE ]] || { echo "run.sh: no state file $STATE (start tests/harness/servers.sh)" >&2; exit 1; }
[[ -x $AUDIT ]] || { echo "run.sh: $AUDIT not built" >&2; exit 1; }

state() { sed -n "s/^$1=//p" "$STATE" | head -n 1; }
MYSQL_PORT=$(state SAGA_MYSQL_PORT)
MYSQL_USER=$(state SAGA_MYSQL_USER)
MYSQL_PASSWORD=$(state SAGA_MYSQL_PASSWORD)
BOOTSTRAP=$(state SAGA_KAFKA_BOOTSTRAP)

O=saga_test_audit_order
P=saga_test_audit_payment
I=saga_test_audit_inventory
N=saga_test_audit_notification
TOPIC=saga-dlq-audit-test-$$-$RANDOM
O1=00000000-0000-4000-8000-000000000001
O2=00000000-0000-4000-8000-000000000002
O3=00000000-0000-4000-8000-000000000003
O4=00000000-0000-4000-8000-000000000004
O6=00000000-0000-4000-8000-000000000006
FORGED=ffffffff-0000-4000-8000-00000000dead
# an id as the SQL literal of the 16 bytes the databases store for it (BINARY(16))
sqlid() { echo "X'${1//-/}'"; }
XO1=$(sqlid $O1) XO2=$(sqlid $O2) XO3=$(sqlid $O3) XO4=$(sqlid $O4) XO6=$(sqlid $O6)
XFORGED=$(sqlid $FORGED)
WORK=$(mktemp -d /tmp/saga-audit-test.XXXXXX)
trap 'rm -rf "$WORK"' EXIT

sql() {
    mysql -h 127.0.0.1 -P "$MYSQL_PORT" -u "$MYSQL_USER" "-p$MYSQL_PASSWORD" -N -B "$@"
}

export SAGA_AUDIT_MYSQL_HOST=127.0.0.1 SAGA_AUDIT_MYSQL_PORT=$MYSQL_PORT
export SAGA_AUDIT_MYSQL_USER=$MYSQL_USER SAGA_AUDIT_MYSQL_PASSWORD=$MYSQL_PASSWORD
export SAGA_AUDIT_ORDER_DB=$O SAGA_AUDIT_PAYMENT_DB=$P SAGA_AUDIT_INVENTORY_DB=$I
export SAGA_AUDIT_NOTIFICATION_DB=$N SAGA_AUDIT_DLQ_TOPIC=$TOPIC
export SAGA_KAFKA_BOOTSTRAP=$BOOTSTRAP SAGA_AUDIT_KAFKA_TIMEOUT_MS=20000

# load: fresh databases with the migrations (if any) and the fixture.
load() {
    local svc db f
    for svc in order payment inventory notification; do
        db=saga_test_audit_$svc
        sql -e "DROP DATABASE IF EXISTS $db; CREATE DATABASE $db"
        for f in "$ROOT"/deploy/mysql/common/*.sql "$ROOT"/deploy/mysql/$svc/*.sql; do
            [[ -f $f ]] && sql "$db" <"$f"
        done
    done
    sed -e "s/@ORDER_DB@/$O/g" -e "s/@PAYMENT_DB@/$P/g" -e "s/@INVENTORY_DB@/$I/g" \
        -e "s/@NOTIFICATION_DB@/$N/g" -e "s/@DLQ_TOPIC@/$TOPIC/g" "$FIXTURE" | sql
}

passed=0
failed=0
# check NAME EXPECTED_EXIT PATTERN MUTATION_SQL [audit arguments...]
# Loads a fresh scenario, applies the SQL (may be empty), runs the audit; passes
# when the exit status is EXPECTED_EXIT and the output has PATTERN (a fixed
# string; empty: anything).
check() {
    local name=$1 want=$2 pattern=$3 mutation=$4 got=0
    shift 4
    load
    [[ -n $mutation ]] && sql -e "$mutation"
    "$AUDIT" "$@" >"$WORK/out" 2>&1 || got=$?
    verdict "$name" "$want" "$pattern" "$got"
}

# verdict NAME EXPECTED_EXIT PATTERN GOT: passes when the audit exited EXPECTED_EXIT and
# its output ($WORK/out) has PATTERN (a fixed string; empty: anything).
verdict() {
    local name=$1 want=$2 pattern=$3 got=$4
    if [[ $got == "$want" ]] && { [[ -z $pattern ]] || grep -qF -- "$pattern" "$WORK/out"; }; then
        echo "ok - $name"
        [[ -n ${SAGA_AUDIT_TEST_VERBOSE:-} ]] && sed 's/^/    | /' "$WORK/out"
        passed=$((passed + 1))
    else
        echo "not ok - $name (exit $got, expected $want; expected output: $pattern)"
        sed 's/^/    | /' "$WORK/out"
        failed=$((failed + 1))
    fi
}

echo "audit test: $AUDIT, databases saga_test_audit_*, topic $TOPIC on $BOOTSTRAP"
# the scenario's dead letter, as order-service's consumer would have sent it
printf '%s\n' 'not json' | kcat -b "$BOOTSTRAP" -P -t "$TOPIC" -k "$O1" \
    -H saga-service=order -H kafka_dlt-original-topic=inventory-events \
    -H kafka_dlt-original-partition=2 -H kafka_dlt-original-offset=17 \
    -H kafka_dlt-original-timestamp=1767225600000 -H kafka_dlt-exception-fqcn=INVALID_JSON

# ---- clean
check "clean scenario" 0 "audit: clean (orders=6, confirmed=1, cancelled=4, products=3, wallets=3)" ""
check "clean, --json" 0 '"clean":true' "" --json
check "clean, --allow-in-flight" 0 "audit: clean" "" --allow-in-flight
SAGA_KAFKA_BOOTSTRAP='' check "no SAGA_KAFKA_BOOTSTRAP: topic skipped with a note" 0 \
    "not read (SAGA_KAFKA_BOOTSTRAP is not set)" ""

# ---- inv1: stock
check "inv1 stock not conserved" 1 "VIOLATION inv1 sku=A: initial_stock 10 + restocked 5 != available 14" \
    "UPDATE $I.products SET available = available + 1 WHERE sku = 'A'"
check "inv1 reserved != held" 1 "VIOLATION inv1 sku=C: reserved 2 != 1 held in reservations" \
    "UPDATE $I.products SET reserved = 2, available = 1 WHERE sku = 'C'"
check "inv1 sold != committed" 1 "VIOLATION inv1 sku=A: sold 2 != 3 committed in reservations" \
    "UPDATE $I.reservations SET status = 'COMMITTED' WHERE order_id = $XO4"
check "inv1 negative stock" 1 "VIOLATION inv1 sku=C: negative stock: available -1" \
    "UPDATE $I.products SET available = -1, restocked = -3 WHERE sku = 'C'"
check "inv1 reservation of an unknown sku" 1 "VIOLATION inv1 sku=Z order=$FORGED" \
    "INSERT INTO $I.reservations (order_id, sku, customer_id, quantity, unit_price, status)
     VALUES ($XFORGED, 'Z', 'bob', 1, 5, 'RELEASED')"

# ---- inv2: confirmed orders
check "inv2 no captured payment" 1 "VIOLATION inv2 order=$O1: CONFIRMED but no captured payment" \
    "DELETE FROM $P.payments WHERE order_id = $XO1; UPDATE $P.wallets SET balance = 10500 WHERE customer_id = 'alice'"
check "inv2 payment refunded" 1 "CONFIRMED but no captured payment (the payment is REFUNDED)" \
    "UPDATE $P.payments SET status = 'REFUNDED' WHERE order_id = $XO1; UPDATE $P.wallets SET balance = 10500 WHERE customer_id = 'alice'"
check "inv2 captured amount differs" 1 "captured payment of 2000 != order amount 2250" \
    "UPDATE $P.payments SET amount = 2000 WHERE order_id = $XO1; UPDATE $P.wallets SET balance = 8500 WHERE customer_id = 'alice'"
check "inv2 reservation still HELD" 1 "VIOLATION inv2 order=$O1 sku=B: CONFIRMED but the reservation is HELD, not COMMITTED" \
    "UPDATE $I.reservations SET status = 'HELD' WHERE order_id = $XO1 AND sku = 'B'; UPDATE $I.products SET sold = 0, reserved = 1 WHERE sku = 'B'"
check "inv2 HELD allowed in flight" 0 "audit: clean" \
    "UPDATE $I.reservations SET status = 'HELD' WHERE order_id = $XO1 AND sku = 'B'; UPDATE $I.products SET sold = 0, reserved = 1 WHERE sku = 'B'" \
    --allow-in-flight
check "inv2 quantity differs" 1 "VIOLATION inv2 order=$O1 sku=A: reserved quantity 2 != line quantity 3" \
    "UPDATE $O.order_items SET quantity = 3 WHERE order_id = $XO1 AND sku = 'A'"
check "inv2 line without reservation" 1 "VIOLATION inv2 order=$O1 sku=B: CONFIRMED but no reservation for the line" \
    "DELETE FROM $I.reservations WHERE order_id = $XO1 AND sku = 'B'; UPDATE $I.products SET sold = 0, available = 20 WHERE sku = 'B'"

# ---- inv3: cancelled orders
check "inv3 cancelled but captured" 1 "VIOLATION inv3 order=$O4 payment=10000000-0000-4000-8000-000000000004: CANCELLED but payment of 1000 is CAPTURED although payment recorded the cancellation" \
    "UPDATE $P.payments SET status = 'CAPTURED' WHERE order_id = $XO4; UPDATE $P.wallets SET balance = 7250 WHERE customer_id = 'alice'"
check "inv3 captured after recorded cancel, even in flight" 1 "VIOLATION inv3 order=$O4" \
    "UPDATE $P.payments SET status = 'CAPTURED' WHERE order_id = $XO4; UPDATE $P.wallets SET balance = 7250 WHERE customer_id = 'alice'" \
    --allow-in-flight
check "inv3 refund not yet applied: allowed in flight" 0 "audit: clean" \
    "UPDATE $P.payments SET status = 'CAPTURED' WHERE order_id = $XO4; UPDATE $P.wallets SET balance = 7250 WHERE customer_id = 'alice'; DELETE FROM $P.cancelled_orders WHERE order_id = $XO4" \
    --allow-in-flight
check "inv3 cancelled but HELD" 1 "VIOLATION inv3 order=$O3 sku=B: CANCELLED but the reservation of 10 is HELD" \
    "UPDATE $I.reservations SET status = 'HELD' WHERE order_id = $XO3; UPDATE $I.products SET reserved = 10, available = 9 WHERE sku = 'B'"
check "inv3 release not yet applied: allowed in flight" 0 "audit: clean" \
    "UPDATE $I.reservations SET status = 'HELD' WHERE order_id = $XO3; UPDATE $I.products SET reserved = 10, available = 9 WHERE sku = 'B'" \
    --allow-in-flight

# ---- inv3a: only known orders move money or stock
check "inv3a payment for an unknown order" 1 "VIOLATION inv3a order=$FORGED payment=10000000-0000-4000-8000-00000000dead: CAPTURED payment of 700 (customer alice) for an order order-service does not know" \
    "INSERT INTO $P.payments (id, order_id, customer_id, amount, currency, status) VALUES (X'1000000000004000800000000000dead', $XFORGED, 'alice', 700, 'EUR', 'CAPTURED'); UPDATE $P.wallets SET balance = 7550 WHERE customer_id = 'alice'"
check "inv3a stock held for an unknown order" 1 "VIOLATION inv3a order=$FORGED: 1 units HELD and 0 COMMITTED for an order order-service does not know" \
    "INSERT INTO $I.reservations (order_id, sku, customer_id, quantity, unit_price, status) VALUES ($XFORGED, 'C', 'bob', 1, 99, 'HELD'); UPDATE $I.products SET reserved = 2, available = 1 WHERE sku = 'C'"
check "inv3a reservation of another customer" 1 "VIOLATION inv3a order=$O6 sku=C: HELD reservation of customer mallory, the order's customer is bob" \
    "UPDATE $I.reservations SET customer_id = 'mallory' WHERE order_id = $XO6"
check "inv3a reservations worth another amount" 1 "VIOLATION inv3a order=$O6: held or committed reservations worth 100 != order amount 99" \
    "UPDATE $I.reservations SET unit_price = 100 WHERE order_id = $XO6"

# ---- inv4: wallets
check "inv4 wallet not conserved" 1 "VIOLATION inv4 customer=alice: initial_balance 10000 + topped_up 500 != balance 8251 + captured 2250 (+1)" \
    "UPDATE $P.wallets SET balance = balance + 1 WHERE customer_id = 'alice'"
check "inv4 negative balance" 1 "VIOLATION inv4 customer=carol: negative amount: balance -5" \
    "UPDATE $P.wallets SET balance = -5, topped_up = -5 WHERE customer_id = 'carol'"
check "inv4 capture without a wallet" 1 "VIOLATION inv4 customer=dave order=$O1: CAPTURED payment of 2250 but the customer has no wallet" \
    "UPDATE $P.payments SET customer_id = 'dave' WHERE order_id = $XO1"

# ---- inv5: nothing left in flight past its deadline
check "inv5 overdue order" 1 "VIOLATION inv5 order=$O6: AWAITING_PAYMENT with deadline" \
    "UPDATE $O.orders SET deadline = UTC_TIMESTAMP(3) - INTERVAL 60 SECOND WHERE id = $XO6"
check "inv5 within --grace-ms" 0 "audit: clean" \
    "UPDATE $O.orders SET deadline = UTC_TIMESTAMP(3) - INTERVAL 60 SECOND WHERE id = $XO6" \
    --grace-ms 120000
check "inv5 unknown status" 1 "VIOLATION inv5 order=$O6: order in unknown status 'LIMBO'" \
    "UPDATE $O.orders SET status = 'LIMBO' WHERE id = $XO6"

# ---- inv6: notifications
check "inv6 missing notification" 1 "VIOLATION inv6 order=$O1: CONFIRMED but no OrderConfirmed notification on channel webhook" \
    "DELETE FROM $N.notifications WHERE order_id = $XO1 AND channel = 'webhook'"
check "inv6 duplicate notification" 1 "VIOLATION inv6 order=$O2: 2 notifications for trigger OrderCancelled on channel log (expected one)" \
    "ALTER TABLE $N.notifications DROP INDEX notifications_trigger;
     INSERT INTO $N.notifications (id, order_id, customer_id, trigger_type, trigger_event_id, channel, status, attempts, next_attempt_at, payload)
     VALUES (X'20000000000040008000000000000099', $XO2, 'bob', 'OrderCancelled', X'30000000000040008000000000000002', 'log', 'SENT', 1, UTC_TIMESTAMP(3), '{}')"
check "inv6 PENDING after drain" 1 "VIOLATION inv6 order=$O2 notification=20000000-0000-4000-8000-000000000021: OrderCancelled notification on channel log still PENDING after drain" \
    "UPDATE $N.notifications SET status = 'PENDING' WHERE id = X'20000000000040008000000000000021'"
check "inv6 PENDING allowed in flight" 0 "audit: clean" \
    "UPDATE $N.notifications SET status = 'PENDING' WHERE id = X'20000000000040008000000000000021'" \
    --allow-in-flight
check "inv6 notification for an unknown order" 1 "VIOLATION inv6 order=$FORGED notification=20000000-0000-4000-8000-0000000000ff: OrderConfirmed notification for an order order-service does not know" \
    "INSERT INTO $N.notifications (id, order_id, customer_id, trigger_type, trigger_event_id, channel, status, attempts, next_attempt_at, payload)
     VALUES (X'200000000000400080000000000000ff', $XFORGED, 'bob', 'OrderConfirmed', X'300000000000400080000000000000ee', 'log', 'SENT', 1, UTC_TIMESTAMP(3), '{}')"
check "inv6 OrderCancelled for a confirmed order" 1 "VIOLATION inv6 order=$O1 notification=20000000-0000-4000-8000-000000000013: OrderCancelled notification but the order is CONFIRMED" \
    "INSERT INTO $N.notifications (id, order_id, customer_id, trigger_type, trigger_event_id, channel, status, attempts, next_attempt_at, payload)
     VALUES (X'20000000000040008000000000000013', $XO1, 'alice', 'OrderCancelled', X'300000000000400080000000000000ee', 'log', 'SENT', 1, UTC_TIMESTAMP(3), '{}')"

# ---- inv7: dead letters and outboxes
check "inv7 outbox not drained" 1 "VIOLATION inv7 service=payment: outbox holds 1 unpublished rows after drain" \
    "INSERT INTO $P.outbox (topic, msg_key, payload) VALUES ('payment-events', $XO1, '{}')"
check "inv7 outbox allowed in flight" 0 "audit: clean" \
    "INSERT INTO $P.outbox (topic, msg_key, payload) VALUES ('payment-events', $XO1, '{}')" \
    --allow-in-flight
check "inv7 dead letter not on the topic" 1 "VIOLATION inv7 service=inventory src=order-events/1/5: dead letter (SCHEMA_INVALID, source timestamp 7) is not on $TOPIC" \
    "INSERT INTO $I.dead_letters (src_topic, src_partition, src_offset, src_timestamp, reason, message, attempts) VALUES ('order-events', 1, 5, 7, 'SCHEMA_INVALID', 'x', 1)"
# dlq_row TIMESTAMP: a dead letter whose message waits in the outbox, its header naming
# the source message's timestamp 7; the row's is TIMESTAMP
dlq_row() {
    echo "INSERT INTO $I.dead_letters (src_topic, src_partition, src_offset, src_timestamp, reason, message, attempts) VALUES ('order-events', 1, 5, $1, 'SCHEMA_INVALID', 'x', 1);
 INSERT INTO $I.outbox (topic, msg_key, payload, headers) VALUES ('$TOPIC', $XO1, 'x',
 '{\"saga-service\":\"inventory\",\"kafka_dlt-original-topic\":\"order-events\",\"kafka_dlt-original-partition\":\"1\",\"kafka_dlt-original-offset\":\"5\",\"kafka_dlt-original-timestamp\":\"7\"}')"
}
check "inv7 dead letter still in the outbox" 1 "dead letter (SCHEMA_INVALID, source timestamp 7) is not on $TOPIC (its message is still in the outbox)" "$(dlq_row 7)"
check "inv7 dead letter in the outbox: allowed in flight" 0 "audit: clean" "$(dlq_row 7)" --allow-in-flight
# a dead letter is named by its source message, timestamp included: an outbox row from
# another message at the same position (the topic's offsets started again) does not
# account for it
check "inv7 outbox row of another message at the position" 1 \
    "dead letter (SCHEMA_INVALID, source timestamp 6) is not on $TOPIC" "$(dlq_row 6)" --allow-in-flight
# a row from before the timestamp was stored (-1) is matched by position
check "inv7 dead letter without a source timestamp, in the outbox" 0 "audit: clean" \
    "$(dlq_row -1)" --allow-in-flight
check "inv7 message without a dead_letters row" 1 "VIOLATION inv7 service=order src=inventory-events/2/17: $TOPIC message" \
    "DELETE FROM $O.dead_letters"
check "inv7 message of another source message at the row's position" 1 \
    "(source timestamp 1767225600000) has no dead_letters row in $O" \
    "UPDATE $O.dead_letters SET src_timestamp = 1767225599000"
check "inv7 dead letter recorded before the source timestamp was stored" 0 "audit: clean" \
    "UPDATE $O.dead_letters SET src_timestamp = -1"
# an in-memory broker restarted at SAGA_AUDIT_DLQ_SINCE: older dead letters are lost with
# it (a note, not a violation); newer ones are judged as always
SAGA_AUDIT_DLQ_SINCE=2026-06-01T00:00:00.250Z check "inv7 dead letter lost with a restarted broker" 0 \
    "1 dead letters recorded before 2026-06-01 00:00:00.250 UTC, when the broker holding $TOPIC started empty (SAGA_AUDIT_DLQ_SINCE), are not on it: lost with the in-memory broker" \
    "INSERT INTO $I.dead_letters (src_topic, src_partition, src_offset, src_timestamp, reason, message, attempts, created_at) VALUES ('order-events', 1, 5, 7, 'SCHEMA_INVALID', 'x', 1, '2026-06-01 00:00:00.249')"
SAGA_AUDIT_DLQ_SINCE=2026-06-01T00:00:00Z check "inv7 dead letter after the broker's start" 1 \
    "VIOLATION inv7 service=inventory src=order-events/1/5: dead letter (SCHEMA_INVALID, source timestamp 7) is not on $TOPIC" \
    "INSERT INTO $I.dead_letters (src_topic, src_partition, src_offset, src_timestamp, reason, message, attempts, created_at) VALUES ('order-events', 1, 5, 7, 'SCHEMA_INVALID', 'x', 1, '2026-06-01 00:00:00.001')"

# ---- cannot run: exit 2 naming what
SAGA_AUDIT_PAYMENT_MYSQL_PORT=1 check "exit 2: payment database unreachable" 2 \
    "saga-audit: cannot audit: payment database $P: cannot connect to mysql at 127.0.0.1:1" ""
SAGA_AUDIT_INVENTORY_DB=saga_test_audit_missing check "exit 2: missing database" 2 \
    "inventory database saga_test_audit_missing" ""
check "exit 2: missing table" 2 "notification database $N: " "DROP TABLE $N.notifications"
SAGA_KAFKA_BOOTSTRAP=127.0.0.1:1 SAGA_AUDIT_KAFKA_TIMEOUT_MS=2000 check "exit 2: broker unreachable" 2 \
    "cannot read the metadata of $TOPIC from kafka at 127.0.0.1:1" ""
check "exit 2: bad option" 2 "unknown option '--frobnicate'" "" --frobnicate
SAGA_AUDIT_DLQ_SINCE=yesterday check "exit 2: SAGA_AUDIT_DLQ_SINCE not a time" 2 \
    "SAGA_AUDIT_DLQ_SINCE: 'yesterday' is not an RFC 3339 UTC time" ""
SAGA_AUDIT_MYSQL_READ_TIMEOUT_S=0 check "exit 2: SAGA_AUDIT_MYSQL_READ_TIMEOUT_S out of range" 2 \
    "SAGA_AUDIT_MYSQL_READ_TIMEOUT_S" ""

# read_timeout NAME SECONDS EXPECTED_EXIT PATTERN: the audit while another session holds
# payments locked for 5 s (its reads of payments wait for the lock). The audit's own
# read timeout decides: shorter, it gives up with exit 2; longer, it waits and is clean.
# The audit starts only once the lock is held (the holder's SLEEP is running).
read_timeout() {
    local name=$1 seconds=$2 want=$3 pattern=$4 got=0 locker tries=0
    load
    sql "$P" -e "LOCK TABLES payments WRITE; SELECT SLEEP(5) AS saga_audit_test_lock" \
        >/dev/null &
    locker=$!
    until [[ $(sql -e "SELECT COUNT(*) FROM information_schema.PROCESSLIST
            WHERE INFO LIKE '%SLEEP(5) AS saga_audit_test_lock%' AND STATE = 'User sleep'") == 1 ]]; do
        ((++tries < 100)) || break
        sleep 0.1
    done
    SAGA_AUDIT_MYSQL_READ_TIMEOUT_S=$seconds "$AUDIT" >"$WORK/out" 2>&1 || got=$?
    wait "$locker"
    verdict "$name" "$want" "$pattern" "$got"
}
read_timeout "exit 2: a query held up past SAGA_AUDIT_MYSQL_READ_TIMEOUT_S" 1 2 \
    "payment database $P: Lost connection"
read_timeout "a query held up within SAGA_AUDIT_MYSQL_READ_TIMEOUT_S waits" 60 0 "audit: clean"

# ---- last, as they add messages to the topic for good
printf '%s\n' 'stray' | kcat -b "$BOOTSTRAP" -P -t "$TOPIC" -k x -H saga-service=shipping \
    -H kafka_dlt-original-topic=order-events -H kafka_dlt-original-partition=0 \
    -H kafka_dlt-original-offset=1
check "inv7 message from an unknown service" 1 "message from unknown service 'shipping'" ""

for svc in order payment inventory notification; do
    sql -e "DROP DATABASE IF EXISTS saga_test_audit_$svc"
done
echo "audit: $passed passed, $failed failed"
((failed == 0))
