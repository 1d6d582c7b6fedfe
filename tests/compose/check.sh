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
#      package the Dockerfile's runtime stage installs;
#   5. who may do what: no service connects to MySQL as root (each as saga_<svc>,
#      the audit as saga_audit), only the mysql container gets the root password,
#      every service has its JWT settings and its metrics port on the host's
#      loopback, and no secret is written literally in the compose file (every
#      password, secret or token setting is a ${VAR:?...} from .env); the checker
#      is shown to catch a root user and a literal secret in a doctored copy.
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
for svc in kafka kafka-init mysql redis kafdrop console order payment inventory notification \
    audit token; do
    grep -q "^  $svc:$" "$WORK/config.yml" || missing+=" $svc"
done
for port in 8081 8082 8083 8084 9000 9010; do
    grep -q "published: $port$" "$WORK/config.yml" || missing+=" port:$port"
done
for port in 9081 9082 9083 9084; do # metrics: on the host's loopback only
    grep -q -- "- 127.0.0.1:$port:$port/tcp$" "$WORK/config.yml" || missing+=" port:$port"
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
# saga-console's users: SELECT on their own database each, nothing else
console_grants_ok() {
    local svc
    for svc in order payment inventory notification; do
        grep -qxF "GRANT SELECT ON \`saga_$svc\`.* TO 'saga_console_$svc'@'%';" "$WORK/sql" ||
            return 1
    done
}
if PATH="$WORK/stub:$PATH" MYSQL_ROOT_PASSWORD=r SAGA_ORDER_DB_PASSWORD="o'x\\y" \
    SAGA_PAYMENT_DB_PASSWORD=p SAGA_INVENTORY_DB_PASSWORD=i SAGA_NOTIFICATION_DB_PASSWORD=n \
    SAGA_AUDIT_DB_PASSWORD=a SAGA_CONSOLE_DB_PASSWORD=c bash "$init" >"$WORK/out" 2>&1 &&
    grep -qF "CREATE USER IF NOT EXISTS 'saga_order'@'%' IDENTIFIED WITH mysql_native_password BY 'o''x\\\\y';" "$WORK/sql" &&
    [[ $(grep -c '^GRANT ALL PRIVILEGES ON `saga_[a-z]*`\.\* TO '"'saga_[a-z]*'@'%';" "$WORK/sql") == 4 ]] &&
    [[ $(grep -c "^GRANT SELECT ON \`saga_[a-z]*\`\.\* TO 'saga_audit'@'%';" "$WORK/sql") == 4 ]] &&
    console_grants_ok &&
    [[ $(grep -c "TO 'saga_console_" "$WORK/sql") == 4 ]] &&
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
    bin/saga-audit bin/saga-console tools/console/web/index.html \
    deploy/mysql/common/001_outbox_inbox.sql schemas/envelope.json; do
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

