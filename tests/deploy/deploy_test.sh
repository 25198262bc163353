#!/usr/bin/env bash
# Deployment checks, one CTest test per step (tests/deploy/CMakeLists.txt):
#
#   deploy_test.sh STEP REPO_ROOT WORK_DIR [BIN_DIR]
#
#   setup        npm ci of the validator (tests/deploy/validator: kubernetes-models, the
#                prometheus-operator models, TypeScript, yaml) into WORK_DIR/validator
#   render       `kubectl kustomize` renders the base and every overlay into WORK_DIR/<name>.yaml
#   validate     every rendered object against the Kubernetes / prometheus-operator schemas,
#                unknown fields included (validator/validate.mjs)
#   consistency  labels, selectors, ports, probes, rendezvous, presets, scrape coverage
#                (validator/consistency.mjs)
#   rules        the PrometheusRule's groups: `promtool check rules` and the alert unit tests in
#                tests/deploy/alerts_test.yml (`promtool test rules`)
#   dashboard    deploy/grafana/vlarft-rft.json is what generate_dashboard.py writes; every query
#                parses (promtool) and names only metrics the services export
#   scrape       deploy/prometheus/local-scrape.yml.tmpl, filled in, passes `promtool check config`
#   services     every service of every overlay, started as its pod would start it but with
#                --validate (validator/services.mjs): `full` for cpu-small (the tiny preset's
#                artifacts are in the repository), `config` for the GPU overlays (the paper preset's
#                artifacts and the GPUs exist only on the cluster). Needs BIN_DIR (4th argument).
#
# Tools: kubectl (with kustomize v4+), node + npm, promtool (Debian package prometheus), python3;
# deploy/install-deps.sh installs them.
set -euo pipefail

STEP="${1:?step}"
ROOT="$(cd "${2:?repo root}" && pwd)"
WORK="${3:?work dir}"
mkdir -p "$WORK"
VALIDATOR="$WORK/validator"
OVERLAYS=(base $(cd "$ROOT/deploy/k8s/overlays" && ls -d */ | tr -d /))

die() { echo "FAIL: $*" >&2; exit 1; }
need() { command -v "$1" >/dev/null 2>&1 || die "$1 not found (run deploy/install-deps.sh)"; }

rendered() {  # path of an overlay's rendered manifests, rendering it if needed
  local name="$1" dir out="$WORK/$1.yaml"
  if [[ "$name" == base ]]; then dir="$ROOT/deploy/k8s/base"; else dir="$ROOT/deploy/k8s/overlays/$name"; fi
  kubectl kustomize "$dir" > "$out.tmp" || die "kubectl kustomize $dir failed"
  mv "$out.tmp" "$out"
  echo "$out"
}

node_tool() {  # runs a validator script from the work dir, where its node_modules are
  [[ -d "$VALIDATOR/node_modules" ]] || die "validator not installed: run the deploy.setup test first"
  cp "$ROOT/tests/deploy/validator/"*.mjs "$VALIDATOR/"
  node "$VALIDATOR/$1" "${@:2}"
}

case "$STEP" in
  setup)
    need node; need npm
    mkdir -p "$VALIDATOR"
    # Reinstall only when the lockfile changed.
    if ! cmp -s "$ROOT/tests/deploy/validator/package-lock.json" "$VALIDATOR/package-lock.json" \
        || [[ ! -d "$VALIDATOR/node_modules" ]]; then
      cp "$ROOT/tests/deploy/validator/package.json" "$ROOT/tests/deploy/validator/package-lock.json" "$VALIDATOR/"
      (cd "$VALIDATOR" && npm ci --no-audit --no-fund --loglevel=error)
    fi
    echo "validator installed in $VALIDATOR"
    ;;

  render)
    need kubectl
    version="$(kubectl version --client 2>/dev/null | sed -n 's/^Kustomize Version: v\([0-9]*\).*/\1/p')"
    [[ -n "$version" && "$version" -ge 4 ]] || \
      die "kubectl's kustomize is older than v4 (components, patches and replacements need kubectl >= 1.21): $(kubectl version --client 2>&1 | head -2 | tr '\n' ' ')"
    for name in "${OVERLAYS[@]}"; do
      out="$(rendered "$name")"
      echo "ok   $name: $(grep -c '^kind:' "$out") objects -> $out"
    done
    ;;

  validate)
    need kubectl; need node
    files=()
    for name in "${OVERLAYS[@]}"; do files+=("$(rendered "$name")"); done
    node_tool validate.mjs "${files[@]}"
    ;;

  consistency)
    need kubectl; need node
    status=0
    for name in "${OVERLAYS[@]}"; do
      [[ "$name" == base ]] && continue  # the base alone is not a deployable job
      node_tool consistency.mjs "$(rendered "$name")" "$ROOT" || status=1
    done
    exit $status
    ;;

  rules)
    need kubectl; need node; need promtool
    node_tool extract.mjs rules "$(rendered base)" > "$WORK/vlarft-rules.yml"
    promtool check rules "$WORK/vlarft-rules.yml"
    # The unit tests name the rule file relative to themselves: run them from a copy next to it.
    cp "$ROOT/tests/deploy/alerts_test.yml" "$WORK/alerts_test.yml"
    (cd "$WORK" && promtool test rules alerts_test.yml)
    ;;

  dashboard)
    need python3; need node; need promtool
    python3 "$ROOT/deploy/grafana/generate_dashboard.py" "$WORK/vlarft-rft.json"
    diff -u "$ROOT/deploy/grafana/vlarft-rft.json" "$WORK/vlarft-rft.json" \
      || die "deploy/grafana/vlarft-rft.json is stale: run python3 deploy/grafana/generate_dashboard.py deploy/grafana/vlarft-rft.json"
    # Every panel query as a recording rule, so promtool parses it.
    node_tool extract.mjs dashboard-rules "$ROOT/deploy/grafana/vlarft-rft.json" > "$WORK/dashboard-rules.yml"
    promtool check rules "$WORK/dashboard-rules.yml"
    # Metric names used by the dashboard and the alerts exist in the services' code.
    node_tool extract.mjs metric-names "$ROOT" "$ROOT/deploy/grafana/vlarft-rft.json" "$(rendered base)"
    ;;

  scrape)
    need promtool
    echo '[{"targets": ["127.0.0.1:9999"], "labels": {"component": "learner", "rank": "0"}}]' > "$WORK/targets.json"
    sed -e "s|@SCRAPE_INTERVAL@|5s|g" -e "s|@TARGETS_FILE@|$WORK/targets.json|g" -e "s|@RUN_NAME@|check|g" \
      "$ROOT/deploy/prometheus/local-scrape.yml.tmpl" > "$WORK/local-scrape.yml"
    ! grep -n '@[A-Z_]*@' "$WORK/local-scrape.yml" || die "unreplaced placeholder"
    promtool check config "$WORK/local-scrape.yml"
    ;;

  services)
    need kubectl; need node
    BIN="$(cd "${4:?bin dir (build/bin) for the services step}" && pwd)"
    status=0
    for name in "${OVERLAYS[@]}"; do
      [[ "$name" == base ]] && continue
      level=config
      [[ "$name" == cpu-* ]] && level=full
      node_tool services.mjs "$(rendered "$name")" "$ROOT" "$BIN" "$WORK/services" "$level" || status=1
    done
    exit $status
    ;;

  *)
    die "unknown step $STEP"
    ;;
esac
