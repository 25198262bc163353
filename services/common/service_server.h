// The server skeleton every service binary uses (docs/architecture.md, "Processes"): a gRPC server with the standard
// health service (grpc.health.v1) and reflection, explicit message-size limits, optional TLS, a
// Prometheus /metrics endpoint, a ready file, and graceful shutdown that drains in-flight calls.
//
//   ShutdownSignal signals;                       // first, before any thread exists
//   ... build the service implementation ...
//   VLARFT_ASSIGN_OR_RETURN(auto server, ServiceServer::Start(options, {&service}, "simulator"));
//   signals.Wait();
//   server->Shutdown();
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "grpcpp/grpcpp.h"
#include "libs/metrics/metrics_endpoint.h"
#include "libs/metrics/rpc_metrics.h"
#include "services/common/server_options.h"

namespace vlarft::services {

class ServiceServer {
 public:
  // Binds and starts serving `services` (not owned; must outlive the server). Metrics families are
  // registered by the caller into metrics()->registry() before or after Start. `name` labels logs.
  // UNAVAILABLE if a port cannot be bound, INVALID_ARGUMENT for bad options or unreadable TLS files.
  // Pass `metrics` when services must register their metric families before serving (see
  // StartMetricsEndpoint); otherwise the endpoint is started here as configured.
  // With metrics enabled, every RPC of `services` is recorded by one interceptor
  // (rpc_metrics_interceptor.h) under the label service=`rpc_service` (empty: `name`).
  static absl::StatusOr<std::unique_ptr<ServiceServer>> Start(
      const ServerOptions& options, const std::vector<grpc::Service*>& services,
      const std::string& name, std::unique_ptr<metrics::MetricsEndpoint> metrics = nullptr,
      const std::string& rpc_service = "");

  ServiceServer(const ServiceServer&) = delete;
  ServiceServer& operator=(const ServiceServer&) = delete;
  ~ServiceServer();  // shuts down (without grace) if Shutdown() was not called

  int port() const { return port_; }
  // The plaintext health-only port, or -1 when options.health_port is -1.
  int health_port() const { return health_port_; }
  // -1 when metrics are disabled.
  int metrics_port() const { return metrics_ ? metrics_->port() : -1; }
  // nullptr when metrics are disabled.
  metrics::MetricsEndpoint* metrics() { return metrics_.get(); }
  grpc::Server& grpc_server() { return *server_; }

  // Marks every service NOT_SERVING (so load balancers stop routing here), stops accepting calls,
  // gives in-flight calls up to options.shutdown_grace_s to finish, then cancels the rest.
  void Shutdown();

 private:
  ServiceServer(std::string name, ServerOptions options, std::unique_ptr<metrics::MetricsEndpoint> metrics,
                std::unique_ptr<metrics::RpcMetrics> rpc_metrics, std::unique_ptr<grpc::Server> server, int port);
  // Builds and starts the health-only server of options.health_port (if any).
  absl::Status StartHealthServer();

  std::string name_;
  ServerOptions options_;
  // Destroyed in reverse order: the server (whose interceptors record into rpc_metrics_) first,
  // then the RPC metrics, then the registry they live in.
  std::unique_ptr<metrics::MetricsEndpoint> metrics_;
  std::unique_ptr<metrics::RpcMetrics> rpc_metrics_;
  std::unique_ptr<grpc::Server> server_;
  int port_;
  std::unique_ptr<grpc::Server> health_server_;  // plaintext, grpc.health.v1 only
  int health_port_ = -1;
  bool shut_down_ = false;
};

// The /metrics endpoint ServerOptions asks for, or nullptr when metrics_port is -1. Start it before
// constructing service implementations so they can register into its registry, then hand it to
// ServiceServer::Start.
absl::StatusOr<std::unique_ptr<metrics::MetricsEndpoint>> StartMetricsEndpoint(const ServerOptions& options);

// What --validate=full checks of the server options short of binding ports: the options' own rules
// and that the TLS certificate, key and client CA are readable.
absl::Status ValidateServerFiles(const ServerOptions& options);

}  // namespace vlarft::services
