#!/usr/bin/env bash
# The README's test command: install dependencies, build everything, run every test with CTest.
# Extra arguments go to ctest (e.g. -R safetensors, -L unit).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
BUILD_DIR="${BUILD_DIR:-$ROOT/build}"

bash "$ROOT/deploy/local/build.sh"
cd "$BUILD_DIR"
ctest --output-on-failure -j "${CTEST_JOBS:-2}" --timeout 600 "$@"
