#include "services/learner/learner_metrics.h"

#include "libs/metrics/rpc_metrics.h"

namespace vlarft::services {

prometheus::Gauge& LearnerMetrics::Gauge(prometheus::Registry& registry, const std::string& name,
                                         const std::string& help) {
  return prometheus::BuildGauge().Name(name).Help(help).Register(registry).Add({});
}

namespace {
prometheus::Counter& Counter(prometheus::Registry& registry, const std::string& name, const std::string& help) {
  return prometheus::BuildCounter().Name(name).Help(help).Register(registry).Add({});
}
}  // namespace

LearnerMetrics::LearnerMetrics(prometheus::Registry& r)
    : step_(Gauge(r, "vlarft_learner_step", "optimiser steps taken")),
      version_(Gauge(r, "vlarft_learner_policy_version", "newest published policy weight version")),
      reward_mean_(Gauge(r, "vlarft_learner_reward_mean", "mean reward of the groups of the last step")),
      reward_std_(Gauge(r, "vlarft_learner_reward_std", "reward standard deviation of the last step")),
      advantage_abs_(Gauge(r, "vlarft_learner_advantage_abs_mean", "mean |advantage| of the last step")),
      zero_variance_(Gauge(r, "vlarft_learner_zero_variance_groups", "fraction of groups with identical rewards")),
      loss_(Gauge(r, "vlarft_learner_loss", "total GRPO loss")),
      policy_loss_(Gauge(r, "vlarft_learner_policy_loss", "clipped policy-gradient term")),
      entropy_(Gauge(r, "vlarft_learner_entropy", "mean per-dimension chain entropy")),
      flow_matching_(Gauge(r, "vlarft_learner_flow_matching_loss", "auxiliary flow-matching MSE")),
      kl_(Gauge(r, "vlarft_learner_kl", "KL to the SFT reference")),
      clip_fraction_(Gauge(r, "vlarft_learner_clip_fraction", "fraction of tokens clipped")),
      dual_clip_fraction_(Gauge(r, "vlarft_learner_dual_clip_fraction", "fraction of tokens dual-clipped")),
      approx_kl_(Gauge(r, "vlarft_learner_approx_kl", "mean (old - new) log-prob")),
      sigma_mean_(Gauge(r, "vlarft_learner_sigma_mean", "mean SDE noise scale")),
      grad_norm_(Gauge(r, "vlarft_learner_grad_norm", "gradient norm before clipping")),
      head_lr_(Gauge(r, "vlarft_learner_head_lr", "current flow-head learning rate")),
      groups_per_second_(Gauge(r, "vlarft_learner_groups_per_second", "groups trained per second, last step")),
      queue_depth_(Gauge(r, "vlarft_learner_intake_queue_depth", "groups waiting to be trained on")),
      groups_accepted_(Counter(r, "vlarft_learner_groups_accepted_total", "groups accepted by SubmitGroups")),
      groups_duplicate_(Counter(r, "vlarft_learner_groups_duplicate_total", "resubmitted groups ignored")),
      groups_stale_(Counter(r, "vlarft_learner_groups_dropped_stale_total", "groups dropped as too old")),
      submissions_rejected_full_(Counter(r, "vlarft_learner_submissions_rejected_full_total",
                                         "SubmitGroups calls refused because the intake was full")),
      groups_trained_(Counter(r, "vlarft_learner_groups_trained_total", "groups used in optimiser steps")),
      steps_(Counter(r, "vlarft_learner_steps_total", "optimiser steps")),
      steps_skipped_(Counter(r, "vlarft_learner_steps_skipped_nonfinite_total",
                             "batches whose gradient was not finite: no update made")),
      step_seconds_(prometheus::BuildHistogram()
                        .Name("vlarft_learner_step_seconds")
                        .Help("wall time of one optimiser step")
                        .Register(r)
                        .Add({}, metrics::LatencyBuckets())),
      staleness_(prometheus::BuildHistogram()
                     .Name("vlarft_learner_staleness_versions")
                     .Help("policy versions between sampling and training a group")
                     .Register(r)
                     .Add({}, prometheus::Histogram::BucketBoundaries{0, 1, 2, 3, 5, 8})) {}

void LearnerMetrics::RecordStep(const rl::LearnerStepMetrics& m, double seconds, int64_t version,
                                double groups_per_second) {
  if (m.skipped_nonfinite) {
    steps_skipped_.Increment();
    return;
  }
  step_.Set(static_cast<double>(m.step));
  version_.Set(static_cast<double>(version));
  reward_mean_.Set(m.reward_mean);
  reward_std_.Set(m.reward_std);
  advantage_abs_.Set(m.advantage_abs_mean);
  zero_variance_.Set(m.zero_variance_groups);
  loss_.Set(m.loss);
  policy_loss_.Set(m.policy_loss);
  entropy_.Set(m.entropy);
  flow_matching_.Set(m.flow_matching);
  kl_.Set(m.kl);
  clip_fraction_.Set(m.clip_fraction);
  dual_clip_fraction_.Set(m.dual_clip_fraction);
  approx_kl_.Set(m.approx_kl);
  sigma_mean_.Set(m.sigma_mean);
  grad_norm_.Set(m.grad_norm);
  head_lr_.Set(m.head_lr);
  groups_per_second_.Set(groups_per_second);
  groups_trained_.Increment(static_cast<double>(m.groups));
  steps_.Increment();
  step_seconds_.Observe(seconds);
}

void LearnerMetrics::RecordIntake(int accepted, int duplicates, bool rejected_full) {
  groups_accepted_.Increment(accepted);
  groups_duplicate_.Increment(duplicates);
  if (rejected_full) submissions_rejected_full_.Increment();
}

void LearnerMetrics::SyncDroppedStale(int64_t total) {
  std::lock_guard<std::mutex> lock(stale_mu_);
  const double behind = static_cast<double>(total) - groups_stale_.Value();
  if (behind > 0) groups_stale_.Increment(behind);
}

}  // namespace vlarft::services
