#!/usr/bin/env bash
# deploy/install-deps.sh - installs the Debian 12 packages this project needs to
# build, run and test, and only those that are missing. Runs `apt-get update`
# only when the package lists are missing or an install fails without them.
# Then the npm packages of package.json (npm ci, exact versions from
# package-lock.json, into node_modules/): the Swagger UI files the services serve,
# the browser driver and the OpenAPI linter the tests run. npm ci runs only when
# package-lock.json changed since the last install.
# Idempotent; prints one line per part when everything is already there.
#
# Needs root (or sudo) only when a Debian package has to be installed.
set -euo pipefail

PACKAGES=(
    build-essential cmake pkg-config
    librdkafka-dev libmicrohttpd-dev libcjson-dev libhiredis-dev
    default-libmysqlclient-dev libcurl4-openssl-dev uuid-dev libjwt-dev libssl-dev openssl
    check libsubunit-dev
    mariadb-server mariadb-client redis-server kcat curl
    python3-jsonschema python3-confluent-kafka python3-aiosmtpd python3-matplotlib
    chromium
    buildah debootstrap docker-compose procps
)
# Node.js and npm: Node.js 20 or later (playwright-core and @redocly/cli need it);
# Debian 12's own nodejs (18) is installed only when there is none at all.
NODE_MAJOR_MIN=20

installed() {
    [[ $(dpkg-query -W -f='${Status}' "$1" 2>/dev/null) == "install ok installed" ]]
}

missing=()
for pkg in "${PACKAGES[@]}"; do
    installed "$pkg" || missing+=("$pkg")
done

command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 || missing+=(nodejs npm)

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

# npm ci into $ROOT/node_modules, unless it already holds what package-lock.json says.
install_npm_packages() {
    local stamp=$ROOT/node_modules/.saga-package-lock.sha256 want major
    major=$(node -p 'process.versions.node.split(".")[0]')
    if ((major < NODE_MAJOR_MIN)); then
        echo "install-deps: warning: Node.js $(node --version) is older than $NODE_MAJOR_MIN:" \
            "the browser test and the OpenAPI lint need Node.js $NODE_MAJOR_MIN or later" >&2
    fi
    want=$(sha256sum "$ROOT/package-lock.json" | cut -d' ' -f1)
    if [[ -f $stamp && $(cat "$stamp") == "$want" && -d $ROOT/node_modules/swagger-ui-dist ]]; then
        echo "install-deps: npm packages present (package-lock.json unchanged)"
        return 0
    fi
    echo "install-deps: npm ci (package-lock.json)"
    # --ignore-scripts: no package here needs an install script (swagger-ui-dist's
    # dependency would only send usage analytics)
    (cd "$ROOT" && SCARF_ANALYTICS=false npm ci --ignore-scripts --no-audit --no-fund)
    echo "$want" >"$stamp"
}

if ((${#missing[@]} == 0)); then
    echo "install-deps: all ${#PACKAGES[@]} packages present"
    install_npm_packages
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
echo "install-deps: done"
install_npm_packages
