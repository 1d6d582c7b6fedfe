#!/usr/bin/env bash
# loadtest/datagen.sh - loads the load test's wallets and products straight into the
# local stack's MariaDB (the conventions saga-load relies on, loadtest/README.md):
#
#   wallets   load-c-000001..C     balance 1000000000 (minor units), EUR
#             load-poor-001..100   balance 0: their orders are PAYMENT_DECLINED
#   products  load-p-0000001..P    price 100 + (i % 9900), stock 1000000
#             load-empty-01..10    stock 0: their orders are OUT_OF_STOCK
#
# A million rows through the HTTP API would take many minutes; here awk writes them
# as tab-separated files and LOAD DATA LOCAL INFILE loads them, in chunks of 500,000
# rows (one transaction each: the undo log stays small and a chunk is all or
# nothing). Nothing that the services' durability depends on is changed: the server
# keeps innodb_flush_log_at_trx_commit=1 and every chunk is an ordinary commit.
#
# Idempotent: a row that exists already is skipped (LOAD DATA ... IGNORE), with its
# stock or balance as earlier runs left it, so a product with reservations or a
# wallet with payments stays consistent with them. A new row starts its history
# (initial_stock = available, restocked = 0; initial_balance = balance,
# topped_up = 0), which is what the audit's invariants 1 and 4 ask of it.
#
# The services create the tables (their migrations run at start-up): start the
# stack first (deploy/local/up.sh).
#
# Usage: loadtest/datagen.sh [--products N] [--customers N] [--socket PATH]
#            [--host H --port P] [--user U] [--inventory-db DB] [--payment-db DB]
#   --products N      load products 1..N (default 1000000, at most 10000000)
#   --customers N     load wallets 1..N (default 100000, at most 10000000)
#   --socket PATH     MariaDB socket (default .local/mysql.sock of the checkout)
#   --host H, --port P   TCP instead of the socket
#   --user U          MariaDB user (default: the user running this, the local stack's
#                     administrator, by unix-socket authentication over the socket;
#                     another user's password comes from MYSQL_PWD)
#   --inventory-db DB, --payment-db DB   default saga_inventory, saga_payment
# Exit status: 0 when every row is there, 1 on a failure, 2 on bad usage.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

products=1000000
customers=100000
socket=$ROOT/.local/mysql.sock
host=""
port=""
user=$(id -un)
inventory_db=saga_inventory
payment_db=saga_payment
CHUNK=500000

usage() { sed -n '2,38p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }
die() { printf 'datagen: %s\n' "$*" >&2; exit 1; }
bad_usage() { printf 'datagen: %s (see --help)\n' "$*" >&2; exit 2; }

count_arg() { # count_arg NAME VALUE MAX
    [[ $2 =~ ^[0-9]+$ ]] && (($2 <= $3)) || bad_usage "$1 wants an integer 0..$3, not '$2'"
}

while (($#)); do
    opt=$1
    case $opt in
        -h | --help) usage; exit 0 ;;
        --products | --customers | --socket | --host | --port | --user | --inventory-db | \
            --payment-db)
            (($# >= 2)) || bad_usage "$opt needs a value"
            val=$2
            shift 2
            ;;
        *) bad_usage "unknown option $opt" ;;
    esac
    case $opt in
        --products) count_arg "$opt" "$val" 10000000; products=$val ;;
        --customers) count_arg "$opt" "$val" 10000000; customers=$val ;;
        --socket) socket=$val ;;
        --host) host=$val ;;
        --port) port=$val ;;
        --user) user=$val ;;
        --inventory-db) inventory_db=$val ;;
        --payment-db) payment_db=$val ;;
    esac
done

conn=(--no-defaults --local-infile=1 -u"$user")
if [[ -n $host ]]; then
    conn+=(--protocol=tcp -h"$host")
    [[ -n $port ]] && conn+=(-P"$port")
