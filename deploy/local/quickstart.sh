#!/usr/bin/env bash
# The README's main command: install, build, run the main job.
#
# The full local RFT pipeline (`vlarft rft`: simulator + verifier + learner + rollout workers) is
# built, but its stage-1 inputs (trained world model and a base policy that leaves room for RL) are
# not in the repository yet. Until they are, this runs the most complete thing that works end to end:
# generate the benchmark's demonstrations, train the tiny SFT policy on them (~15 min on 2 cores),
# and evaluate it in the benchmark (paper-style table). It says so when it starts.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
BUILD_DIR="${BUILD_DIR:-$ROOT/build}"
OUT="${OUT:-$ROOT/out/quickstart}"
DEMOS_PER_TASK="${DEMOS_PER_TASK:-20}"
EPISODES_PER_TASK="${EPISODES_PER_TASK:-10}"

bash "$ROOT/deploy/local/build.sh"
VLARFT="$BUILD_DIR/bin/vlarft"
mkdir -p "$OUT"
cd "$ROOT"

echo "== NOTE: RFT stage-1 checkpoints are not in the repo yet; running demos -> SFT policy -> benchmark eval =="
"$VLARFT" version
if [[ ! -f "$OUT/demos/dataset.json" ]]; then
  "$VLARFT" data generate --out="$OUT/demos" --demos_per_task="$DEMOS_PER_TASK"
fi
if [[ ! -f "$OUT/policy_base.safetensors" ]]; then
  "$VLARFT" train policy --config configs/tiny.yaml --dataset "$OUT/demos" --out "$OUT/policy_base"
fi
"$VLARFT" eval --policy="$OUT/policy_base" --episodes_per_task="$EPISODES_PER_TASK" --torch_threads=1 --out="$OUT/eval"
echo "== done: demos in $OUT/demos, policy in $OUT/policy_base.*, table in $OUT/eval/eval.md =="
