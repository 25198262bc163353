// A minimal server built only from the shared skeleton (no model), so the skeleton's process-level
// behaviour — flags, config errors, ready file, health, metrics, SIGTERM drain — is tested on its own.
#include <iostream>

#include "glog/logging.h"
#include "prometheus/counter.h"
#include "services/common/service_main.h"
#include "services/common/service_server.h"
#include "services/common/shutdown_signal.h"

namespace {

struct SkeletonConfig {
  int greeting_count = 3;
  template <typename V>
  void VisitFields(V& v) {
    v.Field("greeting_count", greeting_count, "value the test counter starts at");
  }
  absl::Status Validate() const {
    if (greeting_count < 0) return absl::InvalidArgumentError("greeting_count must be >= 0");
    return absl::OkStatus();
  }
};

}  // namespace

int main(int argc, char** argv) {
  vlarft::services::ShutdownSignal signals;
  vlarft::services::InitServiceLogging(argv[0]);
  auto invocation = vlarft::services::ParseServiceInvocation<SkeletonConfig>(argc, argv, "skeleton");
  if (!invocation.ok()) {
    std::cerr << "skeleton: " << invocation.status().message() << "\n";
    return 2;
  }
  if (invocation->help) {
    std::cout << invocation->help_text;
    return 0;
  }
  auto server = vlarft::services::ServiceServer::Start(invocation->server, {}, "skeleton");
  if (!server.ok()) {
    std::cerr << "skeleton: " << server.status().message() << "\n";
    return 1;
  }
  if (auto* metrics = (*server)->metrics()) {
    prometheus::BuildCounter()
        .Name("vlarft_skeleton_greetings_total")
        .Help("test counter")
        .Register(metrics->registry())
        .Add({})
        .Increment(invocation->config.greeting_count);
  }
  const int sig = signals.Wait();
  LOG(INFO) << "event=signal signal=" << sig;
  (*server)->Shutdown();
  return 0;
}
