#!/usr/bin/env bash
# deploy/local/token.sh - a bearer token for the local stack, signed with the key
# up.sh made in .local/secrets/. Prints the token on stdout.
#
#   deploy/local/token.sh alice                 customer alice (her own orders, wallet)
#   deploy/local/token.sh ops --admin           an admin (everything)
#   deploy/local/token.sh alice --ttl 86400     any other saga-token option
#
#   curl -H "Authorization: Bearer $(deploy/local/token.sh alice)" http://127.0.0.1:8081/api/orders
#
# Environment: SAGA_LOCAL_DIR (default .local in the checkout), SAGA_TOKEN_BIN (default
# build-release/tools/saga-token, else build/tools/saga-token).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
LOCAL=${SAGA_LOCAL_DIR:-$ROOT/.local}
KEY=$LOCAL/secrets/jwt-private.pem

if (($# == 0)) || [[ $1 == -h || $1 == --help ]]; then
    sed -n '2,12p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
    (($# == 0)) && exit 2
    exit 0
fi
BIN=${SAGA_TOKEN_BIN:-}
if [[ -z $BIN ]]; then
    for BIN in "$ROOT/build-release/tools/saga-token" "$ROOT/build/tools/saga-token"; do
        [[ -x $BIN ]] && break
    done
fi
[[ -x $BIN ]] || { echo "token.sh: saga-token is not built (deploy/local/up.sh builds it)" >&2; exit 2; }
[[ -r $KEY ]] || { echo "token.sh: no signing key $KEY (deploy/local/up.sh makes it)" >&2; exit 2; }

# The local services verify ES256 with .local/secrets/jwt-public.pem (up.sh).
exec env -u SAGA_JWT_SECRET -u SAGA_JWT_PRIVATE_KEY_FILE \
    "$BIN" --alg ES256 --key-file "$KEY" "$@"
