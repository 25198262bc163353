// Demonstrations (libs/data) as the tokenizer and world-model trainers' data source: clips of
// `steps` actions and steps + 1 frames from random (episode, t) of the training or validation
// split (the same per-episode split as the policy and the RFT prompts: data::IsValidationEpisode).
// t is drawn so the clip fits inside the episode; episodes shorter than a clip repeat their last
// frame with a motionless action (zero Δxyz, same gripper command).
#pragma once

#include <vector>

#include "libs/data/demo_dataset.h"
#include "libs/models/video_data.h"

namespace vlarft::training {

class DemoVideoData : public models::VideoDataSource {
 public:
  DemoVideoData(const data::DemoDataset* dataset, uint64_t split_seed, double validation_fraction);

  absl::StatusOr<models::VideoClips> SampleClips(int64_t batch, int64_t steps, bool validation,
                                                 at::Generator& generator) override;
  int64_t image_size() const override { return dataset_->image_size; }
  std::vector<double> ActionMin() const override { return dataset_->actions.min; }
  std::vector<double> ActionMax() const override { return dataset_->actions.max; }

  int64_t training_episodes() const { return static_cast<int64_t>(train_.size()); }
  int64_t validation_episodes() const { return static_cast<int64_t>(validation_.size()); }

 private:
  const data::DemoDataset* dataset_;
  std::vector<int64_t> train_, validation_;
};

}  // namespace vlarft::training
