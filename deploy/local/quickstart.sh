#!/usr/bin/env bash
# The README's main command: install, build, and run the full local RFT pipeline on the built-in
# benchmark with the tiny preset (`vlarft rft`): evaluate the base SFT policy, launch the world-model
# simulator, the reward verifier, 2 learner ranks and 2 rollout workers on loopback, run GRPO, evaluate
# the fine-tuned policy with the same seeds, and write the base-vs-RFT table.
#
# The stage-1 inputs are in the repository (checkpoints/tiny: tokenizer, world model, base policy).
# If one is missing, it is trained first with the same command docs/results.md documents
# (~15 min each on 2 cores).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
BUILD_DIR="${BUILD_DIR:-$ROOT/build}"
CONFIG="${CONFIG:-configs/tiny.yaml}"

bash "$ROOT/deploy/local/build.sh"
VLARFT="$BUILD_DIR/bin/vlarft"
cd "$ROOT"
"$VLARFT" version

if [[ ! -f data/tabletop/dataset.json ]]; then
  "$VLARFT" data generate --out=data/tabletop --demos_per_task=50
fi
if [[ ! -f checkpoints/tiny/tokenizer.safetensors ]]; then
  echo "== checkpoints/tiny/tokenizer missing: training it =="
  "$VLARFT" train tokenizer --config "$CONFIG" --dataset data/tabletop --out checkpoints/tiny/tokenizer
fi
if [[ ! -f checkpoints/tiny/world_model.safetensors ]]; then
  echo "== checkpoints/tiny/world_model missing: training it =="
  "$VLARFT" train world-model --config "$CONFIG" --dataset data/tabletop --tokenizer checkpoints/tiny/tokenizer \
    --out checkpoints/tiny/world_model
fi
if [[ ! -f checkpoints/tiny/policy_base.safetensors ]]; then
  echo "== checkpoints/tiny/policy_base missing: training it =="
  "$VLARFT" train policy --config "$CONFIG" --dataset data/tabletop --out checkpoints/tiny/policy_base
fi
if [[ ! -f checkpoints/tiny/policy_15w.safetensors ]]; then
  # The longer SFT ("15w"), which tiny.yaml's RFT starts from: the same run continued to 16k steps.
  echo "== checkpoints/tiny/policy_15w missing: training it (16000 steps) =="
  "$VLARFT" train policy --config "$CONFIG" --dataset data/tabletop --out checkpoints/tiny/policy_15w \
    --set policy_training.steps=16000
fi

# Extra arguments go to `vlarft rft` (e.g. --set learner.max_steps=50 for a shorter run).
"$VLARFT" rft --config "$CONFIG" "$@"
