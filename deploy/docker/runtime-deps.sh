#!/usr/bin/env bash
# Used by the Dockerfile's build stage: for the binaries in BIN_DIR, prints (one a line) the Debian
# packages that own their shared libraries, and copies the libraries no package owns (a CUDA
# LibTorch from a wheel, with its CUDA runtime and NCCL) into LIB_DIR.
#   runtime-deps.sh BIN_DIR LIB_DIR > packages.txt
set -euo pipefail
BIN_DIR="$1"
LIB_DIR="$2"
mkdir -p "$LIB_DIR"

libs="$(for b in "$BIN_DIR"/*; do ldd "$b"; done | awk '/=> \// {print $3}' | sort -u)"
packages=()
for lib in $libs; do
  real="$(readlink -f "$lib")"
  if owner="$(dpkg -S "$lib" 2>/dev/null || dpkg -S "$real" 2>/dev/null)"; then
    packages+=("${owner%%:*}")
  else
    cp -L "$lib" "$LIB_DIR/"
  fi
done
# A wheel's LibTorch loads some libraries with dlopen (CUDA kernels, NCCL plugins): take the
# whole directory it came from.
for dir in $(for lib in $libs; do dirname "$(readlink -f "$lib")"; done | sort -u | grep -E 'site-packages' || true); do
  cp -L "$dir"/*.so* "$LIB_DIR/" 2>/dev/null || true
done
printf '%s\n' "${packages[@]}" | sed 's/,.*//' | sort -u
