#include "libs/launch/process_supervisor.h"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "libs/core/file_io.h"
#include "libs/core/status.h"

namespace vlarft::launch {
namespace fs = std::filesystem;

ProcessSupervisor::ProcessSupervisor(SupervisorOptions options, Progress progress)
    : options_(std::move(options)), progress_(std::move(progress)) {
  if (!progress_) progress_ = [](const std::string&) {};
}

ProcessSupervisor::~ProcessSupervisor() { StopAll(); }

ProcessSupervisor::Id ProcessSupervisor::Add(ProcessSpec spec, int tier) {
  Process p;
  p.spec = std::move(spec);
  p.tier = tier;
  processes_.push_back(std::move(p));
  return processes_.size() - 1;
}

absl::Status ProcessSupervisor::Start(Id id, bool wait_ready) {
  Process& p = processes_[id];
  std::vector<std::string> argv = p.spec.argv;
  if (!p.spec.metrics_port_flag.empty()) {
    if (p.metrics_port == 0) {
      // Picked just before the first start (the shorter the gap before the bind, the smaller the
      // chance that another socket takes the port) and kept across restarts.
      VLARFT_ASSIGN_OR_RETURN(p.metrics_port, ports_.Pick());
    }
    argv.push_back(absl::StrCat(p.spec.metrics_port_flag, "=", p.metrics_port));
  }
  std::error_code ec;
  fs::remove(p.spec.ready_file, ec);  // a killed incarnation leaves its ready file behind
  VLARFT_ASSIGN_OR_RETURN(core::Subprocess process, core::Subprocess::Start(argv, p.spec.log, /*append=*/true));
  p.process.emplace(std::move(process));
  p.exit_code.reset();
  WriteManifest();
  VLARFT_RETURN_IF_ERROR(manifest_status_);
  if (!wait_ready) return absl::OkStatus();
  const absl::Time deadline = absl::Now() + absl::Seconds(options_.startup_timeout_s);
  while (absl::Now() < deadline) {
    if (fs::exists(p.spec.ready_file)) return absl::OkStatus();
    if (std::optional<int> code = p.process->WaitFor(absl::Milliseconds(100))) {
      Poll(id);
      // It may have become ready and then exited within the wait: ready is ready (the caller's
      // Poll sees the exit).
      if (fs::exists(p.spec.ready_file)) return absl::OkStatus();
      return absl::UnavailableError(
          absl::StrCat(p.spec.name, " exited with status ", *code, " during startup; see ", p.spec.log));
    }
  }
  return absl::DeadlineExceededError(
      absl::StrCat(p.spec.name, " not ready after ", options_.startup_timeout_s, " s; see ", p.spec.log));
}

std::optional<int> ProcessSupervisor::Poll(Id id) {
  Process& p = processes_[id];
  if (!p.process.has_value() || p.exit_code.has_value()) return p.exit_code;
  p.exit_code = p.process->WaitFor(absl::ZeroDuration());
  if (p.exit_code.has_value()) WriteManifest();
  return p.exit_code;
}

absl::Status ProcessSupervisor::Restart(Id id, bool wait_ready) {
  Process& p = processes_[id];
  const std::string why = p.exit_code.has_value() ? absl::StrCat("exited with status ", *p.exit_code)
                                                  : std::string("restarted with its group");
  if (!options_.restart_dead) {
    return absl::AbortedError(absl::StrCat(p.spec.name, " ", why, " and restart_dead is off; see ", p.spec.log));
  }
  if (++p.restarts > options_.max_restarts) {
    WriteManifest();  // the refused restart counts: operators see why the run stopped
    return absl::AbortedError(absl::StrCat(p.spec.name, " ", why, "; it was restarted ", options_.max_restarts,
                                           " times already, giving up (see ", p.spec.log, ")"));
  }
  ++restarts_;
  progress_(absl::StrCat(p.spec.name, " ", why, "; restarting (restart ", p.restarts, " of at most ",
                         options_.max_restarts, ")"));
  return Start(id, wait_ready);
}

void ProcessSupervisor::Stop(const std::vector<Id>& ids) {
  for (Id id : ids) {
    Process& p = processes_[id];
    if (p.process.has_value() && !Poll(id).has_value()) p.process->Signal(SIGTERM);
  }
  const absl::Time deadline = absl::Now() + absl::Seconds(options_.stop_grace_s);
  for (Id id : ids) {
    Process& p = processes_[id];
    if (!p.process.has_value() || p.exit_code.has_value()) continue;
    if (!p.process->WaitFor(std::max(deadline - absl::Now(), absl::ZeroDuration())).has_value()) {
      progress_(absl::StrCat(p.spec.name, " did not stop within ", options_.stop_grace_s, " s of SIGTERM; killing it"));
      p.process->Signal(SIGKILL);
      p.process->WaitFor(absl::Seconds(10));
    }
    Poll(id);
  }
}

void ProcessSupervisor::StopAll() {
  std::set<int> tiers;
  for (const Process& p : processes_) tiers.insert(p.tier);
  for (int tier : tiers) Stop(Tier(tier));
}

std::vector<ProcessSupervisor::Id> ProcessSupervisor::Tier(int tier) const {
  std::vector<Id> ids;
  for (Id id = 0; id < processes_.size(); ++id) {
    if (processes_[id].tier == tier) ids.push_back(id);
  }
  return ids;
}

std::vector<ProcessRecord> ProcessSupervisor::Records() const {
  std::vector<ProcessRecord> records;
  for (const Process& p : processes_) {
    records.push_back({p.spec.name, p.process.has_value() ? p.process->pid() : 0, p.restarts, p.exit_code, p.spec.log,
                       p.spec.ready_file});
  }
  return records;
}

void ProcessSupervisor::WriteManifest() {
  nlohmann::json manifest;
  manifest["launcher_pid"] = getpid();
  manifest["processes"] = nlohmann::json::array();
  for (const ProcessRecord& r : Records()) {
    nlohmann::json p = {{"name", r.name}, {"pid", r.pid}, {"restarts", r.restarts}, {"log", r.log},
                        {"ready_file", r.ready_file}};
    p["exit_code"] = r.exit_code.has_value() ? nlohmann::json(*r.exit_code) : nlohmann::json(nullptr);
    manifest["processes"].push_back(p);
  }
  const absl::Status written = core::WriteFileAtomically(options_.manifest_path, manifest.dump(2) + "\n");
  if (!written.ok() && manifest_status_.ok()) manifest_status_ = written;
}

absl::Status CheckCleanShutdown(const std::vector<ProcessRecord>& processes) {
  std::vector<std::string> unclean;
  for (const ProcessRecord& p : processes) {
    if (!p.exit_code.has_value()) {
      unclean.push_back(absl::StrCat(p.name, " (pid ", p.pid, ") is still running"));
    } else if (*p.exit_code != 0) {
      unclean.push_back(absl::StrCat(p.name, " exited with status ", *p.exit_code, " (see ", p.log, ")"));
    }
  }
  if (unclean.empty()) return absl::OkStatus();
  return absl::InternalError(absl::StrCat("services did not shut down cleanly: ", absl::StrJoin(unclean, "; ")));
}

}  // namespace vlarft::launch
