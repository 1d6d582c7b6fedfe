#!/usr/bin/env bash
# tests/compose/image.sh - builds the docker-compose deployment's image for real and
# runs the deployment's services from it, as far as a machine without a container
# engine or registry allows (CI runs it; Debian's buildah, chroot isolation, no
# daemon):
#
#   1. base images: the Dockerfile's FROM images (debian:bookworm,
#      debian:bookworm-slim, read from its FROM lines) made from Debian's archive
#      with debootstrap (minbase), since no registry can be reached; kept in the
#      cache below;
#   2. the image: `buildah bud` of deploy/docker/Dockerfile with the checkout as its
#      real build context (.dockerignore applies), tagged saga-platform:latest as
#      docker-compose.yml names it;
#   3. the deployment from `docker-compose config` (no .env): each container below
#      runs from that image with the environment, user, command and volumes the
#      compose file gives it (a named volume is a host directory here), against the
#      test harness's MariaDB, Redis and broker (tests/harness/servers.sh) instead of
#      the MySQL 8, Redis and Apache Kafka images:
#      - `secrets` makes every secret (and a second run keeps them); a bad override
#        is refused naming the variable;
#      - the mysql container's init script (deploy/docker/mysql-init/) creates the
#        databases and users on MariaDB from the generated passwords;
#      - order, payment, inventory and notification start, pass their compose health
#        check (curl to /ready inside the container) and serve;
#      - the README's docker-compose block runs line by line (`docker-compose run`
#        as a container from the image; `up`, `ps`, `down` stood in for by these
#        steps): its order ends CONFIRMED and its audit is clean;
#      - `token` mints the tokens; orders placed through the containerized
#        order-service end CONFIRMED, CANCELLED(OUT_OF_STOCK),
#        CANCELLED(PAYMENT_DECLINED) and CANCELLED(CUSTOMER_REQUEST), with their
#        notifications, the refund and the stock settled, and a sold-out sku is
#        refused at once; every service stops with status 0 on SIGTERM;
#      - `audit` (saga-audit, read-only user) finds the system clean.
#
#   tests/compose/image.sh [--keep]     --keep: leave the work directory for a look
#
# Environment: SAGA_IMAGE_CACHE (default ~/.cache/saga-image): buildah's storage, with
# the base images and the build's cached layers, so a second run skips debootstrap
# and unchanged build steps (CI starts empty; delete it to make the base images
# again). SAGA_DEBIAN_MIRROR (default
# http://deb.debian.org/debian). SAGA_TEST_MYSQL_PORT, SAGA_TEST_REDIS_PORT,
# SAGA_TEST_BROKER_CONTROL_PORT: the harness's ports. Needs root (buildah's storage,
# chroot), buildah, debootstrap, docker-compose and the build's -dev packages (for
# the harness's broker). Exit status 0 when every step passed.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"
CACHE=${SAGA_IMAGE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/saga-image}
MIRROR=${SAGA_DEBIAN_MIRROR:-http://deb.debian.org/debian}
IMAGE=saga-platform:latest
# the Dockerfile's FROM images, as a registry would name them (debian:bookworm is
# docker.io/library/debian:bookworm): every one is the debootstrapped bookworm
mapfile -t BASES < <(awk 'toupper($1) == "FROM" {print $2}' deploy/docker/Dockerfile |
    sed -E 's|^([^/]+)$|docker.io/library/\1|' | sort -u)
APPS=(order payment inventory notification)
export BUILDAH_ISOLATION=chroot
BUILDAH=(buildah --root "$CACHE/storage" --runroot "$CACHE/run" --storage-driver overlay)
KEEP=0
[[ ${1:-} == --keep ]] && KEEP=1

T0=$SECONDS
WORK=$(mktemp -d /tmp/saga-image.XXXXXX)
STATE=$WORK/servers.env
CONTAINERS=()
PIDS=()

step() { printf '==> image.sh [%3d s] %s\n' "$((SECONDS - T0))" "$*"; }
die() {
    printf 'image.sh: FAILED: %s\n' "$*" >&2
    exit 1
}

# leaf_of PID: the deepest process under PID (for `buildah run`, through
# buildah-chroot-runtime and buildah-chroot-exec, the command it runs).
leaf_of() {
    local pid=$1 child
    while child=$(pgrep -P "$pid" | head -n 1) && [[ -n $child ]]; do
        pid=$child
    done
    echo "$pid"
}

# stop PID: SIGTERM to what `buildah run` PID runs (buildah does not pass signals
# on; `docker stop` would signal the container's init), SIGKILL after 30 s; the
# exit status of buildah run, which is the command's.
stop() {
    local pid=$1 leaf t rc=0
    leaf=$(leaf_of "$pid")
    [[ $leaf != "$pid" ]] && kill -TERM "$leaf" 2>/dev/null
    for ((t = 0; t < 300; t++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
        kill -KILL "$(leaf_of "$pid")" 2>/dev/null
    fi
    wait "$pid" || rc=$?
    return "$rc"
}

cleanup() {
    local rc=$? pid ctr
    for pid in "${PIDS[@]}"; do
        stop "$pid" || true
    done
    for ctr in "${CONTAINERS[@]}"; do
        "${BUILDAH[@]}" rm "$ctr" >/dev/null 2>&1 || true
    done
    [[ -z ${SMTP_PID:-} ]] || kill "$SMTP_PID" 2>/dev/null || true
    [[ -f $STATE ]] && tests/harness/servers.sh stop "$STATE" >/dev/null 2>&1
    if ((rc != 0)); then
        for f in "$WORK"/logs/*.log; do
            [[ -f $f ]] || continue
            echo "---- $(basename "$f") (last 30 lines)" >&2
            tail -n 30 "$f" >&2
        done
    fi
    if ((KEEP)); then
        echo "image.sh: work directory kept: $WORK"
    else
        rm -rf "$WORK"
    fi
    exit "$rc"
}
trap cleanup EXIT
mkdir -p "$WORK/logs" "$CACHE"

for tool in buildah debootstrap docker-compose curl; do
    command -v "$tool" >/dev/null || die "$tool is missing (deploy/install-deps.sh installs it)"
done
((EUID == 0)) || die "needs root (buildah's storage and chroot isolation)"

# ---- 1. the base images, from Debian's archive
image_exists() { "${BUILDAH[@]}" inspect --type image "$1" >/dev/null 2>&1; }
for base in "${BASES[@]}"; do
    [[ $base == docker.io/library/debian:bookworm* ]] ||
        die "FROM $base: only Debian bookworm images can be made here (debootstrap)"
done
missing=0
for base in "${BASES[@]}"; do
    image_exists "$base" || missing=1
done
if ((!missing)); then
    step "base images ${BASES[*]}: cached in $CACHE"
else
    step "debootstrap --variant=minbase bookworm ($MIRROR)"
    rootfs=$WORK/rootfs
    debootstrap --variant=minbase bookworm "$rootfs" "$MIRROR" >"$WORK/logs/debootstrap.log" 2>&1 ||
        die "debootstrap failed (log above)"
    # the sources a debian:bookworm image carries; nothing of this machine's
    rm -f "$rootfs/etc/apt/sources.list"
    cat >"$rootfs/etc/apt/sources.list.d/debian.sources" <<EOF
Types: deb
URIs: $MIRROR
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://deb.debian.org/debian-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
    rm -rf "${rootfs:?}"/var/cache/apt/archives/*.deb "${rootfs:?}"/var/lib/apt/lists/* \
        "${rootfs:?}"/dev/* "${rootfs:?}"/proc/* "${rootfs:?}"/sys/*
    ctr=$("${BUILDAH[@]}" from scratch)
    CONTAINERS+=("$ctr")
    mnt=$("${BUILDAH[@]}" mount "$ctr")
    cp -a "$rootfs"/. "$mnt"/
    "${BUILDAH[@]}" umount "$ctr" >/dev/null
    "${BUILDAH[@]}" config --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
        --cmd /bin/bash "$ctr"
    "${BUILDAH[@]}" commit --quiet "$ctr" "${BASES[0]}" >/dev/null
    if ((${#BASES[@]} > 1)); then
        "${BUILDAH[@]}" tag "${BASES[0]}" "${BASES[@]:1}"
    fi
    rm -rf "$rootfs"
    step "base images ${BASES[*]} made"
fi

# ---- 2. the image, from the checkout as its build context
step "buildah bud -f deploy/docker/Dockerfile -t $IMAGE . (log: build.log)"
# A host whose TLS is re-signed by a proxy names its extra CAs in NODE_EXTRA_CA_CERTS
# (npm needs them too): the image's npm step gets that bundle, mounted read-only.
BUILD_CA=()
if [[ -n ${NODE_EXTRA_CA_CERTS:-} && -f $NODE_EXTRA_CA_CERTS ]]; then
    BUILD_CA=(-v "$NODE_EXTRA_CA_CERTS:/run/saga-build-ca.crt:ro"
        --build-arg SAGA_BUILD_CA=/run/saga-build-ca.crt)
fi
if ! "${BUILDAH[@]}" bud --isolation chroot --layers --force-rm --jobs 2 --pull=never \
    --build-arg "SAGA_GIT_COMMIT=$(git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)" \
    "${BUILD_CA[@]}" \
    -f deploy/docker/Dockerfile -t "$IMAGE" . >"$WORK/logs/build.log" 2>&1; then
    die "the image does not build from its build context (build.log above)"
fi
step "image $IMAGE built"

# ---- 3. the deployment, from the compose file, against the harness's servers
CONFIG=$WORK/compose.yml
VOLUMES=$WORK/volumes
: >"$WORK/empty.env"
env -i PATH="$PATH" HOME="$WORK" docker-compose --env-file "$WORK/empty.env" --profile tools \
    config >"$CONFIG" 2>"$WORK/logs/compose-config.log" ||
    die "docker-compose config without a .env failed"
step "docker-compose config (no .env): $(grep -c '^  [a-z-]*:$' "$CONFIG") services"

step "building the harness's broker (saga-broker)"
cmake -S . -B "$WORK/broker-build" -DCMAKE_BUILD_TYPE=Release -DSAGA_BUILD_TESTS=OFF \
    >"$WORK/logs/broker-build.log" 2>&1 &&
    cmake --build "$WORK/broker-build" --target saga-broker -j2 >>"$WORK/logs/broker-build.log" 2>&1 ||
    die "saga-broker does not build (broker-build.log above)"
tests/harness/servers.sh start "$STATE" "$WORK/broker-build/deploy/local/saga-broker" \
    >"$WORK/logs/servers.log" 2>&1 || die "the harness's servers did not start"
h() { sed -n "s/^$1=//p" "$STATE"; }
MYSQL_PORT=$(h SAGA_MYSQL_PORT)
MYSQL_SOCK=$(h SAGA_MYSQL_SOCKET)
REDIS_PORT=$(h SAGA_REDIS_PORT)
BOOTSTRAP=$(h SAGA_KAFKA_BOOTSTRAP)
MYSQL_ADMIN=$(h SAGA_MYSQL_ADMIN_USER) # the server's administrator, over the socket
MYSQL_ADMIN=${MYSQL_ADMIN:-root}
HARNESS_REDIS_PASSWORD=$(h SAGA_REDIS_PASSWORD) # none on a harness without one
step "harness: MariaDB :$MYSQL_PORT, Redis :$REDIS_PORT, broker $BOOTSTRAP"

# plan SERVICE [plan.py options]: the buildah run arguments of SERVICE into PLAN.
plan() {
    mapfile -d '' PLAN < <(/usr/bin/python3 tests/compose/plan.py "$CONFIG" "$1" "$VOLUMES" \
        "${@:2}") && ((${#PLAN[@]})) || die "plan.py $1 failed"
}
# container NAME: a new working container from the image, its name in CTR.
container() {
    CTR=$("${BUILDAH[@]}" from --pull=never --name "saga-image-$1-$$" "$IMAGE")
    CONTAINERS+=("$CTR")
}
# run_plan: buildah run in CTR with PLAN (options, --, command).
run_plan() {
    local i
    for i in "${!PLAN[@]}"; do
        [[ ${PLAN[i]} == -- ]] && break
    done
    "${BUILDAH[@]}" run --isolation chroot --network host "${PLAN[@]:0:i}" "$CTR" "${PLAN[@]:i}"
}

# -- secrets: made, kept by a second run, a bad override refused by name
container secrets
plan secrets
run_plan >"$WORK/logs/secrets.log" 2>&1 || die "the secrets service failed (secrets.log)"
for f in mysql/root mysql/saga_order mysql/saga_order_migrate mysql/saga_audit redis/redis.conf \
    order/mysql-password order/mysql-migrate-password order/redis-password order/jwt-secret \
    audit/mysql-password token/jwt-secret; do
    [[ -s $VOLUMES/secrets-$(dirname "$f")/$(basename "$f") ]] || die "secrets: $f was not made"
done
[[ $(<"$VOLUMES/secrets-token/jwt-secret") =~ ^[0-9a-f]{64}$ ]] ||
    die "secrets: the token secret is not 32 random bytes in hex"
[[ $(<"$VOLUMES/secrets-order/jwt-secret") == $(<"$VOLUMES/secrets-token/jwt-secret") &&
    $(<"$VOLUMES/secrets-order/mysql-password") == $(<"$VOLUMES/secrets-mysql/saga_order") &&
    $(<"$VOLUMES/secrets-order/mysql-password") != $(<"$VOLUMES/secrets-payment/mysql-password") ]] ||
    die "secrets: the copies do not match their masters, or two users share a password"
sums=$(cd "$VOLUMES" && find . -type f | sort | xargs sha256sum)
run_plan >>"$WORK/logs/secrets.log" 2>&1 || die "the secrets service failed on its second run"
[[ $(cd "$VOLUMES" && find . -type f | sort | xargs sha256sum) == "$sums" ]] ||
    die "secrets: a second run changed the secrets"
VOLUMES=$WORK/volumes-bad plan secrets --set SAGA_JWT_SECRET=too-short
if run_plan >"$WORK/logs/secrets-bad.log" 2>&1; then
    die "secrets: a 9-byte SAGA_JWT_SECRET was accepted"
fi
grep -q 'SAGA_JWT_SECRET must be 32 to 4096 bytes' "$WORK/logs/secrets-bad.log" ||
    die "secrets: the refusal does not name SAGA_JWT_SECRET and its rule (secrets-bad.log)"
step "secrets: made, kept by a second run; a short SAGA_JWT_SECRET refused by name"

# -- the mysql container's init scripts, against MariaDB, with the mysql service's
# environment (MYSQL_ROOT_PASSWORD as the image's entrypoint reads it from its _FILE)
# and its secrets volume; their `mysql` client reaches the harness's socket as its
# administrator (unix-socket authentication: MYSQL_PWD is dropped)
mapfile -d '' mysql_env < <(/usr/bin/python3 tests/compose/plan.py "$CONFIG" mysql "$VOLUMES" \
    --env-only --set "SAGA_MYSQL_SECRETS_DIR=$VOLUMES/secrets-mysql" \
    --set "MYSQL_ROOT_PASSWORD=$(<"$VOLUMES/secrets-mysql/root")" --unset MYSQL_ROOT_PASSWORD_FILE)
mkdir -p "$WORK/bin"
printf '#!/bin/sh\nunset MYSQL_PWD\nexec mariadb --no-defaults --socket=%q -u%q "$@"\n' \
    "$MYSQL_SOCK" "$MYSQL_ADMIN" >"$WORK/bin/mysql"
chmod +x "$WORK/bin/mysql"
for init in deploy/docker/mysql-init/*.sh; do
    env -i PATH="$WORK/bin:$PATH" "${mysql_env[@]}" bash "$init" >>"$WORK/logs/mysql-init.log" 2>&1 ||
        die "$init failed against MariaDB (mysql-init.log)"
done
grants() {
    mariadb --no-defaults --socket="$MYSQL_SOCK" -u"$MYSQL_ADMIN" -N -B \
        -e "SHOW GRANTS FOR '$1'@'%'"
}
[[ $(grants saga_order | grep -v '^GRANT USAGE') == "GRANT SELECT, INSERT, UPDATE, DELETE ON \`saga_order\`.* TO \`saga_order\`@\`%\`" ]] ||
    die "saga_order's grants are not SELECT, INSERT, UPDATE, DELETE on saga_order: $(grants saga_order)"
[[ $(grants saga_order_migrate | grep -v '^GRANT USAGE') == "GRANT ALL PRIVILEGES ON \`saga_order\`.* TO \`saga_order_migrate\`@\`%\`" ]] ||
    die "saga_order_migrate's grants: $(grants saga_order_migrate)"
[[ $(grants saga_audit | grep -v '^GRANT USAGE' | grep -vc '^GRANT SELECT ON `saga_[a-z]*`\.\*') == 0 &&
    $(grants saga_audit | grep -c '^GRANT SELECT ON') == 4 ]] ||
    die "saga_audit is not SELECT-only on the four databases: $(grants saga_audit)"
step "mysql-init: databases, migrate and runtime users, saga_audit read-only"

# -- the services. A service built before SAGA_MYSQL_MIGRATE_USER and
# SAGA_REDIS_PASSWORD existed migrates as its migrate user and uses Redis without a
# password; one that knows them runs exactly as the compose file says.
container probe
knows() { "${BUILDAH[@]}" run --isolation chroot "$CTR" -- grep -q "$1" /opt/saga/bin/order-service; }
if knows SAGA_MYSQL_MIGRATE_USER; then
    migrate_compat=0
else
    migrate_compat=1
    step "note: the services do not know SAGA_MYSQL_MIGRATE_USER: running as the migrate users"
fi
if knows SAGA_REDIS_PASSWORD; then
    # the generated password, as redis.conf gives it to the redis container
    env ${HARNESS_REDIS_PASSWORD:+REDISCLI_AUTH="$HARNESS_REDIS_PASSWORD"} redis-cli \
        -p "$REDIS_PORT" CONFIG SET requirepass "$(<"$VOLUMES/secrets-redis/password")" |
        grep -qx OK || die "cannot set the harness Redis's password"
else
    step "note: the services do not know SAGA_REDIS_PASSWORD: the harness Redis has none"
fi
# nine distinct free ports, chosen as the e2e harness chooses them (outside the
# kernel's ephemeral range, so no outgoing connection takes one before its server)
mapfile -t free < <(/usr/bin/python3 -c '
import sys
sys.path.insert(0, sys.argv[1])
from stack import free_port
ports = []
while len(ports) < 9:
    port = free_port()
    if port not in ports:
        ports.append(port)
print("\n".join(map(str, ports)))' "$ROOT/tests/e2e")
declare -A PORT METRICS
i=0
for svc in "${APPS[@]}"; do
    PORT[$svc]=${free[i]}
    METRICS[$svc]=${free[i + 4]}
    i=$((i + 1))
done
# Mailpit stands in for a mail relay in compose; here a real SMTP server on the
# loopback (python3-aiosmtpd, printing every message it takes) stands in for it
SMTP_PORT=${free[8]}
/usr/bin/python3 -u -m aiosmtpd -n -l "127.0.0.1:$SMTP_PORT" >"$WORK/logs/smtp.log" 2>&1 &
SMTP_PID=$!
for svc in "${APPS[@]}"; do
    n=$((${#PIDS[@]} + 1))
    opts=(--port "808$n=${PORT[$svc]}" --port "908$n=${METRICS[$svc]}"
        --set SAGA_HTTP_BIND=127.0.0.1 --set SAGA_METRICS_BIND=127.0.0.1
        --set SAGA_MYSQL_HOST=127.0.0.1 --set "SAGA_MYSQL_PORT=$MYSQL_PORT"
        --set SAGA_REDIS_HOST=127.0.0.1 --set "SAGA_REDIS_PORT=$REDIS_PORT"
        --set "SAGA_KAFKA_BOOTSTRAP=$BOOTSTRAP"
        --set "SAGA_SMTP_URL=smtp://127.0.0.1:$SMTP_PORT"
        # the harness's broker is the mock: it answers an empty fetch only at the end
        # of the wait (README, the local broker)
        --set SAGA_KAFKA_FETCH_WAIT_MS=5)
    if ((migrate_compat)); then
        opts+=(--set "SAGA_MYSQL_USER=saga_${svc}_migrate"
            --set SAGA_MYSQL_PASSWORD_FILE=/run/saga/secrets/mysql-migrate-password
            --unset SAGA_MYSQL_MIGRATE_USER --unset SAGA_MYSQL_MIGRATE_PASSWORD_FILE)
    fi
    container "$svc"
    plan "$svc" "${opts[@]}"
    run_plan >"$WORK/logs/$svc.log" 2>&1 &
    PIDS+=($!)
    eval "CTR_$svc=\$CTR"
done
for svc in "${APPS[@]}"; do
    ok=0
    for ((t = 0; t < 120; t++)); do
        if curl -fsS -o /dev/null "http://127.0.0.1:${PORT[$svc]}/ready" 2>/dev/null; then
            ok=1
            break
        fi
        sleep 0.5
    done
    ((ok)) || die "$svc-service from the image never answered /ready ($svc.log)"
done
step "order, payment, inventory and notification from the image: /ready"
n=0
for svc in "${APPS[@]}"; do
    n=$((n + 1))
    mapfile -d '' check < <(/usr/bin/python3 tests/compose/plan.py "$CONFIG" "$svc" "$VOLUMES" \
        --healthcheck --port "808$n=${PORT[$svc]}")
    eval "CTR=\$CTR_$svc"
    "${BUILDAH[@]}" run --isolation chroot --network host "$CTR" -- "${check[@]}" ||
        die "$svc: the compose health check (${check[*]}) fails inside the container"
done
step "the compose health checks pass inside the containers"

# -- the README's docker-compose block, line by line as a user types it:
# `docker-compose run --rm [-T] SERVICE ARGS` is SERVICE's container from the image,
# `up`, `ps` and `down` are what the steps before and after stand in for, and
# localhost:8081..8084 are the ports picked above
AUDIT_OPTS=(--set SAGA_AUDIT_MYSQL_HOST=127.0.0.1 --set "SAGA_AUDIT_MYSQL_PORT=$MYSQL_PORT"
    --set "SAGA_KAFKA_BOOTSTRAP=$BOOTSTRAP")
awk '/^## docker-compose$/ {s = 1} s && /^```sh$/ {b = 1; next} b && /^```$/ {exit} b' \
    README.md >"$WORK/readme.sh"
grep -q 'docker-compose up -d' "$WORK/readme.sh" ||
    die "no sh block with docker-compose up -d in the README's docker-compose section"
container readme
README_CTR=$CTR
(
    set -euo pipefail
    docker-compose() {
        local cmd=$1 svc t
        shift
        case $cmd in
            up | ps | down)
                echo "image.sh: docker-compose $cmd${*:+ $*}: stood in for (no container engine)"
                return 0
                ;;
            run) ;;
            *)
                echo "image.sh: docker-compose $cmd: not expected in the README block" >&2
                return 1
                ;;
        esac
        while [[ $1 == -* ]]; do # --rm, -T
            shift
        done
        svc=$1
        shift
        CTR=$README_CTR
        case $svc in
            token)
                plan token --args "$@"
                run_plan 2>>"$WORK/logs/token.log"
                ;;
            audit) # strict: retried while the order's notification goes out
                plan audit "${AUDIT_OPTS[@]}" --args "$@"
                for ((t = 0; t < 10; t++)); do
                    run_plan && return 0
                    sleep 2
                done
                return 1
                ;;
            *)
                echo "image.sh: docker-compose run $svc: not expected in the README block" >&2
                return 1
                ;;
        esac
    }
    curl() {
        local a n args=()
        for a in "$@"; do
            for n in 1 2 3 4; do
                a=${a//localhost:808$n/127.0.0.1:${PORT[${APPS[n - 1]}]}}
            done
            args+=("$a")
        done
        command curl "${args[@]}"
    }
    # shellcheck source=/dev/null
    source "$WORK/readme.sh"
) >"$WORK/logs/readme.log" 2>&1 || die "the README's docker-compose block failed (readme.log)"
grep -q '"status":"CONFIRMED"' "$WORK/logs/readme.log" ||
    die "the README's order did not end CONFIRMED (readme.log)"
step "the README's docker-compose block: its order CONFIRMED, its audit clean"

# -- tokens from the token service, orders through the containerized order-service
container token
token() {
    plan token --args "$@"
    run_plan 2>>"$WORK/logs/token.log"
}
C_CAROL=$(token carol) && C_DAVE=$(token dave) && ADMIN=$(token ops --admin) ||
    die "the token service failed (token.log)"
/usr/bin/python3 - "${PORT[order]}" "${PORT[payment]}" "${PORT[inventory]}" \
    "${PORT[notification]}" "$C_CAROL" "$C_DAVE" "$ADMIN" <<'PY' || die "the orders did not end as expected"
import json, sys, time, urllib.error, urllib.request

order, payment, inventory, notification = (f"http://127.0.0.1:{p}" for p in sys.argv[1:5])
carol, dave, admin = sys.argv[5:8]

def call(method, url, token, body=None, expect=(200,)):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method,
                                 headers={"Authorization": f"Bearer {token}",
                                          "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            status, text = r.status, r.read()
    except urllib.error.HTTPError as e:
        status, text = e.code, e.read()
    if status not in expect:
        sys.exit(f"{method} {url}: {status} {text[:300]!r}, expected {expect}")
    return json.loads(text) if text else None

call("PUT", f"{inventory}/api/products/IMG-KB", admin,
     {"name": "Keyboard", "price": 8900, "stock": 10}, (200, 201))
call("PUT", f"{inventory}/api/products/IMG-FEW", admin,
     {"name": "Last one", "price": 500, "stock": 1}, (200, 201))
call("PUT", f"{inventory}/api/products/IMG-GONE", admin,
     {"name": "Sold out", "price": 500, "stock": 0}, (200, 201))
call("PUT", f"{payment}/api/wallets/carol", admin, {"balance": 100000}, (200, 201))

def place(token, sku, qty):
    o = call("POST", f"{order}/api/orders", token,
             {"items": [{"sku": sku, "quantity": qty}], "currency": "EUR"}, (200, 201, 202))
    return o["id"]

def final(token, oid):
    deadline = time.time() + 60
    while time.time() < deadline:
        o = call("GET", f"{order}/api/orders/{oid}?wait=10", token)
        if o["status"] in ("CONFIRMED", "CANCELLED"):
            return o
    sys.exit(f"order {oid} did not finish: {o}")

def expect(o, status, reason=None):
    if o["status"] != status or o.get("cancelReason") != reason:
        sys.exit(f"order {o['id']}: {o['status']}/{o.get('cancelReason')}, "
                 f"expected {status}/{reason}")
    print(f"image.sh: order {o['id']}: {status}" + (f" ({reason})" if reason else ""))

# a sku known sold out is refused at once (inventory's hint, through Redis)
deadline = time.time() + 10
while True:
    data = json.dumps({"items": [{"sku": "IMG-GONE", "quantity": 1}], "currency": "EUR"})
    req = urllib.request.Request(f"{order}/api/orders", data=data.encode(), method="POST",
                                 headers={"Authorization": f"Bearer {carol}",
                                          "Content-Type": "application/json"})
    try:
        urllib.request.urlopen(req, timeout=30)
        status = 202
    except urllib.error.HTTPError as e:
        status = e.code
    if status == 409 or time.time() > deadline:
        break
    time.sleep(0.5)
if status != 409:
    sys.exit(f"an order for a sold-out sku got {status}, not 409 (the sold-out hint)")
print("image.sh: an order for a sold-out sku: 409")
confirmed = place(carol, "IMG-KB", 1)
short = place(carol, "IMG-FEW", 2)
declined = place(dave, "IMG-KB", 1)       # dave has no wallet
cancelled = place(carol, "IMG-KB", 2)
expect(final(carol, confirmed), "CONFIRMED")
expect(final(carol, short), "CANCELLED", "OUT_OF_STOCK")
expect(final(dave, declined), "CANCELLED", "PAYMENT_DECLINED")
expect(final(carol, cancelled), "CONFIRMED")
call("POST", f"{order}/api/orders/{cancelled}/cancel", carol)
expect(final(carol, cancelled), "CANCELLED", "CUSTOMER_REQUEST")

deadline = time.time() + 60
while True:
    refund = call("GET", f"{payment}/api/payments/{cancelled}", carol, expect=(200, 404))
    wallet = call("GET", f"{payment}/api/wallets/carol", carol)
    stock = call("GET", f"{inventory}/api/inventory/IMG-KB", carol)
    notes = call("GET", f"{notification}/api/notifications?orderId={confirmed}", carol)
    items = notes.get("items", notes) if isinstance(notes, dict) else notes
    done = (refund and refund.get("status") == "REFUNDED" and wallet["balance"] == 100000 - 8900
            and stock["sold"] == 1 and stock["reserved"] == 0 and stock["available"] == 9
            and items and all(n.get("status") == "SENT" for n in items))
    if done:
        break
    if time.time() > deadline:
        sys.exit(f"not settled: refund {refund}, wallet {wallet}, stock {stock}, "
                 f"notifications {notes}")
    time.sleep(0.5)
print("image.sh: refund, wallet, stock and notification settled")
PY
grep -q "^To: carol@customers.example" "$WORK/logs/smtp.log" ||
    die "no email reached carol through the SMTP server (smtp.log)"
step "orders through the containerized order-service: CONFIRMED and CANCELLED as expected; emails delivered"

# -- the audit service (saga_audit, read-only), strict, once the system is quiet
container audit
plan audit "${AUDIT_OPTS[@]}"
clean=0
for ((t = 0; t < 10; t++)); do
    if run_plan >"$WORK/logs/audit.log" 2>&1; then
        clean=1
        break
    fi
    sleep 2
done
((clean)) || die "the audit is not clean (audit.log)"
step "audit (saga-audit from the image, as saga_audit): clean"

# -- every service stops cleanly on SIGTERM
i=0
for pid in "${PIDS[@]}"; do
    rc=0
    stop "$pid" || rc=$?
    PIDS=("${PIDS[@]:1}")
    ((rc == 0)) || die "${APPS[i]}-service exited $rc on SIGTERM (${APPS[i]}.log)"
    i=$((i + 1))
done
step "every service exited 0 on SIGTERM; passed in $((SECONDS - T0)) s"
