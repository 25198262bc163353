#include "libs/training/demo_video_data.h"

#include <algorithm>
#include <cstring>

#include "libs/data/prompts.h"

namespace vlarft::training {

DemoVideoData::DemoVideoData(const data::DemoDataset* dataset, uint64_t split_seed, double validation_fraction)
    : dataset_(dataset) {
  for (int64_t e = 0; e < static_cast<int64_t>(dataset->episodes.size()); ++e) {
    if (dataset->episodes[e].length < 1) continue;
    (data::IsValidationEpisode(split_seed, e, validation_fraction) ? validation_ : train_).push_back(e);
  }
  if (validation_.empty()) validation_ = train_;  // tiny datasets: validate on training data
}

absl::StatusOr<models::VideoClips> DemoVideoData::SampleClips(int64_t batch, int64_t steps, bool validation,
                                                              at::Generator& generator) {
  const std::vector<int64_t>& pool = validation ? validation_ : train_;
  if (pool.empty()) return absl::FailedPreconditionError("no demonstrations with frames to train on");
  const int64_t size = dataset_->image_size;
  const size_t frame_bytes = static_cast<size_t>(size * size * 3);
  models::VideoClips clips;
  clips.frames = torch::empty({batch, steps + 1, size, size, 3}, torch::kUInt8);
  clips.actions = torch::zeros({batch, steps, data::kActionDim}, torch::kFloat32);
  const torch::Tensor picks = torch::rand({batch, 2}, generator, torch::kFloat64);
  auto p = picks.accessor<double, 2>();
  for (int64_t b = 0; b < batch; ++b) {
    const size_t index = std::min(pool.size() - 1, static_cast<size_t>(p[b][0] * static_cast<double>(pool.size())));
    const data::Episode& e = dataset_->episodes[pool[index]];
    const int64_t starts = std::max<int64_t>(1, e.length - steps);
    const int64_t t = std::min(starts - 1, static_cast<int64_t>(p[b][1] * static_cast<double>(starts)));
    uint8_t* frames = clips.frames[b].data_ptr<uint8_t>();
    float* actions = clips.actions[b].data_ptr<float>();
    for (int64_t k = 0; k <= steps; ++k) {
      std::memcpy(frames + k * frame_bytes, e.frame(std::min(t + k, e.length - 1)), frame_bytes);
      if (k == steps) break;
      float* a = actions + k * data::kActionDim;
      // a_{t+k} leads to o_{t+k+1}; past the recorded frames the arm holds still (no motion,
      // same gripper command) so frames and actions stay consistent.
      std::memcpy(a, e.action(std::min(t + k, e.length - 1)), sizeof(float) * data::kActionDim);
      if (t + k >= e.length - 1) std::fill(a, a + 3, 0.0f);
    }
  }
  return clips;
}

}  // namespace vlarft::training
