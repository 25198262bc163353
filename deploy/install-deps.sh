#!/usr/bin/env bash
# Installs every Debian bookworm package the project needs (DESIGN.md §3).
# Idempotent: packages already present are skipped by apt; safe to rerun.
# Works as root or through sudo. Set VLARFT_SKIP_DEPS=1 to do nothing (e.g. inside a prepared image).
set -euo pipefail

if [[ "${VLARFT_SKIP_DEPS:-0}" == "1" ]]; then
  exit 0
fi

PACKAGES=(
  # build
  build-essential cmake ninja-build pkg-config git
  # tensors, autograd, c10d headers. Debian's libtorch calls BLAS through libblas.so.3, which is the
  # slow reference implementation unless an optimised provider is installed: OpenBLAS (OpenMP build,
  # matching LibTorch's threading) makes the tiny preset's training ~10x faster.
  libtorch-dev libgloo-dev libopenblas0-openmp
  # RPC
  libgrpc++-dev libprotobuf-dev protobuf-compiler protobuf-compiler-grpc
  # base
  libabsl-dev libgoogle-glog-dev libgflags-dev
  # metrics
  prometheus-cpp-dev
  # tests and benchmarks
  googletest libgtest-dev libgmock-dev libbenchmark-dev
  # config / data / images
  libyaml-cpp-dev nlohmann-json3-dev libhdf5-dev libpng-dev zlib1g-dev
  # scripts used by tests (HTTP scrape of /metrics)
  curl ca-certificates
)

missing=()
for pkg in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$pkg")
  fi
done

if [[ ${#missing[@]} -eq 0 ]]; then
  echo "install-deps: all ${#PACKAGES[@]} packages already installed"
  exit 0
fi

SUDO=""
if [[ "$(id -u)" -ne 0 ]]; then
  if command -v sudo >/dev/null 2>&1; then
    SUDO="sudo"
  else
    echo "install-deps: need root or sudo to install: ${missing[*]}" >&2
    exit 1
  fi
fi

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y --no-install-recommends "${missing[@]}"