else
    [[ -S $socket ]] || die "no MariaDB socket at $socket: start the stack (deploy/local/up.sh)"
    conn+=(--protocol=socket --socket="$socket")
fi
sql() { mariadb "${conn[@]}" -N -B "$@"; }

# The tables come from the services' migrations.
for table in "$inventory_db.products" "$payment_db.wallets"; do
    n=$(sql -e "SELECT COUNT(*) FROM information_schema.tables WHERE
        table_schema = '${table%%.*}' AND table_name = '${table#*.}'") ||
        die "cannot reach MariaDB"
    ((n == 1)) || die "table $table does not exist: start the services first (deploy/local/up.sh)"
done

work=$(mktemp -d "${TMPDIR:-/tmp}/saga-datagen.XXXXXX")
trap 'rm -rf "$work"' EXIT

# load FILE DB TABLE COLUMNS: one LOAD DATA (one transaction) of a tab-separated file
load() {
    sql "$2" -e "LOAD DATA LOCAL INFILE '$1' IGNORE INTO TABLE $3
        CHARACTER SET utf8mb4 FIELDS TERMINATED BY '\t' LINES TERMINATED BY '\n' ($4)"
}

# rows KIND FROM TO: the rows FROM..TO of a kind, tab-separated, on stdout
rows() {
    awk -v kind="$1" -v from="$2" -v to="$3" 'BEGIN {
        for (i = from; i <= to; i++) {
            if (kind == "product")
                printf "load-p-%07d\tload product %d\t%d\t1000000\t1000000\n", i, i, 100 + i % 9900
            else if (kind == "empty")
                printf "load-empty-%02d\tload empty product %d\t%d\t0\t0\n", i, i, 100 + i
            else if (kind == "customer")
                printf "load-c-%06d\t1000000000\t1000000000\n", i
            else
                printf "load-poor-%03d\t0\t0\n", i
        }
    }'
}

PRODUCT_COLUMNS="sku, name, price, available, initial_stock"
WALLET_COLUMNS="customer_id, balance, initial_balance"

# load_range KIND DB TABLE COLUMNS N: rows 1..N in chunks
load_range() {
    local kind=$1 db=$2 table=$3 columns=$4 n=$5 from to
    for ((from = 1; from <= n; from += CHUNK)); do
        to=$((from + CHUNK - 1 < n ? from + CHUNK - 1 : n))
        rows "$kind" "$from" "$to" >"$work/$kind.tsv"
        load "$work/$kind.tsv" "$db" "$table" "$columns" || die "loading $kind rows $from..$to failed"
    done
}

started=$(date +%s.%N)
load_range customer "$payment_db" wallets "$WALLET_COLUMNS" "$customers"
load_range poor "$payment_db" wallets "$WALLET_COLUMNS" 100
t_wallets=$(date +%s.%N)
load_range product "$inventory_db" products "$PRODUCT_COLUMNS" "$products"
load_range empty "$inventory_db" products "$PRODUCT_COLUMNS" 10
finished=$(date +%s.%N)

# As many load rows as asked for are there (new or from before).
have_products=$(sql "$inventory_db" -e "SELECT COUNT(*) FROM products WHERE
    sku LIKE 'load-p-%' OR sku LIKE 'load-empty-%'")
have_wallets=$(sql "$payment_db" -e "SELECT COUNT(*) FROM wallets WHERE
    customer_id LIKE 'load-c-%' OR customer_id LIKE 'load-poor-%'")
((have_products >= products + 10)) ||
    die "expected $((products + 10)) load products, found $have_products"
((have_wallets >= customers + 100)) ||
    die "expected $((customers + 100)) load wallets, found $have_wallets"

awk -v s="$started" -v w="$t_wallets" -v f="$finished" -v p="$products" -v c="$customers" \
    'BEGIN { printf "datagen: %d wallets in %.1f s, %d products in %.1f s (%.1f s in all)\n",
             c + 100, w - s, p + 10, f - w, f - s }'
