#include "tools/vlarft/rft_launcher.h"

#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <optional>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "libs/core/status.h"
#include "libs/core/subprocess.h"
#include "services/common/client.h"
#include "vlarft/v1/learner.grpc.pb.h"

namespace vlarft::cli {
namespace fs = std::filesystem;
namespace {

struct ServiceProcess {
  std::string name;
  std::vector<std::string> argv;
  std::string ready_file;
  std::string log;
  std::optional<core::Subprocess> process;
  int restarts = 0;
};

std::string FormatDuration(double seconds) {
  const int64_t s = static_cast<int64_t>(std::max(0.0, seconds));
  return absl::StrFormat("%d:%02d:%02d", s / 3600, (s / 60) % 60, s % 60);
}

class Launch {
 public:
  Launch(const RftLaunchConfig& config, std::function<void(const std::string&)> progress)
      : config_(config), progress_(std::move(progress)) {}

  ~Launch() { StopAll(); }

  absl::Status Start(ServiceProcess& service, bool wait_ready) {
    std::error_code ec;
    fs::remove(service.ready_file, ec);
    VLARFT_ASSIGN_OR_RETURN(core::Subprocess process, core::Subprocess::Start(service.argv, service.log, /*append=*/true));
    service.process.emplace(std::move(process));
    if (!wait_ready) return absl::OkStatus();
    const absl::Time deadline = absl::Now() + absl::Seconds(config_.startup_timeout_s);
    while (absl::Now() < deadline) {
      if (fs::exists(service.ready_file)) return absl::OkStatus();
      if (std::optional<int> code = service.process->WaitFor(absl::Milliseconds(100))) {
        return absl::UnavailableError(absl::StrCat(service.name, " exited with status ", *code,
                                                   " during startup; see ", service.log));
      }
    }
    return absl::DeadlineExceededError(absl::StrCat(service.name, " not ready after ", config_.startup_timeout_s,
                                                    " s; see ", service.log));
  }

  void Stop(ServiceProcess& service, absl::Duration grace) {
    if (!service.process.has_value()) return;
    service.process->Signal(SIGTERM);
    if (!service.process->WaitFor(grace).has_value()) {
      service.process->Signal(SIGKILL);
      service.process->WaitFor(absl::Seconds(5));
    }
    service.process.reset();
  }

  void StopAll() {
    for (auto* group : {&workers_, &learners_, &servers_}) {
      for (ServiceProcess& s : *group) Stop(s, absl::Seconds(20));
    }
  }

