#!/usr/bin/env bash
# Installs dependencies (idempotent), configures and builds the project into build/ (or $BUILD_DIR).
# Extra arguments go to CMake, e.g. -DVLARFT_BUILD_SERVICES=OFF or -DCMAKE_PREFIX_PATH=<CUDA LibTorch>.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
BUILD_DIR="${BUILD_DIR:-$ROOT/build}"
JOBS="${JOBS:-$(nproc)}"

bash "$ROOT/deploy/install-deps.sh"

if [[ ! -f "$BUILD_DIR/build.ninja" ]]; then
  cmake -S "$ROOT" -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release "$@"
elif [[ $# -gt 0 ]]; then
  cmake "$BUILD_DIR" "$@"
fi
cmake --build "$BUILD_DIR" -j "$JOBS"
