#!/usr/bin/env bash
# One device session for the paper-scale GPU work (docs/results.md, "On a GPU"; docs/world_model.md,
# "Static shapes"): builds libs/, the tests and the benchmarks against the machine's CUDA LibTorch,
# runs the tests that touch CUDA or the decode paths, and measures the imagination bar — paper
# preset, one 16-way group plus its reference, one chunk — for the growing-window cached path, the
# static-shape path and the reference design's re-prefill baseline, in one run on one device.
# Everything it writes goes to $OUT (the device tool brings those files back).
#
# Not yet run on a GPU (no device was lent to the session that wrote it). Sized for ~9 minutes on an
# H100/H200 with 16 cores: a timeout of 540 s leaves room for a rerun in a 15-minute budget.
#
#   here, once:   tools/gpu_session.sh --fetch-debs     # bookworm packages into .debs/ (git-ignored)
#   device run:   command "tools/gpu_session.sh", carry [".debs"], timeout_s 540
#
# The GPU image has PyTorch (its LibTorch is what CMake is pointed at) but no package registry:
# the Debian packages the CPU build installs (deploy/install-deps.sh) travel as .deb files and are
# unpacked into a prefix. Services need gRPC too (SERVICES=ON adds their packages).
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
LIBS="libabsl-dev libabsl20220623 libgoogle-glog-dev libgoogle-glog0v6 libgflags-dev libgflags2.2 libunwind-dev
      libyaml-cpp-dev libyaml-cpp0.7 nlohmann-json3-dev libhdf5-dev libhdf5-103-1 libsz2 libaec0 libpng-dev
      libgtest-dev libgmock-dev"
RPC="libgrpc++-dev libgrpc++1.51 libgrpc-dev libgrpc29 libprotobuf-dev libprotobuf32 protobuf-compiler
     libprotoc32 protobuf-compiler-grpc libre2-9 libc-ares2 prometheus-cpp-dev libprometheus-cpp-core1.0
     libprometheus-cpp-pull1.0 libcivetweb1"
if [[ "${1:-}" == "--fetch-debs" ]]; then
  mkdir -p .debs && grep -qx '/.debs/' .git/info/exclude 2>/dev/null || echo /.debs/ >> .git/info/exclude
  (cd .debs && apt-get download $LIBS ${SERVICES:+$RPC})
  du -sh .debs
  exit 0
fi

OUT="${OUT:-/tmp/gpu_out}"
mkdir -p "$OUT"
say() { echo "== $*" | tee -a "$OUT/summary.txt"; }
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv | tee "$OUT/summary.txt"
PREFIX=/opt/vlarft-deps
for f in .debs/*.deb; do dpkg -x "$f" "$PREFIX"; done
export LD_LIBRARY_PATH="$PREFIX/usr/lib/x86_64-linux-gnu:${LD_LIBRARY_PATH:-}"
TORCH_PREFIX="$(python3 -c 'import torch; print(torch.utils.cmake_prefix_path)')"
say "torch $(python3 -c 'import torch; print(torch.__version__, torch.version.cuda)')"

cmake -S . -B /tmp/b -G Ninja -DCMAKE_BUILD_TYPE=Release -DVLARFT_REQUIRE_CUDA=ON -DVLARFT_USE_NCCL=ON \
  -DVLARFT_BUILD_SERVICES="${SERVICES:-OFF}" -DCMAKE_PREFIX_PATH="$TORCH_PREFIX;$PREFIX/usr" \
  -DCMAKE_CXX_FLAGS="-include cstdint" > "$OUT/configure.log" 2>&1 || say "configure failed"
ninja -C /tmp/b -k 0 -j16 > "$OUT/build.log" 2>&1 && say "build ok" ||
  say "build failed: $(grep -c 'error:' "$OUT/build.log") errors (NCCL: $(grep -c 'data_parallel.cc.*error' "$OUT/build.log"))"

# Tests: the decode paths (static shapes vs growing window, every mode agreeing), CUDA sampling vs
# CPU, the learner step, c10d (NCCL at world size 1 where compiled in).
(cd /tmp/b && timeout 180 ctest -j8 -R 'GenerationTest|WorldModelTest|FlowSampling|DataParallel|GrpoLearner' \
  --output-on-failure) > "$OUT/tests.log" 2>&1
say "tests: $(grep -E 'tests passed|tests failed' "$OUT/tests.log")"

# The bar: paper preset, G = 16 (+1 reference), one chunk of 8 frames; cached, static shapes, bf16 weights and
# the re-prefill baseline (2G sequences) in one run.
timeout 240 /tmp/b/bin/wm_generation_bench --preset=paper --device=cuda --group_sizes="[16]" --frames="[8]" \
  --repetitions=3 --static_shapes=true --bf16_weights=true --baseline=true --decode_frames=false --json="$OUT/wm_paper.json" \
  > "$OUT/wm_paper.txt" 2>&1
tee -a "$OUT/summary.txt" < "$OUT/wm_paper.txt"
timeout 60 /tmp/b/bin/wm_generation_bench --tokenizer=checkpoints/tiny/tokenizer \
  --world_model=checkpoints/tiny/world_model --device=cuda --group_sizes="[4, 16]" --frames="[8]" \
  --static_shapes=true --baseline=false --decode_frames=false > "$OUT/wm_tiny.txt" 2>&1
tee -a "$OUT/summary.txt" < "$OUT/wm_tiny.txt"