  const RftLaunchConfig& config_;
  std::function<void(const std::string&)> progress_;
  std::vector<ServiceProcess> servers_;   // simulator, reward
  std::vector<ServiceProcess> learners_;  // rank 0 .. R-1
  std::vector<ServiceProcess> workers_;
};

}  // namespace

absl::StatusOr<RftRunResult> LaunchRft(const RftLaunchConfig& config, const std::string& config_file,
                                       const std::vector<std::string>& overrides,
                                       const std::function<void(const std::string&)>& progress) {
  if (config.learner_ranks < 1 || config.rollout_workers < 1) {
    return absl::InvalidArgumentError("learner_ranks and rollout_workers must be >= 1");
  }
  std::string bin_dir = config.bin_dir;
  if (bin_dir.empty()) bin_dir = fs::read_symlink("/proc/self/exe").parent_path().string();
  for (const char* binary : {"vlarft-simulator", "vlarft-reward", "vlarft-learner", "vlarft-rollout"}) {
    if (!fs::exists(fs::path(bin_dir) / binary)) {
      return absl::NotFoundError(absl::StrCat(binary, " not found in ", bin_dir, " (build the services, or set bin_dir)"));
    }
  }
  const fs::path out = fs::absolute(config.out_dir);
  fs::create_directories(out / "logs");
  fs::create_directories(out / "run");

  VLARFT_ASSIGN_OR_RETURN(const int simulator_port, core::FreeLoopbackPort());
  VLARFT_ASSIGN_OR_RETURN(const int reward_port, core::FreeLoopbackPort());
  VLARFT_ASSIGN_OR_RETURN(const int learner_port, core::FreeLoopbackPort());
  VLARFT_ASSIGN_OR_RETURN(const int store_port, core::FreeLoopbackPort());

  auto common = [&](const std::string& binary, const std::string& name, int port) -> absl::StatusOr<ServiceProcess> {
    VLARFT_ASSIGN_OR_RETURN(const int metrics_port, core::FreeLoopbackPort());
    ServiceProcess s;
    s.name = name;
    s.ready_file = (out / "run" / (name + ".ready")).string();
    s.log = (out / "logs" / (name + ".log")).string();
    s.argv = {(fs::path(bin_dir) / binary).string(), "--host=127.0.0.1", "--metrics_host=127.0.0.1",
              absl::StrCat("--port=", port), absl::StrCat("--metrics_port=", metrics_port),
              "--ready_file=" + s.ready_file, "--shutdown_grace_s=5"};
    if (!config_file.empty()) s.argv.push_back("--config=" + config_file);
    for (const std::string& o : overrides) s.argv.push_back("--set=" + o);
    return s;
  };

  Launch launch(config, progress);
  VLARFT_ASSIGN_OR_RETURN(ServiceProcess simulator, common("vlarft-simulator", "simulator", simulator_port));
  VLARFT_ASSIGN_OR_RETURN(ServiceProcess reward, common("vlarft-reward", "reward", reward_port));
  launch.servers_.push_back(std::move(simulator));
  launch.servers_.push_back(std::move(reward));
  for (int64_t r = 0; r < config.learner_ranks; ++r) {
    VLARFT_ASSIGN_OR_RETURN(ServiceProcess learner,
                            common("vlarft-learner", absl::StrCat("learner-rank", r), r == 0 ? learner_port : 0));
    for (const std::string& s :
         {absl::StrCat("learner.distributed.rank=", r), absl::StrCat("learner.distributed.world_size=", config.learner_ranks),
          absl::StrCat("learner.distributed.master_port=", store_port),
          "learner.checkpoint_dir=" + (out / "learner").string(), std::string("learner.exit_when_finished=false")}) {
      learner.argv.push_back("--set=" + s);
    }
    launch.learners_.push_back(std::move(learner));
  }
  for (int64_t w = 0; w < config.rollout_workers; ++w) {
    VLARFT_ASSIGN_OR_RETURN(ServiceProcess worker, common("vlarft-rollout", absl::StrCat("rollout-", w), 0));
    for (const std::string& s : {absl::StrCat("rollout.worker_id=worker-", w), absl::StrCat("rollout.seed=", 1000 + w),
                                 absl::StrCat("rollout.learner.target=127.0.0.1:", learner_port),
                                 absl::StrCat("rollout.simulator.target=127.0.0.1:", simulator_port),
                                 absl::StrCat("rollout.reward.target=127.0.0.1:", reward_port)}) {
      worker.argv.push_back("--set=" + s);
    }
    launch.workers_.push_back(std::move(worker));
  }

  const auto start = std::chrono::steady_clock::now();
  auto elapsed = [&] { return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(); };
  for (ServiceProcess& s : launch.servers_) VLARFT_RETURN_IF_ERROR(launch.Start(s, /*wait_ready=*/true));
  // All ranks start together (they rendezvous), so only rank 0's readiness is awaited.
  for (size_t r = launch.learners_.size(); r-- > 0;) VLARFT_RETURN_IF_ERROR(launch.Start(launch.learners_[r], r == 0));
  for (ServiceProcess& s : launch.workers_) VLARFT_RETURN_IF_ERROR(launch.Start(s, /*wait_ready=*/true));
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
  while (true) {
    // Supervision: restart what died. Learner ranks restart together (c10d groups cannot be rejoined).
    auto restart = [&](ServiceProcess& s, bool wait) -> absl::Status {
      if (!config.restart_dead) return absl::AbortedError(absl::StrCat(s.name, " died; see ", s.log));
      if (++s.restarts > config.max_restarts) {
        return absl::AbortedError(absl::StrCat(s.name, " died ", s.restarts, " times; giving up (see ", s.log, ")"));
      }
      ++result.restarts;
      progress(absl::StrCat("restarting ", s.name, " (restart ", s.restarts, ")"));
      return launch.Start(s, wait);
    };
    for (ServiceProcess& s : launch.servers_) {
      if (!s.process->running()) VLARFT_RETURN_IF_ERROR(restart(s, true));
    }
    bool learner_died = false;
    for (ServiceProcess& s : launch.learners_) learner_died |= !s.process->running();
    if (learner_died) {
      for (ServiceProcess& s : launch.learners_) launch.Stop(s, absl::Seconds(10));
      for (size_t r = launch.learners_.size(); r-- > 0;) VLARFT_RETURN_IF_ERROR(restart(launch.learners_[r], r == 0));
    }
    for (ServiceProcess& s : launch.workers_) {
      if (!s.process->running()) VLARFT_RETURN_IF_ERROR(restart(s, false));
    }

    v1::LearnerStatus status;
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    if (stub->GetStatus(&context, {}, &status).ok()) {
      if (status.step() != last_step) {
        last_step = status.step();
        if (first_step < 0) {
          first_step = last_step;
          first_step_time = elapsed();
        }
        result.steps.push_back({status.step(), status.last_reward_mean(), elapsed()});
        const double minutes = (elapsed() - first_step_time) / 60.0;
        const double rate = minutes > 0 ? (last_step - first_step) / minutes : 0;
        const double eta = rate > 0 ? (status.max_steps() - last_step) / rate * 60.0 : 0;
        progress(absl::StrFormat("step %d/%d  reward_mean %+.4f  %.2f steps/min  elapsed %s  ETA %s", status.step(),
                                 status.max_steps(), status.last_reward_mean(), rate, FormatDuration(elapsed()),
                                 rate > 0 ? FormatDuration(eta) : std::string("?")));
      }
      if (status.finished()) break;
    }
    absl::SleepFor(absl::Seconds(1));
  }
  launch.StopAll();
  result.seconds = elapsed();
  return result;
}

}  // namespace vlarft::cli
