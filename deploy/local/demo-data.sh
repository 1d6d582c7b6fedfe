#!/usr/bin/env bash
# deploy/local/demo-data.sh - a small catalogue and three wallets for the local
# stack (up.sh runs it once the services are ready), then prints tokens and a curl
# that places an order. Creates only what is missing, so running it again changes
# nothing (stock and balances are left as the demo left them).
#
# It calls the APIs as an admin: SAGA_ADMIN_TOKEN if set, else a token minted with
# deploy/local/token.sh (the key in .local/secrets; SAGA_LOCAL_DIR, SAGA_TOKEN_BIN).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

ORDER_URL=${SAGA_ORDER_URL:-http://127.0.0.1:8081}
PAYMENT_URL=${SAGA_PAYMENT_URL:-http://127.0.0.1:8082}
INVENTORY_URL=${SAGA_INVENTORY_URL:-http://127.0.0.1:8083}

ADMIN_TOKEN=${SAGA_ADMIN_TOKEN:-$("$HERE/token.sh" demo-data --admin)}
# curl with the admin's token, from a file descriptor: it stays out of the process list
api() { curl -s -H @<(printf 'Authorization: Bearer %s\n' "$ADMIN_TOKEN") "$@"; }

# status of a GET
status() { api -o /dev/null -w '%{http_code}' "$1"; }

# PUT $2 (JSON) to $1 unless $1 already exists
ensure() {
    local url=$1 body=$2 code
    code=$(status "$url")
    if [[ $code == 404 ]]; then
        code=$(api -o /dev/null -w '%{http_code}' -X PUT -H 'Content-Type: application/json' \
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

ALICE_TOKEN=$("$HERE/token.sh" alice)
cat <<TXT
demo data: products KB-001 MS-002 MN-003 HB-004 CB-005; wallets alice (1000.00),
bob (50.00: too little for a monitor), carol (blocked).

Bearer tokens, valid for an hour (more: deploy/local/token.sh alice | bob | NAME --admin):

  export ALICE_TOKEN=$ALICE_TOKEN   # customer alice
  export ADMIN_TOKEN=$ADMIN_TOKEN   # an admin

Place an order as alice:

  curl -s -X POST $ORDER_URL/api/orders -H "Authorization: Bearer \$ALICE_TOKEN" \\
       -H 'Content-Type: application/json' \\
       -d '{"customerId":"alice","items":[{"sku":"KB-001","quantity":1},{"sku":"CB-005","quantity":2}]}'

then follow it (replace ID with the "id" of the answer):

  curl -s -H "Authorization: Bearer \$ALICE_TOKEN" "$ORDER_URL/api/orders/ID?wait=5"   # CONFIRMED once done
  curl -s -H "Authorization: Bearer \$ALICE_TOKEN" "$ORDER_URL/api/orders/ID/events"   # the whole saga
  curl -s -H "Authorization: Bearer \$ADMIN_TOKEN" \\
       "${SAGA_NOTIFICATION_URL:-http://127.0.0.1:8084}/api/notifications?orderId=ID"
TXT
