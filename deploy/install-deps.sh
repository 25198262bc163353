#!/usr/bin/env bash
# Installs every Debian bookworm package the project needs (docs/architecture.md, "Dependencies").
# Idempotent: packages already present are skipped by apt; safe to rerun.
# Works as root or through sudo. Set VLARFT_SKIP_DEPS=1 to do nothing (e.g. inside a prepared image).
set -euo pipefail

if [[ "${VLARFT_SKIP_DEPS:-0}" == "1" ]]; then
  exit 0
fi

PACKAGES=(
  # build
  build-essential cmake ninja-build pkg-config git
  # tensors, autograd, c10d headers. (Debian's LibTorch calls BLAS through libblas.so.3. OpenBLAS
  # would be faster than the reference BLAS, but with OpenBLAS loaded the civetweb server inside
  # prometheus-cpp fails to start ("null context when constructing CivetServer"), so it is not
  # installed; see docs/results.md.)
  libtorch-dev libgloo-dev
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
  # deploy tests: the real Prometheus server and promtool (tests/deploy), python3 for the
  # dashboard generator (deploy/grafana); h5py writes the real-LIBERO-file fixture (tests/data)
  prometheus python3 python3-h5py
)

# Tools the deploy tests need that a machine may already have from elsewhere (e.g. a newer Node.js
# or kubectl): install the Debian package only when the command is missing.
if ! command -v npm >/dev/null 2>&1; then
  PACKAGES+=(nodejs npm)
fi
if ! command -v kubectl >/dev/null 2>&1; then
  # Debian bookworm's kubectl (kubernetes-client 1.20) embeds kustomize v2, too old for the
  # manifests (components, patches, replacements need kustomize v4+, i.e. kubectl >= 1.21): the
  # deploy.render test says so. Install a newer kubectl by your site's means.
  echo "install-deps: kubectl not found; the deploy tests need kubectl >= 1.21" >&2
fi

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
