#!/usr/bin/env bash
# loadtest/bench_audit.sh - the audit after a benchmark run (saga-load --audit-cmd):
# deploy/local/audit.sh, with MariaDB's buffer pool left as the run left it.
#
# On a grown database the audit reads every stored order, product and wallet, which
# pushes the run's working set out of the buffer pool: the next run would start by
# reading it back from disk (measured at 5.2 million orders: 1.23 pages read per saga
# after an audit against 0.63 without), paying for the benchmark's own check rather than
# for its load. So the pool's page list is saved before the audit (the whole list:
# up.sh sets innodb_buffer_pool_dump_pct=100) and read back after it, as MariaDB does
# across a restart. Arguments go to audit.sh; the exit status is the audit's.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=deploy/local/lib.sh
source "$ROOT/deploy/local/lib.sh"
SOCK=$ROOT/.local/mysql.sock

# pool_now dump|load: starts a dump or a load of the pool's page list and waits (at
# most 5 minutes) until MariaDB reports it completed; a status that reads the same as
# before is an earlier one's ("... completed at <time>")
pool_now() {
    local kind=$1 before status deadline=$((SECONDS + 300))
    before=$(saga_mysql_pool_status "$SOCK" "$kind")
    saga_mysql "$SOCK" -e "SET GLOBAL innodb_buffer_pool_${kind}_now = ON"
    until status=$(saga_mysql_pool_status "$SOCK" "$kind") && [[ $status != "$before" &&
        $status == "Buffer pool(s) $kind completed"* ]]; do
        if ((SECONDS >= deadline)); then
            echo "bench_audit: the buffer pool's $kind did not complete in 5 minutes: $status" >&2
            return 0 # the audit's result stands; the next run starts colder
        fi
        sleep 0.2
    done
}

pool_now dump
rc=0
"$ROOT/deploy/local/audit.sh" "$@" || rc=$?
pool_now load
exit "$rc"
