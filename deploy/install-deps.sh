#!/usr/bin/env bash
# deploy/install-deps.sh - installs the Debian 12 packages this project needs to
# build, run and test, and only those that are missing. Runs `apt-get update`
# only when the package lists are missing or an install fails without them.
# Idempotent; prints one line when everything is already there. Then the npm
# packages the tests use (package.json, package-lock.json at the repository root)
# with `npm ci`, when node_modules/ is missing or older than the lock file.
#
# Needs root (or sudo) only when something has to be installed.
set -euo pipefail

PACKAGES=(
    build-essential cmake pkg-config
    librdkafka-dev libmicrohttpd-dev libcjson-dev libhiredis-dev
    default-libmysqlclient-dev libcurl4-openssl-dev uuid-dev libjwt-dev libssl-dev openssl
    check libsubunit-dev
    mariadb-server mariadb-client redis-server kcat curl
    python3-jsonschema python3-confluent-kafka
    chromium nodejs
)
# npm: Debian's npm package, unless the nodejs installed already brings npm
command -v npm >/dev/null 2>&1 || PACKAGES+=(npm)

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

# The npm packages (the console's browser test drives Debian's chromium with
# playwright-core); as the user who runs this, into $ROOT/node_modules.
npm_install() {
    [[ -f $ROOT/package-lock.json ]] || return 0
    if [[ -d $ROOT/node_modules && $ROOT/node_modules -nt $ROOT/package-lock.json ]]; then
        return 0
    fi
    echo "install-deps: npm ci (package-lock.json)"
    (cd "$ROOT" && npm ci --no-audit --no-fund --loglevel=error) && touch "$ROOT/node_modules"
}

installed() {
    [[ $(dpkg-query -W -f='${Status}' "$1" 2>/dev/null) == "install ok installed" ]]
}

missing=()
for pkg in "${PACKAGES[@]}"; do
    installed "$pkg" || missing+=("$pkg")
done

if ((${#missing[@]} == 0)); then
    echo "install-deps: all ${#PACKAGES[@]} packages present"
    npm_install
    exit 0
fi

SUDO=()
if ((EUID != 0)); then
    if command -v sudo >/dev/null 2>&1; then
        SUDO=(sudo)
    else
        echo "install-deps: missing packages: ${missing[*]}" >&2
        echo "install-deps: run this script as root (or install sudo)" >&2
        exit 1
    fi
fi

export DEBIAN_FRONTEND=noninteractive
APT=("${SUDO[@]}" apt-get -y -q -o Dpkg::Use-Pty=0)

echo "install-deps: installing ${missing[*]}"
# No package lists at all (a fresh container): update first.
if ! compgen -G '/var/lib/apt/lists/*_Packages*' >/dev/null; then
    echo "install-deps: no package lists yet, running apt-get update"
    "${APT[@]}" update
fi
if ! "${APT[@]}" install --no-install-recommends "${missing[@]}"; then
    echo "install-deps: install failed, refreshing the package lists and retrying"
    "${APT[@]}" update
    "${APT[@]}" install --no-install-recommends "${missing[@]}"
fi

still=()
for pkg in "${missing[@]}"; do
    installed "$pkg" || still+=("$pkg")
done
if ((${#still[@]})); then
    echo "install-deps: still missing after install: ${still[*]}" >&2
    exit 1
fi
npm_install
echo "install-deps: done"
