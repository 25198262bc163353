// Test harness for `vlarft rft`: tiny stage-1 inputs made by the real `vlarft` commands, and a run of
// the launcher as a child process together with what a test reads from it -- the launcher's process
// manifest (out_dir/run/processes.json), the services' ready files and /metrics endpoints, and
// results.json. An RftRun never leaves a process behind: its destructor stops the launcher (whose
// services follow it through --parent_pid) and SIGKILLs any service of this run still alive.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "libs/core/subprocess.h"
#include "libs/metrics/prometheus_text.h"
#include "nlohmann/json.hpp"

namespace vlarft::pipeline_testing {

// Demonstrations (one suite) and tokenizer / world-model / policy checkpoints trained for a few
// steps at a fraction of the tiny preset's width: real files in the real formats, made in seconds.
struct TinyInputs {
  std::string demos;
  std::string tokenizer;    // checkpoint stems, as `vlarft train ...` writes them
  std::string world_model;
  std::string policy;
};
absl::StatusOr<TinyInputs> MakeTinyInputs(const std::string& dir);

// One process of the run as the launcher's manifest lists it.
struct ServiceState {
  std::string name;
  int pid = 0;
  int restarts = 0;
  std::optional<int> exit_code;  // nullopt while running
  std::string log;
  std::string ready_file;
};

class RftRun {
 public:
  // Starts `vlarft rft --config configs/tiny.yaml` on `inputs` with out_dir `out_dir`, a short
  // evaluation, small groups, and `overrides` (--set key=value, applied last).
  static absl::StatusOr<std::unique_ptr<RftRun>> Start(const TinyInputs& inputs, const std::string& out_dir,
                                                       const std::vector<std::string>& overrides);
  ~RftRun();

  const std::string& out_dir() const { return out_dir_; }
  bool running() { return launcher_.running(); }
  // The launcher's exit status once it exits within `timeout`.
  std::optional<int> WaitForExit(absl::Duration timeout) { return launcher_.WaitFor(timeout); }

  // The manifest's processes by name; every pid seen is remembered for LivePids().
  absl::StatusOr<std::map<std::string, ServiceState>> Processes();
  // Waits until `name` runs with at least `min_restarts` restarts and has written its ready file.
  absl::StatusOr<ServiceState> WaitForService(const std::string& name, int min_restarts, absl::Duration timeout);
  // The /metrics samples of the running incarnation of `name`.
  absl::StatusOr<std::vector<metrics::Sample>> Scrape(const std::string& name);
  // Polls rank 0's vlarft_learner_step until it reaches `step`.
  absl::Status WaitForLearnerStep(double step, absl::Duration timeout);
  absl::StatusOr<nlohmann::json> Results() const;

  // Pids this run ever listed that still exist (zombies excluded) after waiting up to `timeout`.
  std::vector<int> LivePids(absl::Duration timeout);
  // Everything `vlarft rft` printed so far.
  std::string LauncherOutput() const { return launcher_.ReadLog(); }
  // The launcher's output and the tail of every service log, for failure messages.
  std::string Diagnostics() const;

 private:
  RftRun(core::Subprocess launcher, std::string out_dir) : launcher_(std::move(launcher)), out_dir_(std::move(out_dir)) {}

  core::Subprocess launcher_;
  std::string out_dir_;
  std::set<int> seen_pids_;
};

}  // namespace vlarft::pipeline_testing
