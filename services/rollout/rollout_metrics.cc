#include "services/rollout/rollout_metrics.h"

#include "libs/metrics/rpc_metrics.h"

namespace vlarft::services {

RolloutMetrics::RolloutMetrics(prometheus::Registry& r)
    : stage_seconds_(prometheus::BuildHistogram()
                         .Name("vlarft_rollout_stage_seconds")
                         .Help("wall time per rollout stage (policy, simulator, reward, submit, total)")
                         .Register(r)),
      errors_(prometheus::BuildCounter().Name("vlarft_rollout_errors_total").Help("failed stages").Register(r)),
      submitted_(prometheus::BuildCounter()
                     .Name("vlarft_rollout_groups_submitted_total")
                     .Help("groups accepted by the learner")
                     .Register(r)
                     .Add({})),
      reward_mean_(prometheus::BuildGauge()
                       .Name("vlarft_rollout_reward_mean")
                       .Help("mean reward of the last submitted group")
                       .Register(r)
                       .Add({})),
      version_(prometheus::BuildGauge()
                   .Name("vlarft_rollout_policy_version")
                   .Help("policy weight version this worker samples with")
                   .Register(r)
                   .Add({})) {}

void RolloutMetrics::ObserveStage(const std::string& stage, double seconds) {
  stage_seconds_.Add({{"stage", stage}}, metrics::LatencyBuckets()).Observe(seconds);
}

void RolloutMetrics::CountError(const std::string& stage) { errors_.Add({{"stage", stage}}).Increment(); }

void RolloutMetrics::GroupSubmitted(double reward_mean) {
  submitted_.Increment();
  reward_mean_.Set(reward_mean);
}

}  // namespace vlarft::services
