#!/usr/bin/env bash
# tests/run-all.sh - the README's test command: configure a Debug build in build/
# (AddressSanitizer + UBSan and fault-injection points, from CMake), build it, and
# run every CTest test (unit, integration, e2e; the integration and e2e groups
# start their own MariaDB, Redis and broker through tests/harness/servers.sh).
#
#   tests/run-all.sh               everything
#   tests/run-all.sh -L unit       extra arguments go to ctest
#
# Run from anywhere; needs the packages from deploy/install-deps.sh.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

echo "==> configuring Debug build in $ROOT/build"
cmake -S . -B build -DCMAKE_BUILD_TYPE=Debug
echo "==> building"
cmake --build build -j2
echo "==> running ctest $*"
ctest --test-dir build --output-on-failure "$@"
