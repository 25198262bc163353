#!/usr/bin/env bash
# Renders docs/images/dashboard.png: the Grafana dashboard's learner panels plotted from real
# Prometheus data, without Grafana. It runs the Prometheus scrape test (a real vlarft-learner fed by
# the test's miniature rollout worker, scraped every second by a real prometheus) for more steps,
# dumps query_range results of every dashboard panel, and draws them with libs/viz.
#
#   BUILD_DIR=build deploy/grafana/render_dashboard_png.sh [STEPS] [OUT.png]
# Needs the targets prometheus_scrape_test, vlarft-learner and render_dashboard_png built.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
BUILD_DIR="${BUILD_DIR:-$ROOT/build}"
STEPS="${1:-40}"
OUT="${2:-$ROOT/docs/images/dashboard.png}"
DUMP="$(mktemp -d)"
trap 'rm -rf "$DUMP"' EXIT

cd "$ROOT"
VLARFT_BIN_DIR="$BUILD_DIR/bin" VLARFT_PROM_TEST_STEPS="$STEPS" VLARFT_PROM_TEST_DUMP="$DUMP" \
  "$BUILD_DIR/bin/prometheus_scrape_test" --gtest_brief=1
mkdir -p "$(dirname "$OUT")"
"$BUILD_DIR/bin/render_dashboard_png" "$DUMP" "$OUT"
