#include "libs/training/demo_policy_data.h"

#include <algorithm>
#include <cstring>
#include <set>

#include "libs/data/prompts.h"

namespace vlarft::training {

DemoPolicyData::DemoPolicyData(const data::DemoDataset* dataset, int64_t chunk_length, uint64_t split_seed,
                               double validation_fraction)
    : dataset_(dataset), chunk_length_(chunk_length) {
  for (int64_t e = 0; e < static_cast<int64_t>(dataset->episodes.size()); ++e) {
    (data::IsValidationEpisode(split_seed, e, validation_fraction) ? validation_ : train_).push_back(e);
  }
  if (validation_.empty()) validation_ = train_;  // tiny datasets: validate on training data
  subgoals_.reserve(dataset->episodes.size());
  for (const data::Episode& e : dataset->episodes) subgoals_.push_back(NextGripperFlipXy(e));
}

std::vector<float> NextGripperFlipXy(const data::Episode& episode) {
  const int64_t n = episode.length;
  std::vector<float> xy(static_cast<size_t>(std::max<int64_t>(n, 0)) * 2);
  if (n <= 0) return xy;
  auto closes = [&](int64_t k) { return episode.action(k)[6] > 0; };
  float x = episode.state(n - 1)[0], y = episode.state(n - 1)[1];
  for (int64_t t = n - 1; t >= 0; --t) {
    if (t > 0 && closes(t) != closes(t - 1)) x = episode.state(t)[0], y = episode.state(t)[1];
    xy[2 * t] = x, xy[2 * t + 1] = y;
  }
  return xy;
}

std::vector<std::string> DemoPolicyData::Instructions() const {
  std::set<std::string> unique;
  for (const data::Episode& e : dataset_->episodes) unique.insert(e.instruction);
  return {unique.begin(), unique.end()};
}

absl::StatusOr<models::PolicyBatch> DemoPolicyData::SampleBatch(int64_t batch_size, bool validation,
                                                                at::Generator& generator) {
  const std::vector<int64_t>& pool = validation ? validation_ : train_;
  if (pool.empty()) return absl::FailedPreconditionError("no demonstrations to train on");
  const int size = dataset_->image_size;
  models::PolicyBatch batch;
  batch.frames = torch::empty({batch_size, size, size, 3}, torch::kUInt8);
  batch.proprio = torch::empty({batch_size, data::kProprioDim}, torch::kFloat32);
  batch.actions = torch::empty({batch_size, chunk_length_, data::kActionDim}, torch::kFloat32);
  batch.subgoals = torch::empty({batch_size, 2}, torch::kFloat32);
  const torch::Tensor picks = torch::rand({batch_size, 2}, generator, torch::kFloat64);
  auto p = picks.accessor<double, 2>();
  for (int64_t b = 0; b < batch_size; ++b) {
    const int64_t index = pool[std::min<size_t>(pool.size() - 1, static_cast<size_t>(p[b][0] * pool.size()))];
    const data::Episode& e = dataset_->episodes[index];
    const int64_t t = std::min<int64_t>(e.length - 1, static_cast<int64_t>(p[b][1] * e.length));
    std::memcpy(batch.subgoals[b].data_ptr<float>(), subgoals_[index].data() + 2 * t, sizeof(float) * 2);
    std::memcpy(batch.frames[b].data_ptr<uint8_t>(), e.frame(t), static_cast<size_t>(size) * size * 3);
    std::memcpy(batch.proprio[b].data_ptr<float>(), e.state(t), sizeof(float) * data::kProprioDim);
    float* chunk = batch.actions[b].data_ptr<float>();
    for (int64_t k = 0; k < chunk_length_; ++k) {
      std::memcpy(chunk + k * data::kActionDim, e.action(std::min(t + k, e.length - 1)), sizeof(float) * data::kActionDim);
    }
    batch.instructions.push_back(e.instruction);
  }
  return batch;
}

}  // namespace vlarft::training
