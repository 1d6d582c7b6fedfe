#!/usr/bin/env bash
# tests/compose/check.sh - what CI checks of docker-compose.yml itself, in seconds
# (tests/compose/image.sh then builds the image and runs the services from it):
#   1. the file validates (`docker-compose config -q`, Debian 12's docker-compose
#      1.29) with NO .env, as on a fresh clone, and with .env.example; it has no
#      obsolete `version:` key;
#   2. build once: exactly one service carries `build:`, and every other service of
#      the image starts after it; every long-running service has a health check and
#      waits for its dependencies by condition;
#   3. published ports: on 127.0.0.1 by default; SAGA_PUBLISH_ADDRESS moves only the
#      four API ports; Kafdrop, Kafka, MySQL and /metrics stay on the loopback;
#      every service waited for as healthy has a health check;
#   4. who may do what: no service connects to MySQL as root; each service has its
#      runtime user saga_<svc> and its migrate user saga_<svc>_migrate, the audit
#      saga_audit; every secret setting is a *_FILE under /run/saga/secrets, never a
#      value; each container mounts only its own secrets volume, read-only; only
#      `secrets` sees the masters and the .env overrides; the checker is shown to
#      catch a root user, a literal secret and a borrowed secrets volume in a
#      doctored copy;
#   5. deploy/docker/secrets.sh (on this host): refuses bad overrides naming the
#      variable and the rule, and a MySQL password changed after the first run;
#      the MySQL init script refuses a missing password file, naming it;
#   6. Kafdrop is a viewer: topics neither deleted nor created from its pages, only the
#      health endpoint of its actuator, and a health check.
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
# check NAME COMMAND...: ok when COMMAND succeeds (its output in $WORK/out).
check() {
    local name=$1
    shift
    if "$@" >"$WORK/out" 2>&1; then ok "$name"; else fail "$name"; fi
}

command -v docker-compose >/dev/null ||
    { echo "check.sh: docker-compose is missing (deploy/install-deps.sh)" >&2; exit 1; }

# compose ENVFILE [ARGS...]: docker-compose with only ENVFILE's settings (no .env,
# nothing from this shell), as on a fresh clone.
compose() {
    env -i PATH="$PATH" HOME="$WORK" docker-compose --project-directory "$ROOT" \
        --env-file "$1" "${@:2}"
}
: >"$WORK/empty.env"

# ---- 1. the file validates with no .env
check "docker-compose config -q with no .env" compose "$WORK/empty.env" config -q
check "docker-compose config -q with .env.example" compose .env.example config -q
check "no obsolete version: key" bash -c '! grep -n "^version:" docker-compose.yml'
compose "$WORK/empty.env" --profile tools config >"$WORK/config.yml" 2>"$WORK/out" ||
    fail "docker-compose --profile tools config"
echo 'SAGA_PUBLISH_ADDRESS=0.0.0.0' >"$WORK/public.env"
compose "$WORK/public.env" --profile tools config >"$WORK/public.yml" 2>"$WORK/out" ||
    fail "docker-compose config with SAGA_PUBLISH_ADDRESS=0.0.0.0"

