#!/usr/bin/env bash
# Refactoring check: a fixed-seed SFT run (4 steps from scratch) and a fixed-seed RFT study (3 GRPO
# steps, oracle reward) with two builds of `vlarft`; their checkpoints must be byte-identical.
#
#   cp build/bin/vlarft /tmp/vlarft_before   # before the change
#   ... change, rebuild ...
#   tools/check_bit_identical.sh /tmp/vlarft_before build/bin/vlarft
#
# Needs data/tabletop (`vlarft data generate --out=data/tabletop`). Takes ~2 min on 2 cores.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
BEFORE="${1:?vlarft binary before the change}"
AFTER="${2:?vlarft binary after the change}"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

run() {
  local bin=$1 out=$2
  mkdir -p "$out"
  "$bin" train policy --config configs/tiny.yaml --dataset data/tabletop --max_demos_per_task 2 \
    --set policy_training.steps=4 --set policy_training.log_every=2 --set policy_training.validate_every=4 \
    --set policy_training.checkpoint_every=4 --set policy_training.mixed_precision=none \
    --out "$out/sft" > "$out/sft.log" 2>&1
  "$bin" study rft --config configs/tiny.yaml --reward oracle --steps 3 --seed 7 --eval_episodes_per_task 1 \
    --eval_mixed_precision none --torch_threads 1 --set learner.prompts_per_step=2 \
    --set learner.grpo.skip_constant_action_dims=true --out "$out/rft" > "$out/rft.log" 2>&1
}
run "$BEFORE" "$WORK/before"
run "$AFTER" "$WORK/after"
status=0
for file in sft.safetensors rft/policy.safetensors; do
  a=$(sha256sum < "$WORK/before/$file" | cut -c1-64)
  b=$(sha256sum < "$WORK/after/$file" | cut -c1-64)
  if [[ "$a" == "$b" ]]; then
    echo "identical  $file  $a"
  else
    echo "DIFFERENT  $file  before $a  after $b"
    status=1
  fi
done
exit $status
