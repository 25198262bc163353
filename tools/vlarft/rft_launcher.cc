#include "tools/vlarft/rft_launcher.h"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <limits>
#include <memory>
#include <optional>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "libs/core/file_io.h"
#include "libs/core/clock_format.h"
#include "libs/core/status.h"
#include "libs/launch/process_supervisor.h"
#include "nlohmann/json.hpp"
#include "services/common/client.h"
#include "services/common/service_server.h"
#include "tools/vlarft/config_document.h"
#include "vlarft/v1/learner.grpc.pb.h"

namespace vlarft::cli {
namespace fs = std::filesystem;
namespace {

// Shutdown tiers: clients first (workers, the evaluator), then the learner, then the servers they
// all talk to.
enum Tier : int { kWorkers = 0, kEvaluators = 1, kLearners = 2, kServers = 3 };

// out_dir/prometheus.yml from the template and out_dir/prometheus_targets.json (file_sd format) with
// one target per process, labelled like the Kubernetes monitors label them.
absl::Status WritePrometheusFiles(const RftLaunchConfig& config, const fs::path& out,
                                  const launch::ProcessSupervisor& supervisor, size_t processes) {
  if (config.prometheus_template.empty()) return absl::OkStatus();
  absl::StatusOr<std::string> read = core::ReadFileToString(config.prometheus_template);
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
  for (launch::ProcessSupervisor::Id id = 0; id < processes; ++id) {
    targets.push_back({{"targets", {absl::StrCat("127.0.0.1:", supervisor.metrics_port(id))}},
                       {"labels", supervisor.spec(id).labels}});
  }
  VLARFT_RETURN_IF_ERROR(core::WriteFileAtomically(targets_file.string(), targets.dump(2) + "\n"));
  return core::WriteFileAtomically((out / "prometheus.yml").string(), scrape);
}

using Progress = std::function<void(const std::string&)>;

// One `vlarft rft` run, in the order it happens: describe every process (AddProcesses), start them
// tier by tier (StartAll), then supervise and follow the learner until it finishes
// (SuperviseAndFollow, once per poll), give the evaluator time for the final version
// (AwaitFinalEvaluation), and stop everything (Stop).
class RftRun {
 public:
  RftRun(const RftLaunchConfig& config, std::string bin_dir, fs::path out, const std::string& config_file,
         const std::vector<std::string>& overrides, const Progress& progress, evaluation::SuccessProbe* probe)
      : config_(config),
        bin_dir_(std::move(bin_dir)),
        out_(std::move(out)),
        config_file_(config_file),
        overrides_(overrides),
        progress_(progress),
        probe_(probe),
        supervisor_(SupervisorOptionsFor(config, out_), progress),
        start_(std::chrono::steady_clock::now()) {
    result_.final_policy_dir = (out_ / "learner").string();
  }

  absl::Status AddProcesses();
  absl::Status StartAll();
  // One poll: restarts what died (each tier by its rule), reads the learner's status and reports a
  // new step. True once the learner says it has finished.
  absl::StatusOr<bool> SuperviseAndFollow();
  void AwaitFinalEvaluation();
  absl::StatusOr<RftRunResult> Stop();

 private:
  static launch::SupervisorOptions SupervisorOptionsFor(const RftLaunchConfig& config, const fs::path& out) {
    launch::SupervisorOptions o;
    o.manifest_path = (out / "run" / "processes.json").string();
    o.startup_timeout_s = config.startup_timeout_s;
    o.max_restarts = config.max_restarts;
    o.restart_dead = config.restart_dead;
    o.stop_grace_s = config.stop_grace_s;
    return o;
  }
  // The flags every service gets: loopback ports, its ready file, the run's config and overrides.
  launch::ProcessSpec ServiceSpec(const std::string& binary, const std::string& name, int port,
                                  nlohmann::json labels) const;
  absl::Status RestartWhatDied();
  void FollowLearner(const v1::LearnerStatus& status);
  double elapsed() const { return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count(); }

