#!/usr/bin/env bash
# tests/tools/promtool.sh CACHE_DIR - prints the path of a promtool binary, fetching
# it once into CACHE_DIR (the build directory): Debian's `prometheus` package is
# downloaded (apt-get download: no root, nothing installed, the server is never
# run) and only usr/bin/promtool is kept from it. A promtool already on PATH is
# used as it is.
set -euo pipefail

cache=${1:?usage: promtool.sh CACHE_DIR}
if command -v promtool >/dev/null 2>&1; then
    command -v promtool
    exit 0
fi
bin="$cache/promtool/promtool"
if [[ ! -x $bin ]]; then
    work=$(mktemp -d "$cache/promtool.XXXXXX")
    trap 'rm -rf "$work"' EXIT
    # apt drops privileges to _apt for downloads: let it write there
    chmod 0777 "$work"
    (cd "$work" && apt-get download -q prometheus >&2) || {
        echo "promtool.sh: apt-get download prometheus failed (no package lists? run apt-get update)" >&2
        exit 1
    }
    dpkg-deb -x "$work"/prometheus_*.deb "$work/x"
    mkdir -p "$cache/promtool"
    install -m 0755 "$work/x/usr/bin/promtool" "$bin.tmp"
    mv "$bin.tmp" "$bin"
fi
echo "$bin"
