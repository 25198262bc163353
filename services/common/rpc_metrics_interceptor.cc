#include "services/common/rpc_metrics_interceptor.h"

#include <chrono>

#include "absl/status/status.h"
#include "absl/strings/match.h"

namespace vlarft::services {
namespace {

using grpc::experimental::InterceptionHookPoints;

// One per call (gRPC creates it with the call and destroys it after the call's last operation).
class RpcMetricsInterceptor : public grpc::experimental::Interceptor {
 public:
  RpcMetricsInterceptor(metrics::RpcMetrics* metrics, std::string method)
      : metrics_(metrics), method_(std::move(method)), start_(std::chrono::steady_clock::now()) {}

  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::PRE_SEND_STATUS)) {
      const grpc::Status status = methods->GetSendStatus();
      // gRPC's and Abseil's codes share their numbers: the label reads as the handlers' statuses did.
      code_ = absl::StatusCodeToString(static_cast<absl::StatusCode>(status.error_code()));
      status_sent_ = true;
    }
    methods->Proceed();
  }

  ~RpcMetricsInterceptor() override {
    // A call cancelled before the handler answered never sends a status of ours.
    const std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - start_;
    metrics_->Record(method_, status_sent_ ? code_ : "CANCELLED", elapsed.count());
  }

 private:
  metrics::RpcMetrics* metrics_;
  std::string method_;
  std::chrono::steady_clock::time_point start_;
  std::string code_;
  bool status_sent_ = false;
};

class RpcMetricsInterceptorFactory : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  explicit RpcMetricsInterceptorFactory(metrics::RpcMetrics* metrics) : metrics_(metrics) {}
  grpc::experimental::Interceptor* CreateServerInterceptor(grpc::experimental::ServerRpcInfo* info) override {
    const std::string method = info->method() != nullptr ? info->method() : "";
    if (absl::StartsWith(method, "/grpc.")) return nullptr;  // health and reflection
    return new RpcMetricsInterceptor(metrics_, ShortMethodName(method));
  }

 private:
  metrics::RpcMetrics* metrics_;
};

}  // namespace

std::string ShortMethodName(const std::string& full_method) {
  const size_t slash = full_method.rfind('/');
  return slash == std::string::npos ? full_method : full_method.substr(slash + 1);
}

std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface> MakeRpcMetricsInterceptorFactory(
    metrics::RpcMetrics* metrics) {
  return std::make_unique<RpcMetricsInterceptorFactory>(metrics);
}

}  // namespace vlarft::services
