#!/usr/bin/env bash
# The README's main command: install, build, and run the full local RFT pipeline on the built-in
# benchmark with the tiny preset (`vlarft rft`): evaluate the base SFT policy, launch the world-model
# simulator, the reward verifier, 2 learner ranks and 2 rollout workers on loopback, run GRPO, evaluate
# the fine-tuned policy with the same seeds, and write the base-vs-RFT table.
#
# The stage-1 inputs are in the repository (checkpoints/tiny: tokenizer, world model, SFT policies).
# If one is missing, it is trained first with the same commands docs/results.md documents
# (~15 min each on 2 cores; the 4k + 16k SFT pair ~2 h, the 8k base ~1.3 h, on one thread each).
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
# The SFT policies (docs/results.md, "SFT policies"): the subgoal-conditioned policy with the
# heat-map localiser, 4000 steps (policy_heatmap), and the same run continued to 16000 steps
# ("15w", policy_heatmap_15w), which tiny.yaml's RFT starts from.
if [[ ! -f checkpoints/tiny/policy_heatmap.safetensors || ! -f checkpoints/tiny/policy_heatmap_15w.safetensors ]]; then
  echo "== SFT policies missing: training policy_heatmap (4000 steps) and continuing it to 16000 =="
  "$VLARFT" train policy --config "$CONFIG" --dataset data/tabletop --out out/sft/policy_heatmap
  cp out/sft/policy_heatmap.safetensors out/sft/policy_heatmap.yaml checkpoints/tiny/
  rm -rf out/sft/policy_heatmap_15w_ckpt
  mkdir -p out/sft/policy_heatmap_15w_ckpt
  cp -r "out/sft/policy_heatmap_ckpt/$(cat out/sft/policy_heatmap_ckpt/LATEST)" out/sft/policy_heatmap_ckpt/LATEST \
    out/sft/policy_heatmap_15w_ckpt/
  "$VLARFT" train policy --config "$CONFIG" --dataset data/tabletop --out out/sft/policy_heatmap_15w \
    --set policy_training.steps=16000
  cp out/sft/policy_heatmap_15w.safetensors out/sft/policy_heatmap_15w.yaml checkpoints/tiny/
fi

# The base SFT policy (the paper's "3w" analogue, docs/results.md): the same recipe trained once for
# 8000 steps (half the 15w run), so its cosine schedule anneals by the end.
if [[ ! -f checkpoints/tiny/policy_heatmap_base.safetensors ]]; then
  echo "== checkpoints/tiny/policy_heatmap_base missing: training it (8000 steps) =="
  "$VLARFT" train policy --config "$CONFIG" --dataset data/tabletop --out out/sft/policy_heatmap_base \
    --set policy_training.steps=8000
  cp out/sft/policy_heatmap_base.safetensors out/sft/policy_heatmap_base.yaml checkpoints/tiny/
fi

# Extra arguments go to `vlarft rft` (e.g. --set learner.max_steps=50 for a shorter run).
"$VLARFT" rft --config "$CONFIG" "$@"
