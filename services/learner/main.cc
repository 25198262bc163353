// vlarft-learner: the GRPO learner process (one per rank). Rank 0 serves vlarft.v1.Learner.
#include <atomic>
#include <iostream>

#include "glog/logging.h"
#include "libs/core/status.h"
#include "services/common/auth.h"
#include "services/common/service_main.h"
#include "services/common/service_server.h"
#include "services/common/shutdown_signal.h"
#include "libs/core/device.h"
#include "services/learner/learner_config.h"
#include "services/learner/learner_service.h"
#include "services/learner/learner_rank_loop.h"

namespace vlarft::services {

absl::Status RunLearner(const ServiceInvocation<LearnerConfig>& invocation, ShutdownSignal& signals) {
  const LearnerConfig& config = invocation.config;
  if (invocation.server.validating_config_only()) {
    return core::ParseDeviceName(config.device, "learner.device").status();
  }
  if (config.torch_threads > 0) torch::set_num_threads(static_cast<int>(config.torch_threads));
  VLARFT_ASSIGN_OR_RETURN(torch::Device device, core::ParseDevice(config.device, "learner.device"));
  VLARFT_ASSIGN_OR_RETURN(models::VlaPolicy policy, models::LoadPolicy(config.policy_checkpoint));
  policy->to(device);
  std::optional<models::VlaPolicy> reference;
  if (config.grpo.kl_coef > 0) {
    const std::string stem = config.reference_checkpoint.empty() ? config.policy_checkpoint : config.reference_checkpoint;
    VLARFT_ASSIGN_OR_RETURN(models::VlaPolicy ref, models::LoadPolicy(stem));
    ref->to(device);
    reference = ref;
  }
  // Validation stands in a one-process group for the rendezvous, which would wait for the other
  // ranks; the world size itself was checked against prompts_per_step when the config loaded.
  rl::DistributedConfig distributed = config.distributed;
  if (invocation.server.validating()) {
    distributed.world_size = 1;
    distributed.rank = 0;
  }
  VLARFT_ASSIGN_OR_RETURN(std::unique_ptr<rl::DataParallelGroup> group,
                          rl::DataParallelGroup::Create(distributed, device));
  VLARFT_ASSIGN_OR_RETURN(std::unique_ptr<rl::GrpoLearner> learner,
                          rl::GrpoLearner::Create(policy, config.grpo, config.optim, group.get(), reference));
  VLARFT_ASSIGN_OR_RETURN(TokenVerifier auth, TokenVerifier::FromEnvironment(invocation.server.auth_token_env));

  const bool leader = group->rank() == 0;
  RolloutIntake intake(config.intake_capacity, config.max_staleness);
  WeightStore weights;
  LearnerProgress progress;
  VLARFT_ASSIGN_OR_RETURN(std::unique_ptr<metrics::MetricsEndpoint> endpoint, StartMetricsEndpoint(invocation.server));
  std::unique_ptr<LearnerMetrics> learner_metrics;
  if (endpoint != nullptr) learner_metrics = std::make_unique<LearnerMetrics>(endpoint->registry());
  TrainingLoop loop(config, *learner, *group, leader ? &intake : nullptr, &weights, &progress, learner_metrics.get());
  VLARFT_RETURN_IF_ERROR(loop.Resume());  // restores the newest checkpoint in checkpoint_dir, if any
  if (invocation.server.validating()) return ValidateServerFiles(invocation.server);

  // Followers serve only health and metrics; the leader also serves vlarft.v1.Learner.
  LearnerServiceImpl service(config, policy->config(), intake, weights, progress, auth, learner_metrics.get());
  std::vector<grpc::Service*> services;
  if (leader) services.push_back(&service);
  VLARFT_ASSIGN_OR_RETURN(std::unique_ptr<ServiceServer> server,
                          ServiceServer::Start(invocation.server, services, absl::StrCat("learner-rank", group->rank()),
                                               std::move(endpoint), /*rpc_service=*/"learner"));

  // A signal stops the loop (which checkpoints); finishing max_steps lingers so workers see it.
  std::atomic<bool> stop{false};
  const absl::Status loop_status = signals.RunUntilDone(stop, [&] { return loop.Run(stop); });
  if (progress.finished.load() && !stop.load()) {
    if (config.exit_when_finished) {
      signals.WaitFor(absl::Seconds(config.finish_linger_s));
    } else {
      signals.Wait();
    }
  }
  intake.Close();
  weights.Close();  // ends weight long-polls now instead of at the end of the shutdown grace
  server->Shutdown();
  return loop_status;
}

}  // namespace vlarft::services

int main(int argc, char** argv) {
  // The distributed environment PyTorchJob, JobSet and torchrun set; --set still overrides it.
  const std::vector<vlarft::services::EnvironmentOverride> environment = {
      {"MASTER_ADDR", "learner.distributed.master_addr"},
      {"MASTER_PORT", "learner.distributed.master_port"},
      {"WORLD_SIZE", "learner.distributed.world_size"},
      {"RANK", "learner.distributed.rank"},
  };
  return vlarft::services::ServiceMain<vlarft::services::LearnerConfig>(argc, argv, "learner", "vlarft-learner",
                                                                        &vlarft::services::RunLearner, environment);
}
