// vlarft-reward: the reward-verifier process.
#include <iostream>

#include "glog/logging.h"
#include "libs/core/device.h"
#include "libs/core/status.h"
#include "services/common/service_main.h"
#include "services/common/service_server.h"
#include "services/common/shutdown_signal.h"
#include "services/reward/reward_config.h"
#include "services/reward/reward_service.h"
#include "services/reward/scorer_backend.h"

namespace vlarft::services {

absl::Status RunReward(const ServiceInvocation<RewardServiceConfig>& invocation, ShutdownSignal& signals) {
  const RewardServiceConfig& config = invocation.config;
  if (invocation.server.validating_config_only()) {
    return core::ParseDeviceName(config.scoring.device, "reward.scoring.device").status();
  }
  if (config.torch_threads > 0) torch::set_num_threads(static_cast<int>(config.torch_threads));
  VLARFT_ASSIGN_OR_RETURN(std::unique_ptr<ScorerBackend> backend,
                          LoadScorerBackend(config.scoring, config.tokenizer_checkpoint, config.frame_size,
                                            config.max_group_size, config.max_frames));
  VLARFT_ASSIGN_OR_RETURN(TokenVerifier auth, TokenVerifier::FromEnvironment(invocation.server.auth_token_env));
  if (invocation.server.validating()) return ValidateServerFiles(invocation.server);
  VLARFT_ASSIGN_OR_RETURN(std::unique_ptr<metrics::MetricsEndpoint> endpoint, StartMetricsEndpoint(invocation.server));
  RewardServiceImpl service(backend.get(), config.batching, auth, endpoint ? &endpoint->registry() : nullptr);
  VLARFT_ASSIGN_OR_RETURN(std::unique_ptr<ServiceServer> server,
                          ServiceServer::Start(invocation.server, {&service}, "reward", std::move(endpoint)));
  LOG(INFO) << "event=scorer_ready perceptual=" << backend->Facts().perceptual_distance
            << " aggregation=" << backend->Facts().aggregation;
  signals.Wait();
  server->Shutdown();
  service.Stop();
  return absl::OkStatus();
}

}  // namespace vlarft::services

int main(int argc, char** argv) {
  return vlarft::services::ServiceMain<vlarft::services::RewardServiceConfig>(argc, argv, "reward", "vlarft-reward",
                                                            &vlarft::services::RunReward);
}
