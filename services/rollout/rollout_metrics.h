// A rollout worker's Prometheus series: per-stage latency, groups submitted, errors per stage, the
// policy version it samples with, and the reward of its last group.
#pragma once

#include <string>

#include "prometheus/counter.h"
#include "prometheus/family.h"
#include "prometheus/gauge.h"
#include "prometheus/histogram.h"
#include "prometheus/registry.h"

namespace vlarft::services {

class RolloutMetrics {
 public:
  explicit RolloutMetrics(prometheus::Registry& registry);
  void ObserveStage(const std::string& stage, double seconds);
  void CountError(const std::string& stage);
  void GroupSubmitted(double reward_mean);
  void SetPolicyVersion(int64_t version) { version_.Set(static_cast<double>(version)); }

 private:
  prometheus::Family<prometheus::Histogram>& stage_seconds_;
  prometheus::Family<prometheus::Counter>& errors_;
  prometheus::Counter& submitted_;
  prometheus::Gauge& reward_mean_;
  prometheus::Gauge& version_;
};

}  // namespace vlarft::services
