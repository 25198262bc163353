#!/usr/bin/env bash
# The RFT harness ladder (docs/results.md, "The RFT harness"): `vlarft study rft` from the configured
# SFT policy with each reward and control, for several training seeds, one after another (each run
# uses both cores). The start policy is evaluated once and cached (--base_eval); every run pairs its
# tuned policy against it on the same 2000 episodes.
#
#   tools/rft_ladder.sh "oracle:none shuffled:oracle" "1 2 3" [extra vlarft study rft arguments]
#
# rung = REWARD:CONTROL where CONTROL is none | shuffled | zero ("shuffled:oracle" reads as
# reward oracle, control shuffled). Results: out/study/<reward>_<control>_s<seed>/, one summary line
# per run appended to out/study/ladder.txt.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
RUNGS="${1:?rungs, e.g. 'oracle:none oracle:shuffled'}"
SEEDS="${2:?seeds, e.g. '1 2 3'}"
shift 2
VLARFT="${VLARFT:-build/bin/vlarft}"
mkdir -p out/study
for rung in $RUNGS; do
  reward="${rung%%:*}"
  control="${rung##*:}"
  for seed in $SEEDS; do
    out="out/study/${reward}_${control}_s${seed}${TAG:+_$TAG}"
    "$VLARFT" study rft --config configs/tiny.yaml --reward "$reward" --control "$control" --seed "$seed" \
      --out "$out" --base_eval out/study/base_eval.json "$@" > "$out.log" 2>&1
    grep '^study rft' "$out.log" | sed "s|^|$out: |" >> out/study/ladder.txt
  done
done
