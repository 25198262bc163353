// `vlarft rft`: the local, one-machine launch of the services (docs/operations.md, "Run on one
// machine"): simulator, reward verifier, learner ranks, rollout workers and, with a success probe,
// the evaluator, on loopback with free ports, supervised by launch::ProcessSupervisor (libs/launch:
// starting, ready files, restarts, ordered shutdown, the manifest; this file decides what runs and
// follows the learner over gRPC) (a crashed worker, simulator, verifier or
// evaluator is restarted; a dead learner rank restarts all ranks, which resume from their
// checkpoint), with a progress line per step, until the learner finishes; then every process is
// stopped with SIGTERM (SIGKILL after a grace period) and its exit status kept.
//
// Files under out_dir: logs/<name>.log (appended across restarts), run/<name>.ready (each service's
// own ready file: pid, port, metrics_port), run/processes.json, rewritten whenever a process starts
// or stops: {"launcher_pid": P, "processes": [{"name", "pid", "restarts", "exit_code" (null while
// running), "log", "ready_file"}]} -- how operators and tests find the children -- and
// prometheus.yml + prometheus_targets.json for a local Prometheus (metrics ports are fixed per
// process, so restarts keep them). The services are started with --parent_pid, so they shut down
// by themselves if the launcher dies.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "libs/launch/process_supervisor.h"
#include "libs/evaluation/success_probe.h"

namespace vlarft::cli {

struct RftLaunchConfig {
  int64_t learner_ranks = 2;
  int64_t rollout_workers = 2;
  std::string bin_dir;            // where vlarft-simulator etc. live (default: next to vlarft)
  std::string out_dir = "out/rft";
  double startup_timeout_s = 300;
  int64_t max_restarts = 5;       // per process, then the run fails
  bool restart_dead = true;
  double stop_grace_s = 30;       // after SIGTERM, before SIGKILL
  // Filled in as out_dir/prometheus.yml next to out_dir/prometheus_targets.json (docs/operations.md
  // "Run on one machine"); empty = write neither.
  std::string prometheus_template = "deploy/prometheus/local-scrape.yml.tmpl";
  std::string scrape_interval = "5s";

  template <typename V>
  void VisitFields(V& v) {
    v.Field("learner_ranks", learner_ranks, "learner processes (c10d ranks)");
    v.Field("rollout_workers", rollout_workers, "rollout worker processes");
    v.Field("bin_dir", bin_dir, "directory of the service binaries (default: next to vlarft)");
    v.Field("out_dir", out_dir, "logs, ready files, checkpoints and results go here");
    v.Field("startup_timeout_s", startup_timeout_s, "how long a service may take to become ready");
    v.Field("max_restarts", max_restarts, "restarts per process before the run is abandoned");
    v.Field("restart_dead", restart_dead, "restart processes that die during the run");
    v.Field("stop_grace_s", stop_grace_s, "seconds a process gets to exit after SIGTERM before SIGKILL");
    v.Field("prometheus_template", prometheus_template,
            "scrape config template written as out_dir/prometheus.yml with a targets file (empty = none)");
    v.Field("scrape_interval", scrape_interval, "Prometheus scrape interval in prometheus.yml");
  }
};

struct RftStepRecord {
  int64_t step = 0;
  double reward_mean = 0;
  double seconds = 0;  // since the launch
};

// One supervised process (its newest incarnation): libs/launch/process_supervisor.h.
using RftProcessRecord = launch::ProcessRecord;

struct RftRunResult {
  std::vector<RftStepRecord> steps;
  double seconds = 0;
  int64_t restarts = 0;
  // Steps trained and then thrown away because a restarted learner resumed from an older checkpoint
  // (as observed by the launcher's status polls: a lower bound).
  int64_t lost_steps = 0;
  std::string final_policy_dir;  // the learner's checkpoint directory
  std::vector<RftProcessRecord> processes;  // after the shutdown, with exit codes
};

// OK when every process exited with status 0 at the end of the run; otherwise INTERNAL naming each
// process, its status and its log.
using launch::CheckCleanShutdown;

// Rollout worker w samples with the root seed 1000 * rollout.seed + w (rollout.seed default 1, so
// workers 1000, 1001, ...). Each worker needs its own root — it also picks the worker's prompt
// sequence, and two workers with one seed would train on the same prompts — and another
// rollout.seed must give the whole run other prompts and noise (the launcher once overrode it with
// 1000 + worker, silently).
inline constexpr uint64_t kRolloutSeedStride = 1000;
inline constexpr uint64_t RolloutWorkerSeed(uint64_t rollout_seed, int64_t worker) {
  return kRolloutSeedStride * rollout_seed + static_cast<uint64_t>(worker);
}

// rollout.seed as the document says (config file + overrides), checked for `workers` workers.
// Errors name the key: a rollout.seed that is not an unsigned integer or too large, more than 1000
// workers.
absl::StatusOr<uint64_t> RolloutRootSeed(const std::string& config_file, const std::vector<std::string>& overrides,
                                         int64_t workers);

// Launches, supervises and stops the services. `config_file` is the YAML document every service
// reads its section from; `overrides` are extra `--set` assignments for all of them. With a `probe`
// the launcher also runs vlarft-evaluator (its `evaluator:` section, appending to
// probe->results_file()), polls the probe from the supervision loop (its latest estimate goes into
// the progress line) and, once training finished, waits for the final version's evaluation.
absl::StatusOr<RftRunResult> LaunchRft(const RftLaunchConfig& launch, const std::string& config_file,
                                       const std::vector<std::string>& overrides,
                                       const std::function<void(const std::string&)>& progress,
                                       evaluation::SuccessProbe* probe = nullptr);

}  // namespace vlarft::cli
