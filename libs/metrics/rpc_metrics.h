// Request counters and latency histograms per RPC, labelled {service, method, code}, shared by all
// servers so dashboards and alerts can treat them uniformly:
//   vlarft_rpc_requests_total{service="simulator",method="Imagine",code="OK"}
//   vlarft_rpc_latency_seconds_bucket{service="simulator",method="Imagine",le="0.05"}
#pragma once

#include <chrono>
#include <map>
#include <string>

#include "absl/synchronization/mutex.h"
#include "prometheus/counter.h"
#include "prometheus/family.h"
#include "prometheus/histogram.h"
#include "prometheus/registry.h"

namespace vlarft::metrics {

// Exponential buckets from 1 ms to ~65 s, for request latencies.
prometheus::Histogram::BucketBoundaries LatencyBuckets();
// 1, 2, 4, ... up to >= max, for batch sizes and queue depths.
prometheus::Histogram::BucketBoundaries PowerOfTwoBuckets(double max);

class RpcMetrics {
 public:
  RpcMetrics(prometheus::Registry& registry, std::string service);

  // Records one finished call.
  void Record(const std::string& method, const std::string& code, double seconds);


 private:
  const std::string service_;
  prometheus::Family<prometheus::Counter>& requests_;
  prometheus::Family<prometheus::Histogram>& latency_;
  absl::Mutex mu_;
  // prometheus-cpp's Family::Add is thread-safe but hashes labels on every call; cache per method.
  std::map<std::string, prometheus::Histogram*> latency_by_method_ ABSL_GUARDED_BY(mu_);
};

}  // namespace vlarft::metrics
