#!/usr/bin/env python3
"""Writes the Grafana dashboard vlarft-rft.json (the file Grafana imports and the k8s ConfigMap carries).

    python3 deploy/grafana/generate_dashboard.py deploy/grafana/vlarft-rft.json

Edit panels here, not in the JSON: the deploy tests regenerate the JSON and fail when it differs,
check every PromQL expression with promtool, and check every metric name against the services'
metric list. Queries filter on namespace=~"$namespace" (matches everything when the label is
absent, as in the local launcher's Prometheus) and use $__rate_interval.
"""
import json
NS = 'namespace=~"$namespace"'
RI = '$__rate_interval'
panels = []
pid = [0]
y = [0]

def nid():
    pid[0] += 1
    return pid[0]

def row(title):
    panels.append({"type": "row", "title": title, "id": nid(), "collapsed": False,
                   "gridPos": {"h": 1, "w": 24, "x": 0, "y": y[0]}, "panels": []})
    y[0] += 1

cur = {"x": 0, "h": 0}
def place(w, h):
    if cur["x"] + w > 24:
        y[0] += cur["h"]; cur["x"] = 0; cur["h"] = 0
    pos = {"h": h, "w": w, "x": cur["x"], "y": y[0]}
    cur["x"] += w; cur["h"] = max(cur["h"], h)
    return pos

def flush():
    y[0] += cur["h"]; cur["x"] = 0; cur["h"] = 0

def ts(title, desc, targets, unit="short", w=8, h=8, overrides=None, min_=None):
    defaults = {"unit": unit, "custom": {"drawStyle": "line", "lineWidth": 1, "fillOpacity": 0,
                                         "showPoints": "never", "spanNulls": True}}
    if min_ is not None: defaults["min"] = min_
    panels.append({
        "type": "timeseries", "title": title, "description": desc, "id": nid(),
        "datasource": {"type": "prometheus", "uid": "${datasource}"},
        "gridPos": place(w, h),
        "fieldConfig": {"defaults": defaults, "overrides": overrides or []},
        "options": {"legend": {"displayMode": "list", "placement": "bottom", "showLegend": True},
                    "tooltip": {"mode": "multi", "sort": "none"}},
        "targets": [{"refId": chr(65 + i), "expr": e, "legendFormat": l,
                     "datasource": {"type": "prometheus", "uid": "${datasource}"}} for i, (e, l) in enumerate(targets)],
    })

def stat(title, desc, expr, unit="short", w=4, h=4, decimals=None):
    d = {"unit": unit, "noValue": "n/a"}
    if decimals is not None: d["decimals"] = decimals
    panels.append({
        "type": "stat", "title": title, "description": desc, "id": nid(),
        "datasource": {"type": "prometheus", "uid": "${datasource}"},
        "gridPos": place(w, h),
        "fieldConfig": {"defaults": d, "overrides": []},
        "options": {"reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
                    "colorMode": "value", "graphMode": "area", "textMode": "auto"},
        "targets": [{"refId": "A", "expr": expr, "instant": False,
                     "datasource": {"type": "prometheus", "uid": "${datasource}"}}],
    })

L = lambda m: f'{m}{{{NS}}}'

row("Training (learner)")
stat("Optimiser step", "vlarft_learner_step: optimiser steps taken (max over ranks).", f'max({L("vlarft_learner_step")})')
stat("Policy version", "Newest published policy weight version.", f'max({L("vlarft_learner_policy_version")})')
stat("Reward (mean)", "Mean reward of the last step's groups, averaged over ranks.", f'avg({L("vlarft_learner_reward_mean")})', decimals=3)
stat("Success (evaluator)", "Benchmark success of the newest evaluated policy version, mean over suites "
     "(vlarft_evaluator_success_ratio, suite=all); n/a until the evaluator finished its first evaluation.",
     f'max(vlarft_evaluator_success_ratio{{suite="all",{NS}}})', unit="percentunit", decimals=1)
