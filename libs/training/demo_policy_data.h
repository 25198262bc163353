// Demonstrations (libs/data) as the policy trainer's data source: random (episode, t) pairs of the
// training or validation split, with the expert chunk a_{t:t+C} (padded at episode ends) and the
// subgoal: the gripper's (x, y) at the next step from t on where the gripper command flips (the
// grasp before a grasp, the release while carrying; the episode's last position after the last flip).
#pragma once

#include "libs/data/demo_dataset.h"
#include "libs/models/train_policy.h"

namespace vlarft::training {

class DemoPolicyData : public models::PolicyDataSource {
 public:
  DemoPolicyData(const data::DemoDataset* dataset, int64_t chunk_length, uint64_t split_seed, double validation_fraction);
  absl::StatusOr<models::PolicyBatch> SampleBatch(int64_t batch_size, bool validation, at::Generator& generator) override;
  std::vector<std::string> Instructions() const override;
  std::vector<double> ActionMin() const override { return dataset_->actions.min; }
  std::vector<double> ActionMax() const override { return dataset_->actions.max; }
  std::vector<double> ProprioMin() const override { return dataset_->proprio.min; }
  std::vector<double> ProprioMax() const override { return dataset_->proprio.max; }

 private:
  const data::DemoDataset* dataset_;
  int64_t chunk_length_;
  std::vector<int64_t> train_, validation_;
  std::vector<std::vector<float>> subgoals_;  // per episode, [length * 2]
};

// Per step t of an episode: the (x, y) of ee_states at the first step k >= t whose gripper command
// (action dim 6, > 0 = close) differs from step k - 1's; the last step's (x, y) if there is none.
std::vector<float> NextGripperFlipXy(const data::Episode& episode);

}  // namespace vlarft::training
