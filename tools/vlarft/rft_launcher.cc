#include "tools/vlarft/rft_launcher.h"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <memory>
#include <optional>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "libs/core/clock_format.h"
#include "libs/core/loopback_port_picker.h"
#include "libs/core/status.h"
#include "libs/core/subprocess.h"
#include "nlohmann/json.hpp"
#include "services/common/client.h"
#include "services/common/service_server.h"
#include "vlarft/v1/learner.grpc.pb.h"

namespace vlarft::cli {
namespace fs = std::filesystem;
namespace {

struct ServiceProcess {
  std::string name;
  nlohmann::json labels;  // Prometheus target labels: component, rank / worker
  int metrics_port = 0;   // chosen at the first start
  std::vector<std::string> argv;
  std::string ready_file;
  std::string log;
  std::optional<core::Subprocess> process;  // the newest incarnation (kept after it exits, for its pid)
  std::optional<int> exit_code;             // of the newest incarnation, once reaped
  int64_t restarts = 0;
};

class Launch {
 public:
  Launch(const RftLaunchConfig& config, std::string manifest, std::function<void(const std::string&)> progress)
      : config_(config), manifest_(std::move(manifest)), progress_(std::move(progress)) {}

  ~Launch() { StopAll(); }

  absl::Status Start(ServiceProcess& service, bool wait_ready) {
    if (service.metrics_port == 0) {
      // Picked just before the first start (the shorter the gap before the bind, the smaller the
      // chance that another socket takes the port) and kept across restarts, so Prometheus targets
      // stay valid.
      VLARFT_ASSIGN_OR_RETURN(service.metrics_port, ports_.Pick());
      service.argv.push_back(absl::StrCat("--metrics_port=", service.metrics_port));
    }
    std::error_code ec;
    fs::remove(service.ready_file, ec);  // a killed incarnation leaves its ready file behind
    VLARFT_ASSIGN_OR_RETURN(core::Subprocess process, core::Subprocess::Start(service.argv, service.log, /*append=*/true));
    service.process.emplace(std::move(process));
    service.exit_code.reset();
    WriteManifest();
    VLARFT_RETURN_IF_ERROR(manifest_status_);
    if (!wait_ready) return absl::OkStatus();
    const absl::Time deadline = absl::Now() + absl::Seconds(config_.startup_timeout_s);
    while (absl::Now() < deadline) {
      if (fs::exists(service.ready_file)) return absl::OkStatus();
      if (std::optional<int> code = service.process->WaitFor(absl::Milliseconds(100))) {
        Poll(service);
        return absl::UnavailableError(absl::StrCat(service.name, " exited with status ", *code,
                                                   " during startup; see ", service.log));
      }
    }
    return absl::DeadlineExceededError(absl::StrCat(service.name, " not ready after ", config_.startup_timeout_s,
                                                    " s; see ", service.log));
  }

  // The exit status of the newest incarnation if it has exited (reaping it), else nullopt.
  std::optional<int> Poll(ServiceProcess& service) {
    if (!service.process.has_value() || service.exit_code.has_value()) return service.exit_code;
    service.exit_code = service.process->WaitFor(absl::ZeroDuration());
    if (service.exit_code.has_value()) WriteManifest();
    return service.exit_code;
  }

  // Restarts a process that exited, within the restart budget.
  absl::Status Restart(ServiceProcess& service, bool wait_ready) {
    const std::string why = service.exit_code.has_value() ? absl::StrCat("exited with status ", *service.exit_code)
                                                          : std::string("restarted with its learner group");
    if (!config_.restart_dead) {
      return absl::AbortedError(absl::StrCat(service.name, " ", why, " and restart_dead is off; see ", service.log));
    }
    if (++service.restarts > config_.max_restarts) {
      return absl::AbortedError(absl::StrCat(service.name, " ", why, "; it was restarted ", config_.max_restarts,
                                             " times already, giving up (see ", service.log, ")"));
    }
    ++restarts_;
    progress_(absl::StrCat(service.name, " ", why, "; restarting (restart ", service.restarts, " of at most ",
                           config_.max_restarts, ")"));
    return Start(service, wait_ready);
  }