# ---- 2..4: the resolved file, checked by rule
# rules RAW RESOLVED RESOLVED_PUBLIC: prints what is wrong, exits 1 if anything is.
rules() {
    /usr/bin/python3 - "$@" <<'PY'
import re, sys, yaml

raw = yaml.safe_load(open(sys.argv[1]))
resolved = yaml.safe_load(open(sys.argv[2]))["services"]
public = yaml.safe_load(open(sys.argv[3]))["services"]
problems = []
APPS = ("order", "payment", "inventory", "notification")
IMAGE = "saga-platform:latest"
SECRET = re.compile(r"PASSWORD|SECRET(?!S_DIR$)|TOKEN|PRIVATE|CREDENTIAL|_PWD$|JAAS")

def env_of(svc):
    env = svc.get("environment") or {}
    if isinstance(env, list):
        env = dict(e.split("=", 1) if "=" in e else (e, "") for e in env)
    return {k: "" if v is None else str(v) for k, v in env.items()}

def ports_of(svc):
    out = []
    for p in svc.get("ports", []):
        if isinstance(p, dict):
            out.append((p.get("host_ip", ""), str(p.get("published")), str(p.get("target"))))
        else:
            parts = str(p).split("/")[0].split(":")
            out.append(tuple(parts) if len(parts) == 3 else ("", *parts[-2:]))
    return out

def mounts_of(svc):
    out = []
    for v in svc.get("volumes") or []:
        if isinstance(v, dict):
            out.append((v.get("source", ""), v["target"], bool(v.get("read_only"))))
        else:
            parts = v.split(":")
            out.append((parts[0], parts[1], len(parts) > 2 and "ro" in parts[2].split(",")))
    return out

# 2. build once; start order; health checks
builders = [n for n, s in resolved.items() if s.get("build")]
if builders != ["secrets"]:
    problems.append(f"build: exactly one service (secrets) must carry build:, not {builders}")
for name, svc in resolved.items():
    deps = svc.get("depends_on") or {}
    if isinstance(deps, list):
        problems.append(f"{name}: depends_on without conditions")
        continue
    for dep, cond in deps.items():
        if not (cond or {}).get("condition"):
            problems.append(f"{name}: depends_on {dep} without a condition")
    if svc.get("image") == IMAGE and name != "secrets" and name != "audit":
        if (deps.get("secrets") or {}).get("condition") != "service_completed_successfully":
            problems.append(f"{name}: runs the image but does not wait for secrets to finish")
    for dep, cond in deps.items():
        if (cond or {}).get("condition") == "service_healthy" and \
                not (resolved.get(dep) or {}).get("healthcheck"):
            problems.append(f"{name} waits for {dep} to be healthy, which has no health check")
    if name in APPS and not svc.get("healthcheck"):
        problems.append(f"{name}: no health check")
for name in APPS:
    for dep in ("mysql", "redis", "kafka"):
        if ((resolved[name].get("depends_on") or {}).get(dep) or {}).get("condition") \
                != "service_healthy":
            problems.append(f"{name}: does not wait for {dep} to be healthy")
for name in ("mysql", "redis"):
    if ((resolved[name].get("depends_on") or {}).get("secrets") or {}).get("condition") \
            != "service_completed_successfully":
        problems.append(f"{name}: does not wait for its secrets")

# 3. published ports
for name, svc in resolved.items():
    for ip, published, target in ports_of(svc):
        if ip != "127.0.0.1":
            problems.append(f"{name}: port {published} published on {ip or 'every interface'}")
api = {f"808{i + 1}" for i in range(4)}
for name, svc in public.items():
    for ip, published, target in ports_of(svc):
        want = "0.0.0.0" if published in api else "127.0.0.1"
        if ip != want:
            problems.append(f"SAGA_PUBLISH_ADDRESS=0.0.0.0: {name}:{published} on {ip}, "
                            f"not {want}")
if ("127.0.0.1", "3306", "3306") not in ports_of(resolved["mysql"]):
    problems.append("mysql: not published on 127.0.0.1:3306")

# 4. who may do what
for name, svc in resolved.items():
    env = env_of(svc)
    for k, v in env.items():
        if k.endswith("MYSQL_USER") and v == "root":
            problems.append(f"{name}: {k} is root")
    if name != "secrets":
        for k, v in env.items():
            if SECRET.search(k) and not k.endswith("_FILE"):
                problems.append(f"{name}: {k} is given as a value, not as {k}_FILE")
            if k.endswith("_FILE") and SECRET.search(k) and not v.startswith("/run/saga/secrets/"):
                problems.append(f"{name}: {k} is {v!r}, not a file in /run/saga/secrets")
    secret_mounts = [(s, t, ro) for s, t, ro in mounts_of(svc) if s.startswith("secrets")]
    if name == "secrets":
        continue
    for source, target, ro in secret_mounts:
        own = {"audit": "secrets-audit", "token": "secrets-token"}.get(name, f"secrets-{name}")
        if source != own:
            problems.append(f"{name}: mounts {source}, not only its own {own}")
        if not ro:
            problems.append(f"{name}: mounts {source} writable")
for name in APPS:
    env = env_of(resolved[name])
    if env.get("SAGA_MYSQL_USER") != f"saga_{name}":
        problems.append(f"{name}: SAGA_MYSQL_USER is {env.get('SAGA_MYSQL_USER')!r}")
    if env.get("SAGA_MYSQL_MIGRATE_USER") != f"saga_{name}_migrate":
        problems.append(f"{name}: SAGA_MYSQL_MIGRATE_USER is "
                        f"{env.get('SAGA_MYSQL_MIGRATE_USER')!r}")
    for k in ("SAGA_MYSQL_PASSWORD_FILE", "SAGA_MYSQL_MIGRATE_PASSWORD_FILE",
              "SAGA_REDIS_PASSWORD_FILE", "SAGA_JWT_SECRET_FILE"):
        if k not in env:
            problems.append(f"{name}: no {k}")
if env_of(resolved["audit"]).get("SAGA_AUDIT_MYSQL_USER") != "saga_audit":
    problems.append("audit: SAGA_AUDIT_MYSQL_USER is not saga_audit")
if env_of(resolved["mysql"]).get("MYSQL_ROOT_PASSWORD_FILE") != "/run/saga/secrets/root":
    problems.append("mysql: MYSQL_ROOT_PASSWORD_FILE is not /run/saga/secrets/root")
if "/run/saga/secrets/redis.conf" not in (resolved["redis"].get("command") or []):
    problems.append("redis: not started with the redis.conf that holds requirepass")
# nothing secret written literally anywhere in the file (raw, before interpolation)
for name, svc in (raw.get("services") or {}).items():
    for k, v in env_of(svc).items():
        if SECRET.search(k) and not k.endswith("_FILE") and not re.fullmatch(
                r"\$\{" + re.escape(k) + r":-\}", v):
            problems.append(f"{name}: {k} is written in the file: {v[:20]!r}...")
# 6. Kafdrop is a viewer (its form POSTs carry no CSRF token)
kafdrop = resolved.get("kafdrop") or {}
kafdrop_args = (env_of(kafdrop).get("CMD_ARGS") or "").split()
for flag in ("--topic.deleteEnabled=false", "--topic.createEnabled=false"):
    if flag not in kafdrop_args:
        problems.append(f"kafdrop: CMD_ARGS lacks {flag}")
if env_of(kafdrop).get("MANAGEMENT_ENDPOINTS_WEB_EXPOSURE_INCLUDE") != "health":
    problems.append("kafdrop: actuator endpoints beyond health exposed")
if not kafdrop.get("healthcheck"):
    problems.append("kafdrop: no health check")
print("\n".join(problems))
sys.exit(1 if problems else 0)
PY
}
check "rules: build once, start order, loopback ports, least privilege, secret files, Kafdrop" \
    rules docker-compose.yml "$WORK/config.yml" "$WORK/public.yml"

