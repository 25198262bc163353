// vlarft-rollout: a rollout worker process. Serves health + metrics; produces groups until the
// learner finishes or SIGTERM.
#include <atomic>
#include <iostream>

#include "glog/logging.h"
#include "libs/core/device.h"
#include "libs/core/status.h"
#include "services/common/service_main.h"
#include "services/common/service_server.h"
#include "services/common/shutdown_signal.h"
#include "libs/rollout/demo_prompt_source.h"
#include "services/rollout/rollout_worker.h"

namespace vlarft::services {

absl::Status RunRollout(const ServiceInvocation<RolloutConfig>& invocation, ShutdownSignal& signals) {
  const RolloutConfig& config = invocation.config;
  if (invocation.server.validating_config_only()) {
    for (const auto& [name, client] : {std::pair<const char*, const ClientOptions&>{"learner", config.learner},
                                       {"simulator", config.simulator},
                                       {"reward", config.reward}}) {
      if (client.target.empty()) {
        return absl::InvalidArgumentError(absl::StrCat("rollout.", name, ".target is required (host:port)"));
      }
    }
    return core::ParseDeviceName(config.device, "rollout.device").status();
  }
  if (config.torch_threads > 0) torch::set_num_threads(static_cast<int>(config.torch_threads));
  VLARFT_ASSIGN_OR_RETURN(torch::Device device, core::ParseDevice(config.device, "rollout.device"));
  VLARFT_ASSIGN_OR_RETURN(models::VlaPolicy policy, models::LoadPolicy(config.policy_checkpoint));
  // Observations follow the policy to its device; sampled chunks come back to the CPU for the RPCs.
  policy->to(device);
  const models::PolicyConfig policy_config = policy->config();
  PolicyReplica replica(policy);
  rollout::DemoPromptSourceOptions prompt_options;
  prompt_options.stream_frames = config.stream_demos;
  prompt_options.cache_episodes = config.demo_cache_episodes;
  VLARFT_ASSIGN_OR_RETURN(
      std::unique_ptr<rollout::DemoPromptSource> prompts,
      rollout::DemoPromptSource::Load(config.dataset, config.suites, static_cast<int>(policy_config.encoder.image_size),
                                      config.seed, config.validation_fraction,
                                      policy_config.chunk_length * config.horizon, prompt_options));
  LOG(INFO) << "event=prompts_loaded episodes=" << prompts->episodes() << " dataset=" << config.dataset
            << " seed=" << config.seed
            << " streamed=" << config.stream_demos;
  // Validation builds the worker (channels, TLS roots, call credentials) without a metrics port.
  std::unique_ptr<metrics::MetricsEndpoint> endpoint;
  if (!invocation.server.validating()) {
    VLARFT_ASSIGN_OR_RETURN(endpoint, StartMetricsEndpoint(invocation.server));
  }
  std::unique_ptr<RolloutMetrics> metrics;
  if (endpoint != nullptr) metrics = std::make_unique<RolloutMetrics>(endpoint->registry());
  VLARFT_ASSIGN_OR_RETURN(std::unique_ptr<RolloutWorker> worker,
                          RolloutWorker::Create(config, &replica, prompts.get(), metrics.get()));
  if (invocation.server.validating()) return ValidateServerFiles(invocation.server);
  VLARFT_ASSIGN_OR_RETURN(std::unique_ptr<ServiceServer> server,
                          ServiceServer::Start(invocation.server, {}, "rollout", std::move(endpoint)));
  std::atomic<bool> stop{false};
  const absl::Status status = signals.RunUntilDone(stop, [&] { return worker->Run(stop); });
  server->Shutdown();
  return status;
}

}  // namespace vlarft::services

int main(int argc, char** argv) {
  return vlarft::services::ServiceMain<vlarft::services::RolloutConfig>(argc, argv, "rollout", "vlarft-rollout",
                                                            &vlarft::services::RunRollout);
}
