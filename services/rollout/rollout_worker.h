// The rollout worker (docs/architecture.md, "The rollout loop"): an adapter that runs the rollout loop of libs/rollout (sample G
// SDE action chunks with chains and eval-mode log-probs, imagine them plus one shared expert
// reference, score them) against the simulator and reward services, and submits each group to the
// learner. Several prompts are
// in flight at once; the learner's RESOURCE_EXHAUSTED answers bound how far ahead workers run.
// Peers that restart are retried (UNAVAILABLE); resubmissions reuse the group id, so the learner
// never trains on a group twice.
#pragma once

#include <atomic>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "services/common/call_canceller.h"
#include "services/common/client.h"
#include "libs/rollout/group_producer.h"
#include "libs/rollout/policy_replica.h"
#include "libs/rollout/prompt.h"
#include "services/rollout/rollout_config.h"
#include "services/rollout/rollout_metrics.h"
#include "vlarft/v1/learner.grpc.pb.h"
#include "vlarft/v1/reward.grpc.pb.h"
#include "vlarft/v1/simulator.grpc.pb.h"

namespace vlarft::services {

using rollout::PolicyReplica;
using rollout::Prompt;
using rollout::PromptSource;
class GrpcImaginer;
class GrpcScorer;

class RolloutWorker {
 public:
  ~RolloutWorker();
  static absl::StatusOr<std::unique_ptr<RolloutWorker>> Create(const RolloutConfig& config, PolicyReplica* policy,
                                                               PromptSource* prompts, RolloutMetrics* metrics);

  // Fetches a policy version >= min_version (default: newer than the replica's), waiting up to
  // `wait`, and applies it. Returns true if a version was applied.
  absl::StatusOr<bool> RefreshWeights(absl::Duration wait, std::optional<int64_t> min_version = std::nullopt);
  // The learner's GetStatus (step, published version, finished), one call with a 5 s deadline.
  absl::StatusOr<v1::LearnerStatus> LearnerStatus();
  // Produces (but does not submit) the group for prompt number `index`.
  absl::StatusOr<v1::RolloutGroup> ProduceGroup(uint64_t index);
  // Submits with retries; RESOURCE_EXHAUSTED (learner busy) waits and retries until `stop`.
  absl::Status Submit(const v1::RolloutGroup& group, const std::atomic<bool>& stop);
  // Runs producers and the weight follower until `stop` or the learner reports it finished.
  absl::Status Run(const std::atomic<bool>& stop);
  bool learner_finished() const { return learner_finished_.load(); }

 private:
  RolloutWorker(const RolloutConfig& config, PolicyReplica* policy, PromptSource* prompts, RolloutMetrics* metrics);

  absl::Status Imagine(const v1::ImagineRequest& request, v1::ImagineResponse* response);
  absl::Status Score(const v1::ScoreRequest& request, v1::ScoreResponse* response);

  RolloutConfig config_;
  PolicyReplica* policy_;
  PromptSource* prompts_;
  RolloutMetrics* metrics_;
  std::string run_nonce_;
  std::unique_ptr<v1::WorldModelSimulator::Stub> simulator_;
  std::unique_ptr<v1::RewardVerifier::Stub> reward_;
  std::unique_ptr<v1::Learner::Stub> learner_;
  CallContextFactory simulator_contexts_, reward_contexts_, learner_contexts_;
  std::unique_ptr<GrpcImaginer> imaginer_;
  std::unique_ptr<GrpcScorer> scorer_;
  std::unique_ptr<rollout::GroupProducer> producer_;
  std::atomic<bool> learner_finished_{false};
  const std::atomic<bool>* stop_ = nullptr;  // Run()'s stop flag: cancels simulator/reward retries
  CallCanceller in_flight_;                   // every RPC in flight; cancelled on stop
};

}  // namespace vlarft::services
