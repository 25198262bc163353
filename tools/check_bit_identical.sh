#!/usr/bin/env bash
# Refactoring check: a fixed-seed SFT run (4 steps from scratch) and a fixed-seed RFT study (3 GRPO
# steps, oracle reward) with two builds of `vlarft`; every tensor of their checkpoints must be
# byte-identical.
#
#   cp build/bin/vlarft /tmp/vlarft_before   # before the change
#   ... change, rebuild ...
#   tools/check_bit_identical.sh /tmp/vlarft_before build/bin/vlarft [BEFORE_ROOT]
#
# BEFORE_ROOT (optional): a checkout of the commit the "before" binary was built from (e.g.
# `git worktree add /tmp/before HEAD` before the change); that binary then runs there, with that
# commit's configs and checkpoints. Needed when a change also migrates configs or checkpoints.
# Tensors are compared by name after tools/migrate_policy_checkpoint.py's renames, so a change that
# only renames parameters still compares equal; the file bytes themselves may then differ.
#
# Needs data/tabletop (`vlarft data generate --out=data/tabletop`). Takes ~2 min on 2 cores.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BEFORE="$(realpath "${1:?vlarft binary before the change}")"
AFTER="$(realpath "${2:?vlarft binary after the change}")"
BEFORE_ROOT="$(realpath "${3:-$ROOT}")"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

run() {
  local bin=$1 root=$2 out=$3
  mkdir -p "$out"
  (
    cd "$root"
    "$bin" train policy --config configs/tiny.yaml --dataset "$ROOT/data/tabletop" --max_demos_per_task 2 \
      --set policy_training.steps=4 --set policy_training.log_every=2 --set policy_training.validate_every=4 \
      --set policy_training.checkpoint_every=4 --set policy_training.mixed_precision=none \
      --out "$out/sft" > "$out/sft.log" 2>&1
    "$bin" study rft --config configs/tiny.yaml --set rft.dataset="$ROOT/data/tabletop" --reward oracle --steps 3 --seed 7 \
      --eval_episodes_per_task 1 --eval_mixed_precision none --torch_threads 1 --set learner.prompts_per_step=2 \
      --set learner.grpo.skip_constant_action_dims=true --out "$out/rft" > "$out/rft.log" 2>&1
  )
}
run "$BEFORE" "$BEFORE_ROOT" "$WORK/before"
run "$AFTER" "$ROOT" "$WORK/after"
python3 - "$WORK" "$ROOT/tools" <<'EOF'
import hashlib, sys
sys.path.insert(0, sys.argv[2])
from migrate_policy_checkpoint import new_name, read_safetensors
work, status = sys.argv[1], 0
def digest(path):
    header, data = read_safetensors(path)
    h = hashlib.sha256()
    for name in sorted((k for k in header if k != "__metadata__"), key=new_name):
        entry = header[name]
        begin, end = entry["data_offsets"]
        h.update(f"{new_name(name)}|{entry['dtype']}|{entry['shape']}|".encode() + data[begin:end])
    return h.hexdigest(), len(header) - ("__metadata__" in header)
for file in ["sft.safetensors", "rft/policy.safetensors"]:
    (a, n), (b, m) = digest(f"{work}/before/{file}"), digest(f"{work}/after/{file}")
    if a == b:
        print(f"identical  {file}  {n} tensors  {a}")
    else:
        print(f"DIFFERENT  {file}  before {a} ({n} tensors)  after {b} ({m} tensors)")
        status = 1
sys.exit(status)
EOF
