// Supervised child processes for one-machine launches (docs/operations.md, "Run on one machine"):
// start a process and wait for its ready file, notice that it exited, restart it within a budget,
// stop groups of processes with SIGTERM then SIGKILL, and keep a manifest (JSON) of every process
// for operators and tests. Transport-free: what the processes are and how to ask them about their
// work is the caller's business (`vlarft rft` in tools/vlarft/rft_launcher.cc is one caller).
//
// Manifest, rewritten whenever a process starts or is seen to exit:
//   {"launcher_pid": P, "processes": [{"name", "pid", "restarts", "exit_code" (null while running),
//    "log", "ready_file"}]}
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "libs/core/loopback_port_picker.h"
#include "libs/core/subprocess.h"
#include "nlohmann/json.hpp"

namespace vlarft::launch {

struct SupervisorOptions {
  std::string manifest_path;      // where the manifest is written (required)
  double startup_timeout_s = 300; // how long a process may take to write its ready file
  int64_t max_restarts = 5;       // per process; one more exit fails the run
  bool restart_dead = true;       // false: any exit during the run fails it
  double stop_grace_s = 30;       // after SIGTERM, before SIGKILL
};

struct ProcessSpec {
  std::string name;        // unique: "simulator", "learner-rank0", ...
  std::vector<std::string> argv;
  std::string ready_file;  // the process writes it once serving (removed before every start)
  std::string log;         // stdout + stderr, appended across restarts
  // Non-empty: a loopback port is picked at the first start and passed as "<flag>=<port>"; it is
  // kept across restarts (so scrape targets stay valid).
  std::string metrics_port_flag;
  nlohmann::json labels;   // the caller's (e.g. Prometheus target labels)
};

// One process as the manifest and the run's results describe it (its newest incarnation).
struct ProcessRecord {
  std::string name;
  int64_t pid = 0;
  int64_t restarts = 0;
  std::optional<int> exit_code;  // once stopped: WEXITSTATUS, or 128 + signal
  std::string log;
  std::string ready_file;
};

class ProcessSupervisor {
 public:
  using Progress = std::function<void(const std::string&)>;
  using Id = size_t;

  ProcessSupervisor(SupervisorOptions options, Progress progress);
  ~ProcessSupervisor();  // stops everything still running (StopAll)
  ProcessSupervisor(const ProcessSupervisor&) = delete;
  ProcessSupervisor& operator=(const ProcessSupervisor&) = delete;

  // Registers a process (not started). `tier` orders shutdown: StopAll stops tier 0 first.
  Id Add(ProcessSpec spec, int tier);

  // Starts it; with `wait_ready`, waits for its ready file (UNAVAILABLE naming the log if it exits
  // first, DEADLINE_EXCEEDED after startup_timeout_s).
  absl::Status Start(Id id, bool wait_ready);
  // The exit status of its newest incarnation if it has exited (reaping it), else nullopt.
  std::optional<int> Poll(Id id);
  // Starts it again, within the restart budget: ABORTED (naming the process, why and its log) when
  // restart_dead is off or the budget is spent.
  absl::Status Restart(Id id, bool wait_ready);
  // SIGTERM to every running member at once, then up to stop_grace_s for all of them; stragglers
  // get SIGKILL (their status then reads 137: not a clean shutdown).
  void Stop(const std::vector<Id>& ids);
  // Every tier in order, each with Stop.
  void StopAll();

  const ProcessSpec& spec(Id id) const { return processes_[id].spec; }
  int metrics_port(Id id) const { return processes_[id].metrics_port; }
  std::vector<Id> Tier(int tier) const;
  std::vector<ProcessRecord> Records() const;  // in the order added
  int64_t restarts() const { return restarts_; }
  // The first failure to write the manifest (OK if none).
  const absl::Status& manifest_status() const { return manifest_status_; }
  // Ports for the caller's servers, never one this supervisor handed out before.
  core::LoopbackPortPicker& ports() { return ports_; }

 private:
  struct Process {
    ProcessSpec spec;
    int tier = 0;
    int metrics_port = 0;
    std::optional<core::Subprocess> process;  // the newest incarnation (kept after it exits, for its pid)
    std::optional<int> exit_code;
    int64_t restarts = 0;
  };
  void WriteManifest();

  SupervisorOptions options_;
  Progress progress_;
  std::vector<Process> processes_;
  core::LoopbackPortPicker ports_;
  int64_t restarts_ = 0;
  absl::Status manifest_status_;
};

// OK when every process exited with status 0; otherwise INTERNAL naming each process, its status and
// its log.
absl::Status CheckCleanShutdown(const std::vector<ProcessRecord>& processes);

}  // namespace vlarft::launch