  const RftLaunchConfig& config_;
  const std::string bin_dir_;
  const fs::path out_;
  const std::string& config_file_;
  const std::vector<std::string>& overrides_;
  const Progress& progress_;
  evaluation::SuccessProbe* probe_;
  launch::ProcessSupervisor supervisor_;
  std::chrono::steady_clock::time_point start_;
  int simulator_port_ = 0, reward_port_ = 0, learner_port_ = 0;
  std::vector<launch::ProcessSupervisor::Id> servers_, learners_, workers_, evaluators_;
  std::vector<bool> worker_done_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::Learner::Stub> stub_;
  RftRunResult result_;
  int64_t last_step_ = -1, first_step_ = -1;
  double first_step_time_ = 0;
};

launch::ProcessSpec RftRun::ServiceSpec(const std::string& binary, const std::string& name, int port,
                                        nlohmann::json labels) const {
  launch::ProcessSpec s;
  s.name = name;
  s.labels = std::move(labels);
  s.ready_file = (out_ / "run" / (name + ".ready")).string();
  s.log = (out_ / "logs" / (name + ".log")).string();
  s.metrics_port_flag = "--metrics_port";
  s.argv = {(fs::path(bin_dir_) / binary).string(), "--host=127.0.0.1", "--metrics_host=127.0.0.1",
            absl::StrCat("--port=", port), "--ready_file=" + s.ready_file, "--shutdown_grace_s=5",
            absl::StrCat("--parent_pid=", getpid())};
  if (!config_file_.empty()) s.argv.push_back("--config=" + config_file_);
  for (const std::string& o : overrides_) s.argv.push_back("--set=" + o);
  return s;
}

absl::Status RftRun::AddProcesses() {
  core::LoopbackPortPicker& ports = supervisor_.ports();
  VLARFT_ASSIGN_OR_RETURN(simulator_port_, ports.Pick());
  VLARFT_ASSIGN_OR_RETURN(reward_port_, ports.Pick());
  VLARFT_ASSIGN_OR_RETURN(learner_port_, ports.Pick());
  VLARFT_ASSIGN_OR_RETURN(const int store_port, ports.Pick());
  servers_.push_back(supervisor_.Add(
      ServiceSpec("vlarft-simulator", "simulator", simulator_port_, {{"component", "simulator"}}), kServers));
  servers_.push_back(
      supervisor_.Add(ServiceSpec("vlarft-reward", "reward", reward_port_, {{"component", "reward"}}), kServers));
  // Every process gets a picked port, none binds port 0: a bind(0) may take a port picked for a
  // server that has not started yet (rank 1 starts before rank 0).
  for (int64_t r = 0; r < config_.learner_ranks; ++r) {
    int rank_port = learner_port_;
    if (r > 0) {
      VLARFT_ASSIGN_OR_RETURN(rank_port, ports.Pick());
    }
    launch::ProcessSpec learner = ServiceSpec("vlarft-learner", absl::StrCat("learner-rank", r), rank_port,
                                              {{"component", "learner"}, {"rank", absl::StrCat(r)}});
    for (const std::string& s :
         {absl::StrCat("learner.distributed.rank=", r), absl::StrCat("learner.distributed.world_size=", config_.learner_ranks),
          absl::StrCat("learner.distributed.master_port=", store_port),
          // Explicit, so a MASTER_ADDR in the user's environment (read by the learner) cannot send the
          // local ranks elsewhere.
          std::string("learner.distributed.master_addr=127.0.0.1"),
          "learner.checkpoint_dir=" + (out_ / "learner").string(), std::string("learner.exit_when_finished=false")}) {
      learner.argv.push_back("--set=" + s);
    }
    learners_.push_back(supervisor_.Add(std::move(learner), kLearners));
  }
  VLARFT_ASSIGN_OR_RETURN(const uint64_t root_seed, RolloutRootSeed(config_file_, overrides_, config_.rollout_workers));
  for (int64_t w = 0; w < config_.rollout_workers; ++w) {
    VLARFT_ASSIGN_OR_RETURN(const int worker_port, ports.Pick());
    launch::ProcessSpec worker = ServiceSpec("vlarft-rollout", absl::StrCat("rollout-", w), worker_port,
                                             {{"component", "rollout"}, {"worker", absl::StrCat(w)}});
    for (const std::string& s : {absl::StrCat("rollout.worker_id=worker-", w),
                                 absl::StrCat("rollout.seed=", RolloutWorkerSeed(root_seed, w)),
                                 absl::StrCat("rollout.learner.target=127.0.0.1:", learner_port_),
                                 absl::StrCat("rollout.simulator.target=127.0.0.1:", simulator_port_),
                                 absl::StrCat("rollout.reward.target=127.0.0.1:", reward_port_)}) {
      worker.argv.push_back("--set=" + s);
    }
    workers_.push_back(supervisor_.Add(std::move(worker), kWorkers));
  }
  worker_done_.assign(workers_.size(), false);
  if (probe_ != nullptr) {
    // The success probe follows the evaluator a cluster runs (docs/operations.md, "Measuring success
    // on a cluster"), fed by the same learner through its weight stream.
    VLARFT_ASSIGN_OR_RETURN(const int evaluator_port, ports.Pick());
    launch::ProcessSpec evaluator = ServiceSpec("vlarft-evaluator", "evaluator", evaluator_port, {{"component", "evaluator"}});
    for (const std::string& s : {absl::StrCat("evaluator.learner.target=127.0.0.1:", learner_port_),
                                 "evaluator.results_file=" + probe_->results_file()}) {
      evaluator.argv.push_back("--set=" + s);
    }
    evaluators_.push_back(supervisor_.Add(std::move(evaluator), kEvaluators));
  }
  return absl::OkStatus();
}

absl::Status RftRun::StartAll() {
  for (auto id : servers_) VLARFT_RETURN_IF_ERROR(supervisor_.Start(id, /*wait_ready=*/true));
  // All ranks start together (they rendezvous), so only rank 0's readiness is awaited.
  for (size_t r = learners_.size(); r-- > 0;) VLARFT_RETURN_IF_ERROR(supervisor_.Start(learners_[r], r == 0));
  for (auto id : workers_) VLARFT_RETURN_IF_ERROR(supervisor_.Start(id, /*wait_ready=*/true));
  for (auto id : evaluators_) VLARFT_RETURN_IF_ERROR(supervisor_.Start(id, /*wait_ready=*/true));
  VLARFT_RETURN_IF_ERROR(WritePrometheusFiles(config_, out_, supervisor_, supervisor_.Records().size()));
  progress_(absl::StrFormat("services up in %.0f s: simulator :%d, reward :%d, learner :%d (%d ranks), %d rollout workers; logs in %s",
                            elapsed(), simulator_port_, reward_port_, learner_port_, config_.learner_ranks,
                            config_.rollout_workers, (out_ / "logs").string()));
  services::ClientOptions learner_client;
  learner_client.target = absl::StrCat("127.0.0.1:", learner_port_);
  VLARFT_ASSIGN_OR_RETURN(channel_, services::MakeChannel(learner_client));
  stub_ = v1::Learner::NewStub(channel_);
  return absl::OkStatus();
}

absl::Status RftRun::RestartWhatDied() {
  // Servers and the evaluator are always restarted; learner ranks restart together (a c10d group
  // cannot be rejoined) and resume from the checkpoint; a worker that exits 0 has seen the learner
  // finish.
  for (const auto* group : {&servers_, &evaluators_}) {
    for (auto id : *group) {
      if (supervisor_.Poll(id).has_value()) VLARFT_RETURN_IF_ERROR(supervisor_.Restart(id, true));
    }
  }
  bool learner_died = false;
  for (auto id : learners_) learner_died |= supervisor_.Poll(id).has_value();
  if (learner_died) {
    supervisor_.Stop(learners_);
    for (size_t r = learners_.size(); r-- > 0;) VLARFT_RETURN_IF_ERROR(supervisor_.Restart(learners_[r], r == 0));
  }
  for (size_t w = 0; w < workers_.size(); ++w) {
    const std::optional<int> code = supervisor_.Poll(workers_[w]);
    if (!code.has_value()) continue;
    if (*code != 0) {
      VLARFT_RETURN_IF_ERROR(supervisor_.Restart(workers_[w], false));
    } else if (!worker_done_[w]) {
      worker_done_[w] = true;
      progress_(supervisor_.spec(workers_[w]).name +
                " exited with status 0 (a worker does so once the learner is done, or on SIGTERM); not restarted");
    }
  }
  return absl::OkStatus();
}

void RftRun::FollowLearner(const v1::LearnerStatus& status) {
  if (status.step() == last_step_) return;
  if (status.step() < last_step_) {
    // A restarted learner resumed from its last checkpoint: the steps after it are redone, so they
    // leave the curve and are counted as lost.
    result_.lost_steps += last_step_ - status.step();
    while (!result_.steps.empty() && result_.steps.back().step > status.step()) result_.steps.pop_back();
    progress_(absl::StrFormat("the learner resumed at step %d after reaching step %d: %d steps lost "
                              "(learner.checkpoint_every bounds the loss)",
                              status.step(), last_step_, last_step_ - status.step()));
  }
  last_step_ = status.step();
  if (first_step_ < 0) {
    first_step_ = last_step_;
    first_step_time_ = elapsed();
  }
  // Step 0 is the untrained start: no groups have been scored yet, so it has no reward.
  if (status.step() > 0) result_.steps.push_back({status.step(), status.last_reward_mean(), elapsed()});
  const double minutes = (elapsed() - first_step_time_) / 60.0;
  const double rate = minutes > 0 ? (last_step_ - first_step_) / minutes : 0;
  const double eta = rate > 0 ? (status.max_steps() - last_step_) / rate * 60.0 : 0;
  std::string success = "?";
  if (const std::optional<evaluation::SuccessEstimate> latest = probe_ ? probe_->latest() : std::nullopt) {
    success = absl::StrFormat("%.1f%% (step %d)", 100 * latest->success.rate, latest->step);
  }
  progress_(absl::StrFormat("step %d/%d  reward_mean %+.4f  success~ %s  %.2f steps/min  elapsed %s  ETA %s",
                            status.step(), status.max_steps(), status.last_reward_mean(), success, rate,
                            core::FormatClock(elapsed()), rate > 0 ? core::FormatClock(eta) : std::string("?")));
}

absl::StatusOr<bool> RftRun::SuperviseAndFollow() {
  VLARFT_RETURN_IF_ERROR(RestartWhatDied());
  if (probe_ != nullptr) probe_->Poll(progress_);
  v1::LearnerStatus status;
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  if (!stub_->GetStatus(&context, {}, &status).ok()) return false;  // restarting, or busy: ask again
  FollowLearner(status);
  return status.finished();
}

void RftRun::AwaitFinalEvaluation() {
  // The curve ends at the final step: the evaluator gets until the startup timeout to evaluate the
  // final version (the learner keeps serving it until it is stopped).
  if (probe_ == nullptr || last_step_ < 0) return;
  const absl::Time deadline = absl::Now() + absl::Seconds(config_.startup_timeout_s);
  progress_(absl::StrFormat("waiting for the evaluator to evaluate the final version %d", last_step_));
  while (absl::Now() < deadline) {
    probe_->Poll(progress_);
    const std::optional<evaluation::SuccessEstimate> latest = probe_->latest();
    if (latest.has_value() && latest->step >= last_step_) return;
    if (supervisor_.Poll(evaluators_.front()).has_value()) {
      progress_("the evaluator exited before evaluating the final version");
      return;
    }
    absl::SleepFor(absl::Milliseconds(500));
  }
}

absl::StatusOr<RftRunResult> RftRun::Stop() {
  // Close the launcher's own connection first: the learner's graceful shutdown would otherwise wait
  // out its grace period for this idle client.
  stub_.reset();
  channel_.reset();
  progress_("training finished; stopping the services");
  supervisor_.StopAll();
  result_.seconds = elapsed();
  result_.restarts = supervisor_.restarts();
  result_.processes = supervisor_.Records();
  VLARFT_RETURN_IF_ERROR(supervisor_.manifest_status());
  return std::move(result_);
}

}  // namespace

absl::StatusOr<uint64_t> RolloutRootSeed(const std::string& config_file, const std::vector<std::string>& overrides,
                                         int64_t workers) {
  VLARFT_ASSIGN_OR_RETURN(const YAML::Node root, LoadConfigDocument(config_file, overrides));
  VLARFT_ASSIGN_OR_RETURN(const uint64_t seed, ConfigScalar<uint64_t>(root, "rollout.seed", 1));
  if (workers > static_cast<int64_t>(kRolloutSeedStride)) {
    return absl::InvalidArgumentError(absl::StrCat("rft.launch.rollout_workers = ", workers, ": at most ",
                                                   kRolloutSeedStride, " (worker seeds are ", kRolloutSeedStride,
                                                   " * rollout.seed + worker)"));
  }
  if (seed > (std::numeric_limits<uint64_t>::max() - kRolloutSeedStride) / kRolloutSeedStride) {
    return absl::InvalidArgumentError(absl::StrCat("rollout.seed = ", seed, " is too large: worker seeds are ",
                                                   kRolloutSeedStride, " * rollout.seed + worker"));
  }
  return seed;
}

absl::StatusOr<RftRunResult> LaunchRft(const RftLaunchConfig& config, const std::string& config_file,
                                       const std::vector<std::string>& overrides, const Progress& progress,
                                       evaluation::SuccessProbe* probe) {
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

  RftRun run(config, bin_dir, out, config_file, overrides, progress, probe);
  VLARFT_RETURN_IF_ERROR(run.AddProcesses());
  VLARFT_RETURN_IF_ERROR(run.StartAll());
  while (true) {
    VLARFT_ASSIGN_OR_RETURN(const bool finished, run.SuperviseAndFollow());
    if (finished) break;
    absl::SleepFor(absl::Milliseconds(500));
  }
  run.AwaitFinalEvaluation();
  return run.Stop();
}

}  // namespace vlarft::cli