stat("Groups / s", "Groups trained per second during the last step (learner throughput).", f'avg({L("vlarft_learner_groups_per_second")})', decimals=2)
stat("Learner ranks up", "Learner processes answering scrapes.", f'count(up{{component="learner",{NS}}} == 1)')
flush()
ts("Reward mean ± std", "Mean reward of each step's groups with ± one within-step standard deviation (band). Rewards are "
   "negative distances to the expert's imagined trajectory: higher is better.",
   [(f'avg({L("vlarft_learner_reward_mean")})', "mean"),
    (f'avg({L("vlarft_learner_reward_mean")}) + avg({L("vlarft_learner_reward_std")})', "mean + std"),
    (f'avg({L("vlarft_learner_reward_mean")}) - avg({L("vlarft_learner_reward_std")})', "mean - std")],
   w=12, overrides=[
       {"matcher": {"id": "byName", "options": "mean + std"},
        "properties": [{"id": "custom.fillBelowTo", "value": "mean - std"}, {"id": "custom.lineWidth", "value": 0},
                       {"id": "custom.fillOpacity", "value": 20}, {"id": "custom.hideFrom", "value": {"legend": False, "tooltip": False, "viz": False}}]},
       {"matcher": {"id": "byName", "options": "mean - std"},
        "properties": [{"id": "custom.lineWidth", "value": 0}]}])
ts("Reward vs step", "Step counter next to the reward, to read the reward curve in optimiser steps.",
   [(f'max({L("vlarft_learner_step")})', "step"),
    (f'avg({L("vlarft_learner_reward_std")})', "reward std")],
   w=6, overrides=[{"matcher": {"id": "byName", "options": "step"},
                    "properties": [{"id": "custom.axisPlacement", "value": "right"}]}])
ts("Success vs baseline", "Benchmark success of each evaluated policy version (mean over suites) with its 95% "
   "interval, and the policy RFT started from on the same episodes (vlarft-evaluator). The VlarftSuccessDropped "
   "alert fires when the interval's upper end falls below the baseline.",
   [(f'max(vlarft_evaluator_success_ratio{{suite="all",{NS}}})', "success"),
    (f'max(vlarft_evaluator_success_upper{{suite="all",{NS}}})', "95% upper"),
    (f'max(vlarft_evaluator_success_lower{{suite="all",{NS}}})', "95% lower"),
    (f'max(vlarft_evaluator_base_success_ratio{{suite="all",{NS}}})', "baseline")],
   unit="percentunit", w=6, min_=0, overrides=[
       {"matcher": {"id": "byName", "options": "95% upper"},
        "properties": [{"id": "custom.fillBelowTo", "value": "95% lower"}, {"id": "custom.lineWidth", "value": 0},
                       {"id": "custom.fillOpacity", "value": 20}]},
       {"matcher": {"id": "byName", "options": "95% lower"}, "properties": [{"id": "custom.lineWidth", "value": 0}]},
       {"matcher": {"id": "byName", "options": "baseline"},
        "properties": [{"id": "custom.lineStyle", "value": {"fill": "dash", "dash": [10, 10]}}]}])
flush()
ts("Loss terms", "Total GRPO loss and its terms: clipped policy-gradient loss, auxiliary flow-matching MSE, KL to the SFT reference.",
   [(f'avg({L("vlarft_learner_loss")})', "loss"),
    (f'avg({L("vlarft_learner_policy_loss")})', "policy"),
    (f'avg({L("vlarft_learner_flow_matching_loss")})', "flow matching"),
    (f'avg({L("vlarft_learner_kl")})', "KL")], w=8)
ts("σ (SDE noise) and entropy", "Mean SDE noise scale of the policy's sampling chains and the per-dimension chain entropy. "
   "A collapsing σ means the policy stopped exploring (alert VlarftSigmaCollapse).",
   [(f'avg({L("vlarft_learner_sigma_mean")})', "sigma"),
    (f'avg({L("vlarft_learner_entropy")})', "entropy")], w=8,
   overrides=[{"matcher": {"id": "byName", "options": "entropy"},
               "properties": [{"id": "custom.axisPlacement", "value": "right"}]}])
ts("Clipping and approx. KL", "Fraction of tokens clipped / dual-clipped by the PPO-style ratio clip, and the approximate KL between the sampling and the current policy.",
   [(f'avg({L("vlarft_learner_clip_fraction")})', "clip fraction"),
    (f'avg({L("vlarft_learner_dual_clip_fraction")})', "dual-clip fraction"),
    (f'avg({L("vlarft_learner_approx_kl")})', "approx KL")], w=8)
flush()
ts("Gradient norm and learning rate", "Gradient norm before clipping; current flow-head learning rate (warm-up).",
   [(f'avg({L("vlarft_learner_grad_norm")})', "grad norm"),
    (f'avg({L("vlarft_learner_head_lr")})', "head lr")], w=8,
   overrides=[{"matcher": {"id": "byName", "options": "head lr"},
               "properties": [{"id": "custom.axisPlacement", "value": "right"}]}])
