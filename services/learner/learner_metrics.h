// The learner's Prometheus series (docs/architecture.md, "Processes": loss terms, reward mean/std, policy version,
// staleness, group throughput). Names are what deploy/prometheus and the Grafana dashboard query.
#pragma once

#include <cstdint>
#include <mutex>

#include "libs/rl/grpo_learner.h"
#include "prometheus/counter.h"
#include "prometheus/gauge.h"
#include "prometheus/histogram.h"
#include "prometheus/registry.h"

namespace vlarft::services {

class LearnerMetrics {
 public:
  explicit LearnerMetrics(prometheus::Registry& registry);

  void RecordStep(const rl::LearnerStepMetrics& m, double seconds, int64_t version, double groups_per_second);
  void RecordStaleness(int64_t lag) { staleness_.Observe(static_cast<double>(lag)); }
  void RecordIntake(int accepted, int duplicates, bool rejected_full);
  // The intake drops stale groups on arrival and again while they wait (the policy moved on), so
  // the counter follows the intake's own total, the figure GetStatus reports.
  void SyncDroppedStale(int64_t total);
  void SetQueueDepth(int64_t depth) { queue_depth_.Set(static_cast<double>(depth)); }
  void SetVersion(int64_t version) { version_.Set(static_cast<double>(version)); }

 private:
  prometheus::Gauge& Gauge(prometheus::Registry& registry, const std::string& name, const std::string& help);

  prometheus::Gauge &step_, &version_, &reward_mean_, &reward_std_, &advantage_abs_, &zero_variance_;
  prometheus::Gauge &loss_, &policy_loss_, &entropy_, &flow_matching_, &kl_, &clip_fraction_, &dual_clip_fraction_;
  prometheus::Gauge &approx_kl_, &sigma_mean_, &grad_norm_, &head_lr_, &groups_per_second_, &queue_depth_;
  prometheus::Counter &groups_accepted_, &groups_duplicate_, &groups_stale_, &submissions_rejected_full_;
  prometheus::Counter &groups_trained_, &steps_, &steps_skipped_;
  prometheus::Histogram &step_seconds_, &staleness_;
  std::mutex stale_mu_;  // SyncDroppedStale runs on RPC threads and the training thread
};

}  // namespace vlarft::services
