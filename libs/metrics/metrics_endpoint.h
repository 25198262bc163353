// The Prometheus `/metrics` HTTP endpoint of a process, as an RAII object: the exposer listens from
// Start() until destruction. Each process owns one registry; components register their families in
// it (no global registry).
#pragma once

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "prometheus/exposer.h"
#include "prometheus/registry.h"

namespace vlarft::metrics {

class MetricsEndpoint {
 public:
  // Listens on host:port ("0.0.0.0", 0 = any free port). UNAVAILABLE if the port cannot be bound.
  static absl::StatusOr<std::unique_ptr<MetricsEndpoint>> Start(const std::string& host, int port);

  MetricsEndpoint(const MetricsEndpoint&) = delete;
  MetricsEndpoint& operator=(const MetricsEndpoint&) = delete;

  // The port actually bound (useful when started with port 0).
  int port() const { return port_; }
  prometheus::Registry& registry() { return *registry_; }
  std::shared_ptr<prometheus::Registry> shared_registry() { return registry_; }

 private:
  MetricsEndpoint(std::unique_ptr<prometheus::Exposer> exposer,
                  std::shared_ptr<prometheus::Registry> registry, int port);

  std::unique_ptr<prometheus::Exposer> exposer_;
  std::shared_ptr<prometheus::Registry> registry_;
  int port_;
};

}  // namespace vlarft::metrics