# The checker itself: a doctored copy must fail each rule it breaks.
doctored="the rules catch a MySQL root user, a literal secret, a borrowed volume, an open port"
doctored+=", Kafdrop deleting topics"
sed -e 's/SAGA_MYSQL_USER: saga_payment$/SAGA_MYSQL_USER: root/' \
    -e 's|SAGA_JWT_SECRET_FILE: /run/saga/secrets/jwt-secret|SAGA_JWT_SECRET: hunter2hunter2hunter2hunter2hunter2|' \
    -e 's|- secrets-inventory:/run/saga/secrets:ro|- secrets-order:/run/saga/secrets:ro|' \
    -e 's|"127.0.0.1:9000:9000"|"9000:9000"|' \
    -e 's|--topic.deleteEnabled=false ||' \
    docker-compose.yml >"$WORK/doctored.yml"
if env -i PATH="$PATH" HOME="$WORK" docker-compose -f "$WORK/doctored.yml" \
    --project-directory "$ROOT" --env-file "$WORK/empty.env" --profile tools \
    config >"$WORK/doctored-config.yml" 2>"$WORK/out" &&
    ! rules "$WORK/doctored.yml" "$WORK/doctored-config.yml" "$WORK/public.yml" \
        >"$WORK/out" 2>&1 &&
    grep -q "payment: SAGA_MYSQL_USER is root" "$WORK/out" &&
    grep -q "order: SAGA_JWT_SECRET is given as a value" "$WORK/out" &&
    grep -q "SAGA_JWT_SECRET is written in the file" "$WORK/out" &&
    grep -q "inventory: mounts secrets-order" "$WORK/out" &&
    grep -q "kafdrop: port 9000 published on every interface" "$WORK/out" &&
    grep -q "kafdrop: CMD_ARGS lacks --topic.deleteEnabled=false" "$WORK/out"; then
    ok "$doctored"
