// Per-RPC metrics for every method a server serves, recorded in one place (docs/operations.md,
// "Metrics"): a gRPC server interceptor installed by ServiceServer times each call from its headers
// to its status and records vlarft_rpc_requests_total / vlarft_rpc_latency_seconds with the method's
// short name and the status code's name (the same labels handlers used to write by hand). Handlers
// then hold only their own logic; an RPC cannot be added without metrics. The standard
// grpc.* services (health, reflection) are left out: probes would drown the figures.
#pragma once

#include <memory>
#include <string>

#include "grpcpp/support/server_interceptor.h"
#include "libs/metrics/rpc_metrics.h"

namespace vlarft::services {

// `metrics` is borrowed and must outlive the server.
std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface> MakeRpcMetricsInterceptorFactory(
    metrics::RpcMetrics* metrics);

// "/vlarft.v1.RewardService/Score" -> "Score" (the whole string if it has no '/').
std::string ShortMethodName(const std::string& full_method);

}  // namespace vlarft::services