# ---- 5. who may do what
# check_privileges RAW_COMPOSE RESOLVED_CONFIG: prints what is wrong, exits 1 if any.
check_privileges() {
    /usr/bin/python3 - "$1" "$2" <<'PY'
import re, sys, yaml

raw = yaml.safe_load(open(sys.argv[1]))
resolved = yaml.safe_load(open(sys.argv[2]))
problems = []

def env_of(svc):
    env = svc.get("environment") or {}
    if isinstance(env, list):
        env = dict(e.split("=", 1) if "=" in e else (e, "") for e in env)
    return {k: "" if v is None else str(v) for k, v in env.items()}

APPS = ("order", "payment", "inventory", "notification")
for name, svc in resolved["services"].items():
    env = env_of(svc)
    for k, v in env.items():
        if k.endswith("MYSQL_USER") and v == "root":
            problems.append(f"{name}: {k} is root")
    if name != "mysql" and "MYSQL_ROOT_PASSWORD" in env:
        problems.append(f"{name}: is given MYSQL_ROOT_PASSWORD")
    if name in APPS:
        if env.get("SAGA_MYSQL_USER") != f"saga_{name}":
            problems.append(f"{name}: SAGA_MYSQL_USER is {env.get('SAGA_MYSQL_USER')!r}, "
                            f"not saga_{name}")
        if not env.get("SAGA_JWT_ALG") or not (env.get("SAGA_JWT_SECRET")
                                               or env.get("SAGA_JWT_KEY_FILE")):
            problems.append(f"{name}: no JWT settings (SAGA_JWT_ALG and a key)")
        port = env.get("SAGA_METRICS_PORT")
        # "127.0.0.1:9081:9081/tcp" or {published, target[, host_ip]}
        published = []
        for p in svc.get("ports", []):
            if isinstance(p, dict):
                p = f"{p.get('host_ip', '')}:{p.get('published')}:{p.get('target')}"
            parts = str(p).split("/")[0].split(":")
            if parts[-1] == str(port):
                published.append(parts)
        if not port or not published:
            problems.append(f"{name}: SAGA_METRICS_PORT {port!r} is not published")
        for parts in published:
            if len(parts) != 3 or parts[0] != "127.0.0.1":
                problems.append(f"{name}: metrics port {port} published beyond the loopback")
if env_of(resolved["services"].get("audit", {})).get("SAGA_AUDIT_MYSQL_USER") != "saga_audit":
    problems.append("audit: SAGA_AUDIT_MYSQL_USER is not saga_audit")

# Settings that hold secrets must come from the environment (.env), never a literal.
SECRET = re.compile(r"PASSWORD|SECRET|TOKEN|PRIVATE|CREDENTIAL|_PWD$|JAAS")
REFERENCE = re.compile(r"^\$\{[A-Z0-9_]+(:?\?[^}]*)?\}$")
for name, svc in (raw.get("services") or {}).items():
    for k, v in env_of(svc).items():
        if SECRET.search(k) and not REFERENCE.match(v):
            problems.append(f"{name}: {k} is not a ${{VAR:?...}} reference: {v[:20]!r}...")
for k, v in (raw.get("x-service-env") or {}).items():
    if SECRET.search(k) and not REFERENCE.match(str(v)):
        problems.append(f"x-service-env: {k} is not a ${{VAR:?...}} reference")
print("\n".join(problems))
sys.exit(1 if problems else 0)
PY
}
if check_privileges docker-compose.yml "$WORK/config.yml" >"$WORK/out" 2>&1; then
    ok "no service uses MySQL root; JWT and loopback metrics ports set; no secret literal"
else
    fail "no service uses MySQL root; JWT and loopback metrics ports set; no secret literal"
fi
# The checker itself: a doctored copy with a root user and a literal secret must fail.
sed -e 's/SAGA_MYSQL_USER: saga_payment/SAGA_MYSQL_USER: root/' \
    -e 's/SAGA_JWT_SECRET: \${SAGA_JWT_SECRET:?[^}]*}/SAGA_JWT_SECRET: hunter2hunter2hunter2hunter2hunter2/' \
    docker-compose.yml >"$WORK/doctored.yml"
if docker-compose -f "$WORK/doctored.yml" --project-directory "$ROOT" --env-file .env.example \
    --profile tools config >"$WORK/doctored-config.yml" 2>"$WORK/out" &&
    ! check_privileges "$WORK/doctored.yml" "$WORK/doctored-config.yml" >"$WORK/out" 2>&1 &&
    grep -q "payment: SAGA_MYSQL_USER is root" "$WORK/out" &&
    grep -q "SAGA_JWT_SECRET is not a" "$WORK/out"; then
    ok "the check catches a service as MySQL root and a literal secret"
else
    fail "the check catches a service as MySQL root and a literal secret"
fi
grep -v '^SAGA_JWT_SECRET=' .env.example >"$WORK/nojwt.env"
if docker-compose --env-file "$WORK/nojwt.env" config -q >"$WORK/out" 2>&1; then
    fail "docker-compose config must fail without SAGA_JWT_SECRET"
elif grep -q "SAGA_JWT_SECRET" "$WORK/out"; then
    ok "docker-compose refuses to run without SAGA_JWT_SECRET"
else
    fail "docker-compose without SAGA_JWT_SECRET: unexpected error"
fi

echo "compose: $passed passed, $failed failed"
((failed == 0))
