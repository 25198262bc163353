// Benchmark success of a policy that RFT keeps changing: the baseline (the policy RFT starts from)
// first, then each newer version of its trainable tensors as the learner publishes them, always the
// newest when the previous evaluation is done (versions that came and went meanwhile are skipped).
// Every evaluation uses the same settings, so consecutive versions face the same episodes and pair.
//
// Transport-free: versions come from a WeightSource callback. The vlarft-evaluator service feeds it
// from the learner's GetPolicyWeights long-poll; a test or an in-process loop can feed it directly.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "libs/evaluation/evaluate_policy.h"
#include "libs/models/policy.h"
#include "libs/rollout/policy_replica.h"
#include "libs/tabletop/report.h"

namespace vlarft::evaluation {

struct PolicyVersion {
  int64_t version = -1;
  std::map<std::string, torch::Tensor> tensors;  // trainable tensors by parameter name
};

class VersionEvaluator {
 public:
  // A version at least `min_version`, waiting at most `wait`; nullopt when none arrived in time.
  using WeightSource =
      std::function<absl::StatusOr<std::optional<PolicyVersion>>(int64_t min_version, absl::Duration wait)>;
  struct Result {
    int64_t version = -1;  // -1: the baseline
    tabletop::EvalReport report;
  };
  using ResultSink = std::function<void(const Result&)>;

  // `policy` is the baseline; its trainable tensors are replaced by each version (same rule as a
  // rollout worker's replica: every trainable tensor, matching shapes, or nothing changes).
  // `version_stride` > 1 evaluates less often: after version v, the next one asked for is the next
  // multiple of the stride (the first version at or past it), so a learner publishing every step is
  // evaluated about once per `version_stride` steps.
  VersionEvaluator(models::VlaPolicy policy, PolicyEvalSettings settings, WeightSource source, ResultSink sink,
                   int64_t version_stride = 1);

  absl::StatusOr<Result> EvaluateBaseline();
  // Waits up to `wait` for a version newer than the last one evaluated (and on the stride) and
  // evaluates it; nullopt when none arrived.
  absl::StatusOr<std::optional<Result>> EvaluateNext(absl::Duration wait);
  // The baseline, then EvaluateNext until `stop`. A failed round (learner restarting, a version that
  // does not fit the policy) is reported through `on_error` and retried after `retry_delay`: an
  // evaluator outlives learner restarts. Returns only the baseline's error, or OK on stop.
  absl::Status Run(const std::atomic<bool>& stop, absl::Duration wait, absl::Duration retry_delay,
                   const std::function<void(const absl::Status&)>& on_error);

  int64_t last_version() const { return last_version_; }

 private:
  absl::StatusOr<Result> Evaluate(int64_t version);

  models::VlaPolicy policy_;
  rollout::PolicyReplica replica_;
  PolicyEvalSettings settings_;
  WeightSource source_;
  ResultSink sink_;
  int64_t version_stride_;
  int64_t last_version_ = -1;
};

}  // namespace vlarft::evaluation
