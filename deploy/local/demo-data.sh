#!/usr/bin/env bash
# deploy/local/demo-data.sh - a small catalogue and three wallets for the local
# stack (up.sh runs it once the services are ready), then prints a curl that
# places an order. Creates only what is missing, so running it again changes
# nothing (stock and balances are left as the demo left them).
set -euo pipefail

ORDER_URL=${SAGA_ORDER_URL:-http://127.0.0.1:8081}
PAYMENT_URL=${SAGA_PAYMENT_URL:-http://127.0.0.1:8082}
INVENTORY_URL=${SAGA_INVENTORY_URL:-http://127.0.0.1:8083}

# status of a GET
status() { curl -s -o /dev/null -w '%{http_code}' "$1"; }

# PUT $2 (JSON) to $1 unless $1 already exists
ensure() {
    local url=$1 body=$2 code
    code=$(status "$url")
    if [[ $code == 404 ]]; then
        code=$(curl -s -o /dev/null -w '%{http_code}' -X PUT -H 'Content-Type: application/json' \
            -d "$body" "$url")
        [[ $code == 200 || $code == 201 ]] || { echo "demo-data: PUT $url answered $code" >&2; exit 1; }
    elif [[ $code != 200 ]]; then
        echo "demo-data: GET $url answered $code" >&2
        exit 1
    fi
}

# sku, name, price in cents, stock
while IFS='|' read -r sku name price stock; do
    ensure "$INVENTORY_URL/api/products/$sku" \
        "{\"name\":\"$name\",\"price\":$price,\"stock\":$stock}"
done <<'CATALOGUE'
KB-001|Mechanical keyboard|8900|50
MS-002|Wireless mouse|2900|100
MN-003|27-inch monitor|24900|20
HB-004|USB-C hub|3900|3
CB-005|USB-C cable|900|500
CATALOGUE

# customer, balance in cents, blocked
while IFS='|' read -r customer balance blocked; do
    ensure "$PAYMENT_URL/api/wallets/$customer" "{\"balance\":$balance,\"blocked\":$blocked}"
done <<'WALLETS'
alice|100000|false
bob|5000|false
carol|100000|true
WALLETS

cat <<TXT
demo data: products KB-001 MS-002 MN-003 HB-004 CB-005; wallets alice (1000.00),
bob (50.00: too little for a monitor), carol (blocked). Place an order:

  curl -s -X POST $ORDER_URL/api/orders -H 'Content-Type: application/json' \\
       -d '{"customerId":"alice","items":[{"sku":"KB-001","quantity":1},{"sku":"CB-005","quantity":2}]}'

then follow it (replace ID with the "id" of the answer):

  curl -s "$ORDER_URL/api/orders/ID?wait=5"        # CONFIRMED once the saga is done
  curl -s "$ORDER_URL/api/orders/ID/events"        # the whole saga
  curl -s "${SAGA_NOTIFICATION_URL:-http://127.0.0.1:8084}/api/notifications?orderId=ID"
TXT