  // SIGTERM to every running member at once, then up to stop_grace_s for all of them to exit;
  // stragglers get SIGKILL (their status then reads 137: not a clean shutdown).
  void StopGroup(std::vector<ServiceProcess>& group) {
    for (ServiceProcess& s : group) {
      if (s.process.has_value() && !Poll(s).has_value()) s.process->Signal(SIGTERM);
    }
    const absl::Time deadline = absl::Now() + absl::Seconds(config_.stop_grace_s);
    for (ServiceProcess& s : group) {
      if (!s.process.has_value() || s.exit_code.has_value()) continue;
      if (!s.process->WaitFor(std::max(deadline - absl::Now(), absl::ZeroDuration())).has_value()) {
        progress_(absl::StrCat(s.name, " did not stop within ", config_.stop_grace_s, " s of SIGTERM; killing it"));
        s.process->Signal(SIGKILL);
        s.process->WaitFor(absl::Seconds(10));
      }
      Poll(s);
    }
  }

  // Clients first (workers, the evaluator), then the learner, then the servers they all talk to.
  void StopAll() {
    for (auto* group : {&workers_, &evaluators_, &learners_, &servers_}) StopGroup(*group);
  }

  std::vector<RftProcessRecord> Records() const {
    std::vector<RftProcessRecord> records;
    for (const auto* group : {&servers_, &learners_, &workers_, &evaluators_}) {
      for (const ServiceProcess& s : *group) {
        records.push_back({s.name, s.process.has_value() ? s.process->pid() : 0, s.restarts, s.exit_code, s.log,
                           s.ready_file});
      }
    }
    return records;
  }

  void WriteManifest() {
    nlohmann::json manifest;
    manifest["launcher_pid"] = getpid();
    manifest["processes"] = nlohmann::json::array();
    for (const RftProcessRecord& r : Records()) {
      nlohmann::json p = {{"name", r.name}, {"pid", r.pid}, {"restarts", r.restarts}, {"log", r.log},
                          {"ready_file", r.ready_file}};
      p["exit_code"] = r.exit_code.has_value() ? nlohmann::json(*r.exit_code) : nlohmann::json(nullptr);
      manifest["processes"].push_back(p);
    }
    const absl::Status written = services::WriteFileAtomically(manifest_, manifest.dump(2) + "\n");
    if (!written.ok() && manifest_status_.ok()) manifest_status_ = written;
  }

