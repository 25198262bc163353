#!/usr/bin/env bash
# The README's main command: install, build, run the main job.
#
# The full local RFT pipeline (simulator + verifier + learner + rollout workers) does not exist yet.
# Until it does, this runs the most complete thing that exists: generate the tabletop benchmark's
# demonstrations and evaluate the scripted expert in the benchmark.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
BUILD_DIR="${BUILD_DIR:-$ROOT/build}"
OUT="${OUT:-$ROOT/out/quickstart}"

bash "$ROOT/deploy/local/build.sh"
VLARFT="$BUILD_DIR/bin/vlarft"
mkdir -p "$OUT"

echo "== NOTE: the RFT pipeline is not implemented yet; running benchmark data generation + expert eval =="
"$VLARFT" version
"$VLARFT" data generate --out="$OUT/demos" --demos_per_task=10
"$VLARFT" eval --policy=expert --episodes_per_task=50 --out="$OUT/eval_expert"
echo "== done: demonstrations in $OUT/demos, expert evaluation in $OUT/eval_expert =="