ts("Zero-variance groups", "Fraction of groups whose 16 samples got identical rewards (no GRPO signal).",
   [(f'avg({L("vlarft_learner_zero_variance_groups")})', "zero-variance groups")], unit="percentunit", w=8, min_=0)
ts("Learner step time", "Wall time of one optimiser step (p50 / p90).",
   [(f'histogram_quantile(0.5, sum by (le) (rate({L("vlarft_learner_step_seconds_bucket")}[{RI}])))', "p50"),
    (f'histogram_quantile(0.9, sum by (le) (rate({L("vlarft_learner_step_seconds_bucket")}[{RI}])))', "p90")], unit="s", w=8)
flush()

row("Benchmark success (evaluator)")
ts("Success per suite", "Benchmark success of the newest evaluated policy version in each suite (vlarft-evaluator).",
   [(f'max by (suite) (vlarft_evaluator_success_ratio{{suite!="all",{NS}}})', "{{suite}}")], unit="percentunit", w=12, min_=0)
ts("Evaluated version and duration", "Learner policy version the evaluator last evaluated, and how long that evaluation took.",
   [(f'max({L("vlarft_evaluator_policy_version")})', "version"),
    (f'max({L("vlarft_evaluator_evaluation_seconds")})', "seconds")],
   w=12, min_=0, overrides=[{"matcher": {"id": "byName", "options": "seconds"},
                             "properties": [{"id": "custom.axisPlacement", "value": "right"}, {"id": "unit", "value": "s"}]}])
flush()

row("Rollouts and staleness")
ts("Staleness (policy versions)", "How many policy versions old the trained groups were (mean and p90), and the share of submitted groups dropped as too stale.",
   [(f'sum(rate({L("vlarft_learner_staleness_versions_sum")}[{RI}])) / sum(rate({L("vlarft_learner_staleness_versions_count")}[{RI}]))', "mean"),
    (f'histogram_quantile(0.9, sum by (le) (rate({L("vlarft_learner_staleness_versions_bucket")}[{RI}])))', "p90"),
    (f'sum(rate({L("vlarft_learner_groups_dropped_stale_total")}[{RI}])) / clamp_min(sum(rate({L("vlarft_learner_groups_accepted_total")}[{RI}])) + sum(rate({L("vlarft_learner_groups_dropped_stale_total")}[{RI}])), 1e-9)', "dropped stale (fraction)")],
   w=8)
ts("Group throughput", "Groups per second: submitted by workers, accepted by the learner's intake, trained on; and the intake queue depth (right axis).",
   [(f'sum(rate({L("vlarft_rollout_groups_submitted_total")}[{RI}]))', "submitted (workers)"),
    (f'sum(rate({L("vlarft_learner_groups_accepted_total")}[{RI}]))', "accepted"),
    (f'sum(rate({L("vlarft_learner_groups_trained_total")}[{RI}]))', "trained"),
    (f'max({L("vlarft_learner_intake_queue_depth")})', "intake queue depth")], w=8,
   overrides=[{"matcher": {"id": "byName", "options": "intake queue depth"},
               "properties": [{"id": "custom.axisPlacement", "value": "right"}]}])
ts("Rollout workers", "Workers running vs the estimate of workers that keep the learner busy (learner groups/s over groups/s per worker; the rollout HPA example scales on it).",
   [(f'count(up{{component="rollout",{NS}}} == 1)', "running"),
    (f'avg({L("vlarft_learner_groups_per_second")}) / (sum(rate({L("vlarft_rollout_groups_submitted_total")}[{RI}])) / count(up{{component="rollout",{NS}}} == 1))', "needed (estimate)")],
   w=8, min_=0)
flush()
ts("Rollout stage latency (p90)", "Per-stage wall time of one group in the workers: policy sampling, simulator, reward, submit, total.",
   [(f'histogram_quantile(0.9, sum by (le, stage) (rate({L("vlarft_rollout_stage_seconds_bucket")}[{RI}])))', "{{stage}}")], unit="s", w=8)
ts("Rollout errors", "Failed stages per second in the workers, by stage.",
   [(f'sum by (stage) (rate({L("vlarft_rollout_errors_total")}[{RI}]))', "{{stage}}")], unit="reqps", w=8, min_=0)
ts("Worker policy lag", "Learner's newest version minus the oldest version a worker samples with, and the workers' mean reward.",
   [(f'max({L("vlarft_learner_policy_version")}) - min({L("vlarft_rollout_policy_version")})', "version lag"),
    (f'avg({L("vlarft_rollout_reward_mean")})', "worker reward mean")], w=8,
   overrides=[{"matcher": {"id": "byName", "options": "worker reward mean"},
               "properties": [{"id": "custom.axisPlacement", "value": "right"}]}])