  const RftLaunchConfig& config_;
  const std::string manifest_;
  std::function<void(const std::string&)> progress_;
  absl::Status manifest_status_;  // the first failure to write the manifest
  core::LoopbackPortPicker ports_;  // every port this launch hands out, so no two servers share one
  int64_t restarts_ = 0;
  std::vector<ServiceProcess> servers_;   // simulator, reward
  std::vector<ServiceProcess> learners_;  // rank 0 .. R-1
  std::vector<ServiceProcess> workers_;
  std::vector<ServiceProcess> evaluators_;  // vlarft-evaluator, when a success probe follows it
};

// out_dir/prometheus.yml from the template and out_dir/prometheus_targets.json (file_sd format) with
// one target per process, labelled like the Kubernetes monitors label them.
absl::Status WritePrometheusFiles(const RftLaunchConfig& config, const fs::path& out,
                                  const std::vector<const std::vector<ServiceProcess>*>& groups) {
  if (config.prometheus_template.empty()) return absl::OkStatus();
  absl::StatusOr<std::string> read = services::ReadSmallFile(config.prometheus_template);
  if (!read.ok()) {
    return absl::Status(read.status().code(),
                        absl::StrCat("Prometheus template: ", read.status().message(),
                                     " (run from the repository root, or set rft.launch.prometheus_template, empty "
                                     "to skip)"));
  }
  std::string scrape = *std::move(read);
  const fs::path targets_file = out / "prometheus_targets.json";
  absl::StrReplaceAll({{"@SCRAPE_INTERVAL@", config.scrape_interval},
                       {"@TARGETS_FILE@", targets_file.string()},
                       {"@RUN_NAME@", out.filename().string()}},
                      &scrape);
  nlohmann::json targets = nlohmann::json::array();
  for (const std::vector<ServiceProcess>* group : groups) {
    for (const ServiceProcess& s : *group) {
      targets.push_back({{"targets", {absl::StrCat("127.0.0.1:", s.metrics_port)}}, {"labels", s.labels}});
    }
  }
  VLARFT_RETURN_IF_ERROR(services::WriteFileAtomically(targets_file.string(), targets.dump(2) + "\n"));
  return services::WriteFileAtomically((out / "prometheus.yml").string(), scrape);
}

}  // namespace

absl::Status CheckCleanShutdown(const std::vector<RftProcessRecord>& processes) {
  std::vector<std::string> unclean;
  for (const RftProcessRecord& p : processes) {
    if (!p.exit_code.has_value()) {
      unclean.push_back(absl::StrCat(p.name, " (pid ", p.pid, ") is still running"));
    } else if (*p.exit_code != 0) {
      unclean.push_back(absl::StrCat(p.name, " exited with status ", *p.exit_code, " (see ", p.log, ")"));
    }
  }
  if (unclean.empty()) return absl::OkStatus();
  return absl::InternalError(absl::StrCat("services did not shut down cleanly: ", absl::StrJoin(unclean, "; ")));
}

absl::StatusOr<RftRunResult> LaunchRft(const RftLaunchConfig& config, const std::string& config_file,
                                       const std::vector<std::string>& overrides,
                                       const std::function<void(const std::string&)>& progress, SuccessProbe* probe) {
  if (config.learner_ranks < 1 || config.rollout_workers < 1) {
    return absl::InvalidArgumentError("learner_ranks and rollout_workers must be >= 1");
  }
  std::string bin_dir = config.bin_dir;
  if (bin_dir.empty()) bin_dir = fs::read_symlink("/proc/self/exe").parent_path().string();
  for (const char* binary : {"vlarft-simulator", "vlarft-reward", "vlarft-learner", "vlarft-rollout", "vlarft-evaluator"}) {
    if (!fs::exists(fs::path(bin_dir) / binary)) {
      return absl::NotFoundError(absl::StrCat(binary, " not found in ", bin_dir, " (build the services, or set bin_dir)"));
    }
  }
  const fs::path out = fs::absolute(config.out_dir);
  fs::create_directories(out / "logs");
  fs::create_directories(out / "run");

  Launch launch(config, (out / "run" / "processes.json").string(), progress);
  VLARFT_ASSIGN_OR_RETURN(const int simulator_port, launch.ports_.Pick());
  VLARFT_ASSIGN_OR_RETURN(const int reward_port, launch.ports_.Pick());
  VLARFT_ASSIGN_OR_RETURN(const int learner_port, launch.ports_.Pick());
  VLARFT_ASSIGN_OR_RETURN(const int store_port, launch.ports_.Pick());

  auto common = [&](const std::string& binary, const std::string& name, int port,
                    nlohmann::json labels) -> absl::StatusOr<ServiceProcess> {
    ServiceProcess s;
    s.name = name;
    s.labels = std::move(labels);
    s.ready_file = (out / "run" / (name + ".ready")).string();
    s.log = (out / "logs" / (name + ".log")).string();
    s.argv = {(fs::path(bin_dir) / binary).string(), "--host=127.0.0.1", "--metrics_host=127.0.0.1",
              absl::StrCat("--port=", port),
              "--ready_file=" + s.ready_file, "--shutdown_grace_s=5", absl::StrCat("--parent_pid=", getpid())};
    if (!config_file.empty()) s.argv.push_back("--config=" + config_file);
    for (const std::string& o : overrides) s.argv.push_back("--set=" + o);
    return s;
  };

  VLARFT_ASSIGN_OR_RETURN(ServiceProcess simulator,
                          common("vlarft-simulator", "simulator", simulator_port, {{"component", "simulator"}}));
  VLARFT_ASSIGN_OR_RETURN(ServiceProcess reward, common("vlarft-reward", "reward", reward_port, {{"component", "reward"}}));
  launch.servers_.push_back(std::move(simulator));
  launch.servers_.push_back(std::move(reward));
  // Every process gets a picked port, none binds port 0: a bind(0) may take a port picked for a
  // server that has not started yet (rank 1 starts before rank 0).
  for (int64_t r = 0; r < config.learner_ranks; ++r) {
    int rank_port = learner_port;
    if (r > 0) {
      VLARFT_ASSIGN_OR_RETURN(rank_port, launch.ports_.Pick());
    }
    VLARFT_ASSIGN_OR_RETURN(ServiceProcess learner,
                            common("vlarft-learner", absl::StrCat("learner-rank", r), rank_port,
                                   {{"component", "learner"}, {"rank", absl::StrCat(r)}}));
    for (const std::string& s :
         {absl::StrCat("learner.distributed.rank=", r), absl::StrCat("learner.distributed.world_size=", config.learner_ranks),
          absl::StrCat("learner.distributed.master_port=", store_port),
          // Explicit, so a MASTER_ADDR in the user's environment (read by the learner) cannot send the
          // local ranks elsewhere.
          std::string("learner.distributed.master_addr=127.0.0.1"),
          "learner.checkpoint_dir=" + (out / "learner").string(), std::string("learner.exit_when_finished=false")}) {
      learner.argv.push_back("--set=" + s);
    }
    launch.learners_.push_back(std::move(learner));
  }
  for (int64_t w = 0; w < config.rollout_workers; ++w) {
    VLARFT_ASSIGN_OR_RETURN(const int worker_port, launch.ports_.Pick());
    VLARFT_ASSIGN_OR_RETURN(ServiceProcess worker, common("vlarft-rollout", absl::StrCat("rollout-", w), worker_port,
                                                         {{"component", "rollout"}, {"worker", absl::StrCat(w)}}));
    for (const std::string& s : {absl::StrCat("rollout.worker_id=worker-", w), absl::StrCat("rollout.seed=", 1000 + w),
                                 absl::StrCat("rollout.learner.target=127.0.0.1:", learner_port),
                                 absl::StrCat("rollout.simulator.target=127.0.0.1:", simulator_port),
                                 absl::StrCat("rollout.reward.target=127.0.0.1:", reward_port)}) {
      worker.argv.push_back("--set=" + s);
    }
    launch.workers_.push_back(std::move(worker));
  }
  if (probe != nullptr) {
    // The success probe follows the evaluator a cluster runs (docs/operations.md, "Measuring success
    // on a cluster"), fed by the same learner through its weight stream.
    VLARFT_ASSIGN_OR_RETURN(const int evaluator_port, launch.ports_.Pick());
    VLARFT_ASSIGN_OR_RETURN(ServiceProcess evaluator,
                            common("vlarft-evaluator", "evaluator", evaluator_port, {{"component", "evaluator"}}));
    for (const std::string& s : {absl::StrCat("evaluator.learner.target=127.0.0.1:", learner_port),
                                 "evaluator.results_file=" + probe->results_file()}) {
      evaluator.argv.push_back("--set=" + s);
    }
    launch.evaluators_.push_back(std::move(evaluator));
  }

  const auto start = std::chrono::steady_clock::now();
  auto elapsed = [&] { return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(); };
  for (ServiceProcess& s : launch.servers_) VLARFT_RETURN_IF_ERROR(launch.Start(s, /*wait_ready=*/true));
  // All ranks start together (they rendezvous), so only rank 0's readiness is awaited.
  for (size_t r = launch.learners_.size(); r-- > 0;) VLARFT_RETURN_IF_ERROR(launch.Start(launch.learners_[r], r == 0));
  for (ServiceProcess& s : launch.workers_) VLARFT_RETURN_IF_ERROR(launch.Start(s, /*wait_ready=*/true));
  for (ServiceProcess& s : launch.evaluators_) VLARFT_RETURN_IF_ERROR(launch.Start(s, /*wait_ready=*/true));
  VLARFT_RETURN_IF_ERROR(WritePrometheusFiles(
      config, out, {&launch.servers_, &launch.learners_, &launch.workers_, &launch.evaluators_}));
  progress(absl::StrFormat("services up in %.0f s: simulator :%d, reward :%d, learner :%d (%d ranks), %d rollout workers; logs in %s",
                           elapsed(), simulator_port, reward_port, learner_port, config.learner_ranks,
                           config.rollout_workers, (out / "logs").string()));

  services::ClientOptions learner_client;
  learner_client.target = absl::StrCat("127.0.0.1:", learner_port);
  VLARFT_ASSIGN_OR_RETURN(auto channel, services::MakeChannel(learner_client));
  auto stub = v1::Learner::NewStub(channel);

  RftRunResult result;
  result.final_policy_dir = (out / "learner").string();
  int64_t last_step = -1, first_step = -1;
  double first_step_time = 0;
  std::vector<bool> worker_done(launch.workers_.size(), false);
  while (true) {
    // Supervision. Servers are always restarted; learner ranks restart together (a c10d group cannot
    // be rejoined) and resume from the checkpoint; a worker that exits 0 has seen the learner finish.
    for (auto* group : {&launch.servers_, &launch.evaluators_}) {
      for (ServiceProcess& s : *group) {
        if (launch.Poll(s).has_value()) VLARFT_RETURN_IF_ERROR(launch.Restart(s, true));
      }
    }
    bool learner_died = false;
    for (ServiceProcess& s : launch.learners_) learner_died |= launch.Poll(s).has_value();
    if (learner_died) {
      launch.StopGroup(launch.learners_);
      for (size_t r = launch.learners_.size(); r-- > 0;) VLARFT_RETURN_IF_ERROR(launch.Restart(launch.learners_[r], r == 0));
    }
    for (size_t w = 0; w < launch.workers_.size(); ++w) {
      ServiceProcess& s = launch.workers_[w];
      const std::optional<int> code = launch.Poll(s);
      if (!code.has_value()) continue;
      if (*code != 0) {
        VLARFT_RETURN_IF_ERROR(launch.Restart(s, false));
      } else if (!worker_done[w]) {
        worker_done[w] = true;
        progress(s.name + " exited with status 0 (a worker does so once the learner is done, or on SIGTERM); "
                          "not restarted");
      }
    }

    if (probe != nullptr) probe->Poll(progress);

    v1::LearnerStatus status;
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    if (stub->GetStatus(&context, {}, &status).ok()) {
      if (status.step() != last_step) {
        if (status.step() < last_step) {
          // A restarted learner resumed from its last checkpoint: the steps after it are redone, so
          // they leave the curve and are counted as lost.
          result.lost_steps += last_step - status.step();
          while (!result.steps.empty() && result.steps.back().step > status.step()) result.steps.pop_back();
          progress(absl::StrFormat("the learner resumed at step %d after reaching step %d: %d steps lost "
                                   "(learner.checkpoint_every bounds the loss)",
                                   status.step(), last_step, last_step - status.step()));
        }
        last_step = status.step();
        if (first_step < 0) {
          first_step = last_step;
          first_step_time = elapsed();
        }
        // Step 0 is the untrained start: no groups have been scored yet, so it has no reward.
        if (status.step() > 0) result.steps.push_back({status.step(), status.last_reward_mean(), elapsed()});
        const double minutes = (elapsed() - first_step_time) / 60.0;
        const double rate = minutes > 0 ? (last_step - first_step) / minutes : 0;
        const double eta = rate > 0 ? (status.max_steps() - last_step) / rate * 60.0 : 0;
        std::string success = "?";
        if (const std::optional<SuccessEstimate> latest = probe ? probe->latest() : std::nullopt) {
          success = absl::StrFormat("%.1f%% (step %d)", 100 * latest->success.rate, latest->step);
        }
        progress(absl::StrFormat("step %d/%d  reward_mean %+.4f  success~ %s  %.2f steps/min  elapsed %s  ETA %s",
                                 status.step(), status.max_steps(), status.last_reward_mean(), success, rate,
                                 core::FormatClock(elapsed()), rate > 0 ? core::FormatClock(eta) : std::string("?")));
      }
      if (status.finished()) break;
    }
    absl::SleepFor(absl::Milliseconds(500));
  }
  // The curve ends at the final step: the evaluator gets until the startup timeout to evaluate the
  // final version (the learner keeps serving it until it is stopped).
  if (probe != nullptr && last_step >= 0) {
    const absl::Time deadline = absl::Now() + absl::Seconds(config.startup_timeout_s);
    progress(absl::StrFormat("waiting for the evaluator to evaluate the final version %d", last_step));
    while (absl::Now() < deadline) {
      probe->Poll(progress);
      const std::optional<SuccessEstimate> latest = probe->latest();
      if (latest.has_value() && latest->step >= last_step) break;
      if (launch.Poll(launch.evaluators_.front()).has_value()) {
        progress("the evaluator exited before evaluating the final version");
        break;
      }
      absl::SleepFor(absl::Milliseconds(500));
    }
  }
  // Close the launcher's own connection first: the learner's graceful shutdown would otherwise wait
  // out its grace period for this idle client.
  stub.reset();
  channel.reset();
  progress("training finished; stopping the services");
  launch.StopAll();
  result.seconds = elapsed();
  result.restarts = launch.restarts_;
  result.processes = launch.Records();
  VLARFT_RETURN_IF_ERROR(launch.manifest_status_);
  return result;
}

}  // namespace vlarft::cli
