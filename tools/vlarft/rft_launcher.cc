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
#include "libs/core/file_io.h"
#include "libs/core/clock_format.h"
#include "libs/core/status.h"
#include "libs/launch/process_supervisor.h"
#include "nlohmann/json.hpp"
#include "services/common/client.h"
#include "services/common/service_server.h"
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

}  // namespace

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

  launch::SupervisorOptions supervision;
  supervision.manifest_path = (out / "run" / "processes.json").string();
  supervision.startup_timeout_s = config.startup_timeout_s;
  supervision.max_restarts = config.max_restarts;
  supervision.restart_dead = config.restart_dead;
  supervision.stop_grace_s = config.stop_grace_s;
  launch::ProcessSupervisor supervisor(supervision, progress);
  core::LoopbackPortPicker& ports = supervisor.ports();
  VLARFT_ASSIGN_OR_RETURN(const int simulator_port, ports.Pick());
  VLARFT_ASSIGN_OR_RETURN(const int reward_port, ports.Pick());
  VLARFT_ASSIGN_OR_RETURN(const int learner_port, ports.Pick());
  VLARFT_ASSIGN_OR_RETURN(const int store_port, ports.Pick());

  auto common = [&](const std::string& binary, const std::string& name, int port, nlohmann::json labels) {
    launch::ProcessSpec s;
    s.name = name;
    s.labels = std::move(labels);
    s.ready_file = (out / "run" / (name + ".ready")).string();
    s.log = (out / "logs" / (name + ".log")).string();
    s.metrics_port_flag = "--metrics_port";
    s.argv = {(fs::path(bin_dir) / binary).string(), "--host=127.0.0.1", "--metrics_host=127.0.0.1",
              absl::StrCat("--port=", port),
              "--ready_file=" + s.ready_file, "--shutdown_grace_s=5", absl::StrCat("--parent_pid=", getpid())};
    if (!config_file.empty()) s.argv.push_back("--config=" + config_file);
    for (const std::string& o : overrides) s.argv.push_back("--set=" + o);
    return s;
  };

  std::vector<launch::ProcessSupervisor::Id> servers, learners, workers, evaluators;
  servers.push_back(supervisor.Add(common("vlarft-simulator", "simulator", simulator_port, {{"component", "simulator"}}),
                                   kServers));
  servers.push_back(supervisor.Add(common("vlarft-reward", "reward", reward_port, {{"component", "reward"}}), kServers));
  // Every process gets a picked port, none binds port 0: a bind(0) may take a port picked for a
  // server that has not started yet (rank 1 starts before rank 0).
  for (int64_t r = 0; r < config.learner_ranks; ++r) {
    int rank_port = learner_port;
    if (r > 0) {
      VLARFT_ASSIGN_OR_RETURN(rank_port, ports.Pick());
    }
    launch::ProcessSpec learner = common("vlarft-learner", absl::StrCat("learner-rank", r), rank_port,
                                         {{"component", "learner"}, {"rank", absl::StrCat(r)}});
    for (const std::string& s :
         {absl::StrCat("learner.distributed.rank=", r), absl::StrCat("learner.distributed.world_size=", config.learner_ranks),
          absl::StrCat("learner.distributed.master_port=", store_port),
          // Explicit, so a MASTER_ADDR in the user's environment (read by the learner) cannot send the
          // local ranks elsewhere.
          std::string("learner.distributed.master_addr=127.0.0.1"),
          "learner.checkpoint_dir=" + (out / "learner").string(), std::string("learner.exit_when_finished=false")}) {
      learner.argv.push_back("--set=" + s);
    }
    learners.push_back(supervisor.Add(std::move(learner), kLearners));
  }
  for (int64_t w = 0; w < config.rollout_workers; ++w) {
    VLARFT_ASSIGN_OR_RETURN(const int worker_port, ports.Pick());
    launch::ProcessSpec worker = common("vlarft-rollout", absl::StrCat("rollout-", w), worker_port,
                                        {{"component", "rollout"}, {"worker", absl::StrCat(w)}});
    for (const std::string& s : {absl::StrCat("rollout.worker_id=worker-", w), absl::StrCat("rollout.seed=", 1000 + w),
                                 absl::StrCat("rollout.learner.target=127.0.0.1:", learner_port),
                                 absl::StrCat("rollout.simulator.target=127.0.0.1:", simulator_port),
                                 absl::StrCat("rollout.reward.target=127.0.0.1:", reward_port)}) {
      worker.argv.push_back("--set=" + s);
    }
    workers.push_back(supervisor.Add(std::move(worker), kWorkers));
  }
  if (probe != nullptr) {
    // The success probe follows the evaluator a cluster runs (docs/operations.md, "Measuring success
    // on a cluster"), fed by the same learner through its weight stream.
    VLARFT_ASSIGN_OR_RETURN(const int evaluator_port, ports.Pick());
    launch::ProcessSpec evaluator = common("vlarft-evaluator", "evaluator", evaluator_port, {{"component", "evaluator"}});
    for (const std::string& s : {absl::StrCat("evaluator.learner.target=127.0.0.1:", learner_port),
                                 "evaluator.results_file=" + probe->results_file()}) {
      evaluator.argv.push_back("--set=" + s);
    }
    evaluators.push_back(supervisor.Add(std::move(evaluator), kEvaluators));
  }

  const auto start = std::chrono::steady_clock::now();
  auto elapsed = [&] { return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(); };
  for (auto id : servers) VLARFT_RETURN_IF_ERROR(supervisor.Start(id, /*wait_ready=*/true));
  // All ranks start together (they rendezvous), so only rank 0's readiness is awaited.
  for (size_t r = learners.size(); r-- > 0;) VLARFT_RETURN_IF_ERROR(supervisor.Start(learners[r], r == 0));
  for (auto id : workers) VLARFT_RETURN_IF_ERROR(supervisor.Start(id, /*wait_ready=*/true));
  for (auto id : evaluators) VLARFT_RETURN_IF_ERROR(supervisor.Start(id, /*wait_ready=*/true));
  VLARFT_RETURN_IF_ERROR(WritePrometheusFiles(config, out, supervisor, supervisor.Records().size()));
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
  std::vector<bool> worker_done(workers.size(), false);
  while (true) {
    // Supervision. Servers are always restarted; learner ranks restart together (a c10d group cannot
    // be rejoined) and resume from the checkpoint; a worker that exits 0 has seen the learner finish.
    for (const auto* group : {&servers, &evaluators}) {
      for (auto id : *group) {
        if (supervisor.Poll(id).has_value()) VLARFT_RETURN_IF_ERROR(supervisor.Restart(id, true));
      }
    }
    bool learner_died = false;
    for (auto id : learners) learner_died |= supervisor.Poll(id).has_value();
    if (learner_died) {
      supervisor.Stop(learners);
      for (size_t r = learners.size(); r-- > 0;) VLARFT_RETURN_IF_ERROR(supervisor.Restart(learners[r], r == 0));
    }
    for (size_t w = 0; w < workers.size(); ++w) {
      const std::optional<int> code = supervisor.Poll(workers[w]);
      if (!code.has_value()) continue;
      if (*code != 0) {
        VLARFT_RETURN_IF_ERROR(supervisor.Restart(workers[w], false));
      } else if (!worker_done[w]) {
        worker_done[w] = true;
        progress(supervisor.spec(workers[w]).name +
                 " exited with status 0 (a worker does so once the learner is done, or on SIGTERM); not restarted");
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
      if (supervisor.Poll(evaluators.front()).has_value()) {
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
  supervisor.StopAll();
  result.seconds = elapsed();
  result.restarts = supervisor.restarts();
  result.processes = supervisor.Records();
  VLARFT_RETURN_IF_ERROR(supervisor.manifest_status());
  return result;
}

}  // namespace vlarft::cli
