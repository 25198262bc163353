// vlarft-simulator: the batched world-model simulator process.
#include <iostream>

#include "glog/logging.h"
#include "libs/core/device.h"
#include "libs/core/status.h"
#include "services/common/service_main.h"
#include "services/common/service_server.h"
#include "services/common/shutdown_signal.h"
#include "services/simulator/engine_backend.h"
#include "services/simulator/simulator_config.h"
#include "services/simulator/simulator_service.h"
#include "services/simulator/tabletop_backend.h"

namespace vlarft::services {

absl::Status RunSimulator(const ServiceInvocation<SimulatorConfig>& invocation, ShutdownSignal& signals) {
  const SimulatorConfig& config = invocation.config;
  if (invocation.server.validating_config_only()) {
    return core::ParseDeviceName(config.device, "simulator.device").status();
  }
  if (config.torch_threads > 0) torch::set_num_threads(static_cast<int>(config.torch_threads));
  std::unique_ptr<WorldModelBackend> backend;
  if (config.backend == "tabletop") {
    VLARFT_ASSIGN_OR_RETURN(backend, LoadTabletopBackend(config.dataset, config.suites, config.image_size,
                                                         config.max_group_size, config.max_horizon,
                                                         absl::Seconds(config.session_idle_timeout_s)));
  } else {
    VLARFT_ASSIGN_OR_RETURN(backend, LoadEngineBackend(config));
  }
  VLARFT_ASSIGN_OR_RETURN(TokenVerifier auth, TokenVerifier::FromEnvironment(invocation.server.auth_token_env));
  if (invocation.server.validating()) return ValidateServerFiles(invocation.server);
  VLARFT_ASSIGN_OR_RETURN(std::unique_ptr<metrics::MetricsEndpoint> endpoint, StartMetricsEndpoint(invocation.server));
  SimulatorServiceImpl service(backend.get(), config.batching, auth, endpoint ? &endpoint->registry() : nullptr);
  VLARFT_ASSIGN_OR_RETURN(std::unique_ptr<ServiceServer> server,
                          ServiceServer::Start(invocation.server, {&service}, "simulator", std::move(endpoint)));
  LOG(INFO) << "event=model_loaded fingerprint=" << backend->Facts().fingerprint << " device=" << backend->Facts().device
            << " world_model_dtype=" << (config.backend == "tabletop" ? "-" : config.world_model_dtype)
            << " frame=" << backend->Facts().frame_height << " max_horizon=" << backend->Facts().max_horizon;
  signals.Wait();
  server->Shutdown();
  service.Stop();
  return absl::OkStatus();
}

}  // namespace vlarft::services

int main(int argc, char** argv) {
  return vlarft::services::ServiceMain<vlarft::services::SimulatorConfig>(argc, argv, "simulator", "vlarft-simulator",
                                                            &vlarft::services::RunSimulator);
}
