#include "libs/metrics/rpc_metrics.h"

#include <cmath>
#include <utility>

namespace vlarft::metrics {

prometheus::Histogram::BucketBoundaries LatencyBuckets() {
  prometheus::Histogram::BucketBoundaries buckets;
  for (double b = 0.001; b < 70.0; b *= 2.0) buckets.push_back(b);
  return buckets;
}

prometheus::Histogram::BucketBoundaries PowerOfTwoBuckets(double max) {
  prometheus::Histogram::BucketBoundaries buckets;
  for (double b = 1.0;; b *= 2.0) {
    buckets.push_back(b);
    if (b >= max) break;
  }
  return buckets;
}

RpcMetrics::RpcMetrics(prometheus::Registry& registry, std::string service)
    : service_(std::move(service)),
      requests_(prometheus::BuildCounter()
                    .Name("vlarft_rpc_requests_total")
                    .Help("RPCs served, by service, method and status code")
                    .Register(registry)),
      latency_(prometheus::BuildHistogram()
                   .Name("vlarft_rpc_latency_seconds")
                   .Help("Server-side RPC latency, by service and method")
                   .Register(registry)) {}

void RpcMetrics::Record(const std::string& method, const std::string& code, double seconds) {
  requests_.Add({{"service", service_}, {"method", method}, {"code", code}}).Increment();
  prometheus::Histogram* histogram = nullptr;
  {
    absl::MutexLock lock(&mu_);
    auto it = latency_by_method_.find(method);
    if (it == latency_by_method_.end()) {
      histogram = &latency_.Add({{"service", service_}, {"method", method}}, LatencyBuckets());
      latency_by_method_.emplace(method, histogram);
    } else {
      histogram = it->second;
    }
  }
  histogram->Observe(seconds);
}

}  // namespace vlarft::metrics
