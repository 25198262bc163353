// The production PromptSource: prompts drawn from LIBERO-layout demonstrations (libs/data).
#pragma once

#include <memory>

#include "libs/data/demo_dataset.h"
#include "libs/data/prompts.h"
#include "libs/rollout/prompt.h"

namespace vlarft::rollout {

class DemoPromptSource : public PromptSource {
 public:
  // Loads `dir` at `image_size`; `steps` = chunk_length * horizon expert actions per prompt.
  static absl::StatusOr<std::unique_ptr<DemoPromptSource>> Load(const std::string& dir,
                                                                const std::vector<std::string>& suites, int image_size,
                                                                uint64_t split_seed, double validation_fraction,
                                                                int64_t steps);
  absl::StatusOr<Prompt> Get(uint64_t index) override;
  size_t episodes() const { return dataset_->episodes.size(); }
  // The loaded demonstrations (what a real-simulator backend replays prompts from).
  const data::DemoDataset& dataset() const { return *dataset_; }

 private:
  DemoPromptSource(std::unique_ptr<data::DemoDataset> dataset, data::PromptSampler sampler, int64_t steps, std::string dir)
      : dataset_(std::move(dataset)), sampler_(std::move(sampler)), steps_(steps), dir_(std::move(dir)) {}
  std::unique_ptr<data::DemoDataset> dataset_;
  data::PromptSampler sampler_;
  int64_t steps_;
  std::string dir_;
};

}  // namespace vlarft::rollout
