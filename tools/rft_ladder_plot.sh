#!/usr/bin/env bash
# Redraws docs/images/rft_ladder.png from the harness runs in out/study (docs/results.md, "The RFT
# harness"): one row per rung, one bar per training seed, each run's paired gain read from its
# results.json. Run the ladder first (tools/rft_ladder.sh); a missing run is an error naming it.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
VLARFT="${VLARFT:-build/bin/vlarft}"
S=out/study
runs() { local prefix=$1 suffix=$2; shift 2; local out=""; for s in "$@"; do out+="${out:+,}$S/${prefix}_s${s}${suffix}"; done; echo "$out"; }
RUNGS="oracle, policy finishes (4x16)=$(runs oracle_none _p4_skip_finish 1 2 3)"
RUNGS+=";same, shuffled rewards=$(runs oracle_shuffled _p4_skip_finish 1 2 3)"
RUNGS+=";same, advantages zeroed (anchor)=$(runs oracle_zero _p4_skip 1 2 3)"
RUNGS+=";world-model reward (4x16)=$(runs world_model_none _p4_skip 1 2 3)"
RUNGS+=";oracle, expert finishes (4x16)=$(runs oracle_none _fm05_skip_p4 1 2 3)"
RUNGS+=";oracle, expert finishes (2x16)=$S/oracle_s1,$S/oracle_none_s2"
RUNGS+=";anchor only (2x16)=$(runs oracle_zero '' 1 2 3)"
RUNGS+=";shuffled (2x16)=$(runs oracle_shuffled '' 1 2)"
RUNGS+=";world-model reward (2x16)=$(runs world_model_none '' 1 2 3),$S/world_model_none_s4_idle,$S/world_model_none_s5_parallel_idle"
RUNGS+=";real-frame reward (2x16)=$(runs real_frames_none '' 1 2 3)"
"$VLARFT" study ladder-plot --rungs "$RUNGS" --out "$S/ladder_plot"
cp "$S/ladder_plot/ladder.png" docs/images/rft_ladder.png