flush()

row("World-model simulator and reward verifier")
ts("Simulator frames / s and tokens / s", "Imagined frames and world-model tokens generated per second (all replicas).",
   [(f'sum(rate({L("vlarft_simulator_frames_total")}[{RI}]))', "frames/s"),
    (f'sum(rate({L("vlarft_simulator_tokens_total")}[{RI}]))', "tokens/s")], w=8,
   overrides=[{"matcher": {"id": "byName", "options": "tokens/s"},
               "properties": [{"id": "custom.axisPlacement", "value": "right"}]}])
ts("Simulator batch size and queue", "Sequences per world-model batch (mean, p90) and units waiting in the admission queue.",
   [(f'sum(rate({L("vlarft_simulator_batch_size_sum")}[{RI}])) / sum(rate({L("vlarft_simulator_batch_size_count")}[{RI}]))', "batch mean"),
    (f'histogram_quantile(0.9, sum by (le) (rate({L("vlarft_simulator_batch_size_bucket")}[{RI}])))', "batch p90"),
    (f'sum({L("vlarft_simulator_queue_units")})', "queued units")], w=8)
ts("Simulator KV cache", "Bytes held by world-model KV caches (sessions and batches).",
   [(f'sum by (pod, instance) ({L("vlarft_simulator_kv_cache_bytes")})', "{{pod}}{{instance}}")], unit="bytes", w=8)
flush()
ts("RPC latency p90 by method", "Server-side latency of every RPC (vlarft_rpc_latency_seconds), by service and method.",
   [(f'histogram_quantile(0.9, sum by (le, service, method) (rate({L("vlarft_rpc_latency_seconds_bucket")}[{RI}])))', "{{service}}.{{method}}")],
   unit="s", w=8)
ts("RPC rate by status code", "Requests per second by service, method and gRPC status (RESOURCE_EXHAUSTED = backpressure).",
   [(f'sum by (service, method, code) (rate({L("vlarft_rpc_requests_total")}[{RI}]))', "{{service}}.{{method}} {{code}}")], unit="reqps", w=8)
ts("Verifier rewards and batches", "Median reward per component scored by the verifier, mean batch size, and rejected requests per second.",
   [(f'histogram_quantile(0.5, sum by (le, component) (rate({L("vlarft_reward_value_bucket")}[{RI}])))', "p50 {{component}}"),
    (f'sum(rate({L("vlarft_reward_batch_size_sum")}[{RI}])) / sum(rate({L("vlarft_reward_batch_size_count")}[{RI}]))', "batch mean"),
    (f'sum(rate({L("vlarft_reward_rejected_total")}[{RI}]))', "rejected/s")], w=8)
flush()
ts("Processes up", "1 per scraped vlarft process (0 = down: alert VlarftServiceDown).",
   [(f'sum by (component) (up{{component=~".+",{NS}}})', "{{component}}")], w=24, h=6, min_=0)
flush()

dash = {
    "__inputs": [{"name": "DS_PROMETHEUS", "label": "Prometheus", "type": "datasource", "pluginId": "prometheus", "pluginName": "Prometheus"}],
    "uid": "vlarft-rft", "title": "VLA-RFT training", "description": "Reinforcement fine-tuning of a VLA policy in a learned world model: learner, rollout workers, simulator, verifier.",
    "tags": ["vlarft"], "timezone": "", "editable": True, "graphTooltip": 1, "schemaVersion": 39, "version": 1,
    "refresh": "30s", "time": {"from": "now-6h", "to": "now"},
    "templating": {"list": [
        {"name": "datasource", "label": "Data source", "type": "datasource", "query": "prometheus", "current": {}, "hide": 0},
        {"name": "namespace", "label": "Namespace", "type": "query",
         "datasource": {"type": "prometheus", "uid": "${datasource}"},
         "query": {"query": "label_values(vlarft_learner_step, namespace)", "refId": "namespace"},
         "definition": "label_values(vlarft_learner_step, namespace)",
         "includeAll": True, "allValue": ".*", "multi": False, "refresh": 2, "current": {"text": "All", "value": "$__all"}, "hide": 0},
    ]},
    "annotations": {"list": []},
    "links": [],
    "panels": panels,
}
import sys
with open(sys.argv[1] if len(sys.argv) > 1 else "vlarft-rft.json", "w") as out:
    json.dump(dash, out, indent=2, ensure_ascii=False)
    out.write("\n")