else
    fail "$doctored"
fi

# ---- 5. the secrets one-shot and the MySQL init script, on this host
secrets() { env -i PATH="$PATH" SAGA_SECRETS_DIR="$WORK/s" "$@" deploy/docker/secrets.sh; }
# refused NAME VAR=VALUE MESSAGE: secrets.sh with VAR=VALUE fails saying MESSAGE.
refused() {
    local name=$1 assignment=$2 message=$3
    if secrets "$assignment" >"$WORK/out" 2>&1; then
        fail "$name"
    elif grep -qF -- "$message" "$WORK/out"; then
        ok "$name"
    else
        fail "$name"
    fi
}
refused "secrets: a short SAGA_JWT_SECRET is refused naming it" SAGA_JWT_SECRET=short \
    "SAGA_JWT_SECRET must be 32 to 4096 bytes"
refused "secrets: a password with a quote is refused naming it" \
    "SAGA_PAYMENT_DB_PASSWORD=it's-a-long-one" "SAGA_PAYMENT_DB_PASSWORD must be 12 to 127"
refused "secrets: a short password is refused naming it" SAGA_REDIS_PASSWORD=short \
    "SAGA_REDIS_PASSWORD must be 12 to 127"
rm -rf "$WORK/s"
check "secrets: an override is used" secrets SAGA_REDIS_PASSWORD=chosen-by-the-user
check "secrets: the override reaches redis.conf and the services" \
    grep -qx 'requirepass chosen-by-the-user' "$WORK/s/redis/redis.conf"
refused "secrets: a MySQL password changed after the first run is refused" \
    SAGA_ORDER_DB_PASSWORD=another-password-now \
    "SAGA_ORDER_DB_PASSWORD differs from the password MySQL was set up with"
mkdir -p "$WORK/stub"
printf '#!/bin/sh\ncat >/dev/null\n' >"$WORK/stub/mysql"
chmod +x "$WORK/stub/mysql"
rm -f "$WORK/s/mysql/saga_notification_migrate"
if env -i PATH="$WORK/stub:$PATH" SAGA_MYSQL_SECRETS_DIR="$WORK/s/mysql" \
    bash deploy/docker/mysql-init/01-saga-databases.sh >"$WORK/out" 2>&1; then
    fail "mysql-init refuses a missing password file, naming it"
elif grep -q "saga_notification_migrate is missing" "$WORK/out"; then
    ok "mysql-init refuses a missing password file, naming it"
else
    fail "mysql-init refuses a missing password file, naming it"
fi

# saga-console: its own secrets (a password per read-only user, the token secret) and
# SELECT on each service's database for saga_console_<service>, nothing more
rm -rf "$WORK/s"
check "secrets: saga-console's passwords and token secret in its own volume" bash -c \
    'env -i PATH="$PATH" SAGA_SECRETS_DIR="$1" deploy/docker/secrets.sh >/dev/null &&
     for svc in order payment inventory notification; do
         cmp -s "$1/console/mysql-password-$svc" "$1/mysql/saga_console_$svc" || exit 1
     done && cmp -s "$1/console/jwt-secret" "$1/token/jwt-secret"' _ "$WORK/s"
printf '#!/bin/sh\ncat >"%s/init.sql"\n' "$WORK" >"$WORK/stub/mysql"
check "mysql-init: saga_console_<service> may only SELECT on its own database" bash -c \
    'env -i PATH="$2:$PATH" SAGA_MYSQL_SECRETS_DIR="$1/mysql" \
         bash deploy/docker/mysql-init/01-saga-databases.sh >/dev/null &&
     for svc in order payment inventory notification; do
         grep -qxF "GRANT SELECT ON \`saga_$svc\`.* TO '"'"'saga_console_$svc'"'"'@'"'"'%'"'"';" \
             "$3/init.sql" || exit 1
     done && [[ $(grep -c "TO '"'"'saga_console_" "$3/init.sql") == 4 ]]' \
    _ "$WORK/s" "$WORK/stub" "$WORK"

echo "compose: $passed passed, $failed failed"
((failed == 0))
