#!/usr/bin/env bash
# tests/compose/check.sh - what CI checks of the Docker deployment without a Docker
# engine (there is none on the build machines):
#   1. docker-compose.yml validates (`docker-compose config -q`, Debian 12's
#      docker-compose 1.29) with .env.example, and refuses to start without the
#      passwords (no secret is committed);
#   2. every ${VAR:?...} the compose file requires is in .env.example;
#   3. the MySQL init script creates the four databases, one user per service with
#      ALL on its own database only, and saga_audit with SELECT (run against a stub
#      mysql client), quoting passwords safely, and fails when one is missing;
#   4. deploy/docker/build.sh (the image's build steps) builds and installs into a
#      scratch directory, and every shared library the binaries need comes from a
#      package the Dockerfile's runtime stage installs.
# Installs docker-compose (the client only) when missing and running as root.
# Prints one line per check and "N passed, M failed"; exits 1 on any failure.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"
WORK=$(mktemp -d /tmp/saga-compose-check.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
passed=0
failed=0

ok() { echo "ok - $1"; passed=$((passed + 1)); }
fail() {
    echo "not ok - $1"
    [[ -f $WORK/out ]] && sed 's/^/    | /' "$WORK/out" | tail -n 40
    failed=$((failed + 1))
}

if ! command -v docker-compose >/dev/null 2>&1; then
    if ((EUID == 0)); then
        echo "check.sh: installing docker-compose (the client only)"
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
            docker-compose >/dev/null ||
            { apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive \
                apt-get install -y -q --no-install-recommends docker-compose >/dev/null; }
    else
        echo "check.sh: docker-compose is missing (apt-get install docker-compose)" >&2
        exit 1
    fi
fi

# ---- 1. the compose file
if docker-compose --env-file .env.example config -q >"$WORK/out" 2>&1; then
    ok "docker-compose config -q with .env.example"
else
    fail "docker-compose config -q with .env.example"
fi
: >"$WORK/empty.env"
if env -i PATH="$PATH" HOME="$WORK" docker-compose --env-file "$WORK/empty.env" config -q \
    >"$WORK/out" 2>&1; then
    fail "docker-compose config must fail without the passwords"
elif grep -q "MYSQL_ROOT_PASSWORD" "$WORK/out"; then
    ok "docker-compose refuses to run without the passwords"
else
    fail "docker-compose without the passwords: unexpected error"
fi
docker-compose --env-file .env.example --profile tools config >"$WORK/config.yml" 2>"$WORK/out"
missing=""
for svc in kafka kafka-init mysql redis kafdrop order payment inventory notification audit; do
    grep -q "^  $svc:$" "$WORK/config.yml" || missing+=" $svc"
done
for port in 8081 8082 8083 8084 9000; do
    grep -q "published: $port$" "$WORK/config.yml" || missing+=" port:$port"
done
if [[ -z $missing ]]; then
    ok "services and published ports present"
else
    echo "missing:$missing" >"$WORK/out"
    fail "services and published ports present"
fi

# ---- 2. .env.example has every required variable
missing=""
for var in $(grep -o '\${[A-Z_]*:?' docker-compose.yml | sed 's/^\${//; s/:?$//' | sort -u); do
    grep -q "^$var=" .env.example || missing+=" $var"
done
if [[ -z $missing ]]; then
    ok ".env.example sets every required variable"
else
    echo "missing:$missing" >"$WORK/out"
    fail ".env.example sets every required variable"
fi

# ---- 3. the MySQL init script, against a stub client
mkdir -p "$WORK/stub"
printf '#!/bin/sh\ncat > "%s/sql"\n' "$WORK" >"$WORK/stub/mysql"
chmod +x "$WORK/stub/mysql"
init=deploy/docker/mysql-init/01-saga-databases.sh
if PATH="$WORK/stub:$PATH" MYSQL_ROOT_PASSWORD=r SAGA_ORDER_DB_PASSWORD="o'x\\y" \
    SAGA_PAYMENT_DB_PASSWORD=p SAGA_INVENTORY_DB_PASSWORD=i SAGA_NOTIFICATION_DB_PASSWORD=n \
    SAGA_AUDIT_DB_PASSWORD=a bash "$init" >"$WORK/out" 2>&1 &&
    grep -qF "CREATE USER IF NOT EXISTS 'saga_order'@'%' IDENTIFIED WITH mysql_native_password BY 'o''x\\\\y';" "$WORK/sql" &&
    [[ $(grep -c '^GRANT ALL PRIVILEGES ON `saga_[a-z]*`\.\* TO '"'saga_[a-z]*'@'%';" "$WORK/sql") == 4 ]] &&
    [[ $(grep -c "^GRANT SELECT ON \`saga_[a-z]*\`\.\* TO 'saga_audit'@'%';" "$WORK/sql") == 4 ]] &&
    ! grep -q "ON \*\.\*" "$WORK/sql"; then
    ok "mysql-init: databases, least-privilege users, saga_audit read-only"
else
    cat "$WORK/sql" >>"$WORK/out" 2>/dev/null || true
    fail "mysql-init: databases, least-privilege users, saga_audit read-only"
fi
if env -i PATH="$WORK/stub:$PATH" MYSQL_ROOT_PASSWORD=r bash "$init" >"$WORK/out" 2>&1; then
    fail "mysql-init must fail without the passwords"
else
    ok "mysql-init refuses to run without the passwords"
fi

# ---- 4. the image's build steps
if deploy/docker/build.sh "$WORK/build" "$WORK/prefix" >"$WORK/out" 2>&1; then
    ok "deploy/docker/build.sh builds and installs"
else
    fail "deploy/docker/build.sh builds and installs"
fi
missing=""
for f in bin/order-service bin/payment-service bin/inventory-service bin/notification-service \
    bin/saga-audit deploy/mysql/common/001_outbox_inbox.sql schemas/envelope.json; do
    [[ -e $WORK/prefix/$f ]] || missing+=" $f"
done
for svc in order payment inventory notification; do
    [[ -d deploy/mysql/$svc ]] && ! compgen -G "$WORK/prefix/deploy/mysql/$svc/*.sql" \
        >/dev/null && compgen -G "deploy/mysql/$svc/*.sql" >/dev/null && missing+=" mysql/$svc"
    [[ -f services/$svc/openapi.json && ! -f $WORK/prefix/services/$svc/openapi.json ]] &&
        missing+=" services/$svc/openapi.json"
done
if [[ -z $missing ]]; then
    ok "installed layout: bin/, schemas/, deploy/mysql/, services/*/openapi.json"
else
    echo "missing:$missing" >"$WORK/out"
    fail "installed layout: bin/, schemas/, deploy/mysql/, services/*/openapi.json"
fi
# the runtime stage's packages: the apt-get line after "AS runtime"
runtime_pkgs=$(sed -n '/AS runtime/,$p' deploy/docker/Dockerfile |
    sed -n '/apt-get install/,/rm -rf/p' | tr -s ' \\' '\n' | grep -E '^lib|^curl$' || true)
missing=""
for bin in "$WORK"/prefix/bin/*; do
    [[ -x $bin ]] || continue
    for lib in $(readelf -d "$bin" | sed -n 's/.*Shared library: \[\(.*\)\]/\1/p'); do
        path=$(ldd "$bin" | awk -v l="$lib" '$1 == l {print $3}')
        pkg=$(dpkg -S "$path" 2>/dev/null || dpkg -S "/usr$path" 2>/dev/null ||
            dpkg -S "$(realpath "$path")" 2>/dev/null || echo "unknown:$lib")
        pkg=${pkg%%:*}
        case "$pkg" in libc6) continue ;; esac # in debian:bookworm-slim
        grep -qx "$pkg" <<<"$runtime_pkgs" || missing+=" $pkg($lib)"
    done
done
if [[ -z $missing ]]; then
    ok "the runtime image installs every library the binaries link"
else
    echo "not installed by the Dockerfile's runtime stage:$(tr ' ' '\n' <<<"$missing" | sort -u | tr '\n' ' ')" >"$WORK/out"
    fail "the runtime image installs every library the binaries link"
fi

echo "compose: $passed passed, $failed failed"
((failed == 0))
