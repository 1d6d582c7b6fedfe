#!/usr/bin/env bash
# deploy/docker/build.sh - the image's build steps (deploy/docker/Dockerfile runs
# it; it also runs without Docker): a Release build of the four services and the
# tools, without the tests (SAGA_BUILD_TESTS=OFF), installed under PREFIX in the
# layout the services expect relative to their working directory.
#
#   deploy/docker/build.sh [BUILD_DIR [PREFIX]]
#
# BUILD_DIR defaults to ./build-docker, PREFIX to /opt/saga. Needs the -dev
# packages of deploy/install-deps.sh (the Dockerfile's builder stage installs
# them). Installs:
#   PREFIX/bin/{order,payment,inventory,notification}-service, PREFIX/bin/saga-audit,
#   PREFIX/bin/saga-token, PREFIX/bin/saga-secrets (deploy/docker/secrets.sh)
#   PREFIX/schemas/*.json                  (SAGA_SCHEMAS_DIR default: schemas)
#   PREFIX/deploy/mysql/<service>/*.sql    (SAGA_MIGRATIONS_DIR default: deploy/mysql)
#   PREFIX/services/<name>/openapi.json    (SAGA_OPENAPI_FILE default)
#   PREFIX/node_modules/swagger-ui-dist/   (SAGA_SWAGGER_UI_DIR default; the files the
#       services serve, when deploy/install-deps.sh installed them in the checkout;
#       the Dockerfile copies them from its swagger-ui stage instead)
# so a service started with PREFIX as its working directory finds everything.
# Then checks that every binary runs (saga-audit --help) and links.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD_DIR=${1:-build-docker}
PREFIX=${2:-/opt/saga}
SERVICES=(order payment inventory notification)
JOBS=${SAGA_BUILD_JOBS:-$(nproc 2>/dev/null || echo 2)}

step() { printf '==> build.sh: %s\n' "$*"; }

case "$BUILD_DIR" in /*) ;; *) BUILD_DIR=$PWD/$BUILD_DIR ;; esac
case "$PREFIX" in /*) ;; *) PREFIX=$PWD/$PREFIX ;; esac

step "configuring a Release build in $BUILD_DIR"
cmake -S "$ROOT" -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release -DSAGA_BUILD_TESTS=OFF >/dev/null

targets=()
for svc in "${SERVICES[@]}"; do
    targets+=("$svc-service")
done
targets+=(saga-audit saga-token saga-console)
step "building ${targets[*]} ($JOBS jobs)"
cmake --build "$BUILD_DIR" -j "$JOBS" --target "${targets[@]}"

step "installing into $PREFIX"
install -d "$PREFIX/bin" "$PREFIX/schemas" "$PREFIX/deploy/mysql"
for svc in "${SERVICES[@]}"; do
    install -m 0755 -s "$BUILD_DIR/services/$svc/$svc-service" "$PREFIX/bin/"
    if [[ -f $ROOT/services/$svc/openapi.json ]]; then
        install -D -m 0644 "$ROOT/services/$svc/openapi.json" \
            "$PREFIX/services/$svc/openapi.json"
    else
        echo "build.sh: warning: services/$svc/openapi.json is missing" >&2
    fi
done
install -m 0755 -s "$BUILD_DIR/tools/saga-audit" "$BUILD_DIR/tools/saga-token" \
    "$BUILD_DIR/tools/saga-console" "$PREFIX/bin/"
# saga-console's page, found from the working directory (/opt/saga in the image)
install -d "$PREFIX/tools/console/web"
install -m 0644 "$ROOT"/tools/console/web/* "$PREFIX/tools/console/web/"
install -m 0755 "$ROOT/deploy/docker/secrets.sh" "$PREFIX/bin/saga-secrets"
install -m 0644 "$ROOT"/schemas/*.json "$PREFIX/schemas/"
if [[ -f $ROOT/node_modules/swagger-ui-dist/swagger-ui-bundle.js ]]; then
    install -d "$PREFIX/node_modules/swagger-ui-dist"
    (cd "$ROOT/node_modules/swagger-ui-dist" &&
        install -m 0644 swagger-ui-bundle.js swagger-ui.css favicon-32x32.png favicon-16x16.png \
            LICENSE "$PREFIX/node_modules/swagger-ui-dist/")
fi
for dir in "$ROOT"/deploy/mysql/*/; do
    sub=$(basename "$dir")
    install -d "$PREFIX/deploy/mysql/$sub"
    for f in "$dir"*.sql; do
        [[ -f $f ]] && install -m 0644 "$f" "$PREFIX/deploy/mysql/$sub/"
    done
done

step "checking the installed binaries"
for bin in "$PREFIX"/bin/*; do
    [[ $bin == */saga-secrets ]] && continue # a script
    if ldd "$bin" | grep -q 'not found'; then
        echo "build.sh: $bin: missing shared libraries:" >&2
        ldd "$bin" | grep 'not found' >&2
        exit 1
    fi
done
"$PREFIX/bin/saga-audit" --help >/dev/null
"$PREFIX/bin/saga-token" --help >/dev/null
step "done: $(find "$PREFIX" -type f | wc -l) files under $PREFIX"
