// The learner's optimisation loop on every rank (docs/architecture.md, "The learner"):
//   rank 0: take prompts_per_step fresh groups from the intake, broadcast them (serialized) to all
//           ranks, train on its shard, publish version v+1, checkpoint every N steps;
//   others: receive the broadcast batch, train on their shard.
// Every rank computes the same averaged gradients, so weights stay identical. An empty broadcast
// batch tells followers to stop.
#pragma once

#include <atomic>
#include <memory>

#include "absl/status/status.h"
#include "libs/models/checkpoint.h"
#include "libs/rl/grpo_learner.h"
#include "services/learner/learner_config.h"
#include "services/learner/learner_metrics.h"
#include "services/learner/learner_service.h"
#include "services/learner/rollout_intake.h"
#include "services/learner/weight_store.h"

namespace vlarft::services {

class TrainingLoop {
 public:
  TrainingLoop(const LearnerConfig& config, rl::GrpoLearner& learner, rl::DataParallelGroup& group,
               RolloutIntake* intake, WeightStore* weights, LearnerProgress* progress, LearnerMetrics* metrics);

  // Restores the newest checkpoint if one exists (every rank; checkpoints are shared storage or
  // identical copies) and publishes the current weights as version = step (rank 0).
  absl::Status Resume();
  // Rank 0: runs until max_steps or `stop` becomes true, then stops the followers and writes a final
  // checkpoint. Followers: run until rank 0 says stop (and mark progress finished at max_steps).
  absl::Status Run(const std::atomic<bool>& stop);

 private:
  absl::Status PublishWeights();
  absl::Status TrainOn(const std::string& serialized_batch);
  absl::Status SaveCheckpoint();

  const LearnerConfig& config_;
  rl::GrpoLearner& learner_;
  rl::DataParallelGroup& group_;
  RolloutIntake* intake_;
  WeightStore* weights_;
  LearnerProgress* progress_;
  LearnerMetrics* metrics_;
  models::TrainingCheckpoints checkpoints_;
  int64_t last_checkpoint_step_ = -1;
};

}  // namespace vlarft::services
