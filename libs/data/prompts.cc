#include "libs/data/prompts.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "libs/tabletop/random.h"

namespace vlarft::data {

bool IsValidationEpisode(uint64_t seed, int64_t episode, double validation_fraction) {
  tabletop::Random r(tabletop::StreamSeed(seed, static_cast<uint64_t>(episode), 0x5157));
  return r.Uniform() < validation_fraction;
}

PromptSampler::PromptSampler(const DemoDataset* dataset, uint64_t seed, std::vector<int64_t> episodes)
    : dataset_(dataset), seed_(seed), episodes_(std::move(episodes)) {
  int64_t total = 0;
  for (int64_t e : episodes_) cumulative_.push_back(total += dataset_->episodes[e].length);
}

absl::StatusOr<PromptSampler> PromptSampler::Create(const DemoDataset* dataset, uint64_t seed,
                                                    double validation_fraction, bool validation_split) {
  std::vector<int64_t> episodes;
  for (int64_t e = 0; e < static_cast<int64_t>(dataset->episodes.size()); ++e) {
    if (dataset->episodes[e].length > 0 && IsValidationEpisode(seed, e, validation_fraction) == validation_split) {
      episodes.push_back(e);
    }
  }
  if (episodes.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("the ", validation_split ? "validation" : "training",
                                                   " split is empty (", dataset->episodes.size(),
                                                   " episodes, validation_fraction ", validation_fraction, ")"));
  }
  return PromptSampler(dataset, seed, std::move(episodes));
}

std::pair<int64_t, int64_t> PromptSampler::Locate(uint64_t index) const {
  tabletop::Random r(tabletop::StreamSeed(seed_, index, 0x9A11));
  // Uniform over all states: a global state index, then the episode holding it.
  const int64_t state = static_cast<int64_t>(r.Uniform() * static_cast<double>(num_states()));
  const size_t k = std::upper_bound(cumulative_.begin(), cumulative_.end(), state) - cumulative_.begin();
  return {episodes_[k], state - (k == 0 ? 0 : cumulative_[k - 1])};
}

PromptSample MakePromptSample(const Episode& e, int64_t episode, int64_t step, int64_t steps) {
  PromptSample s;
  s.episode = episode;
  s.source = &e;
  s.step = step;
  const size_t frame_bytes = static_cast<size_t>(e.size) * e.size * 3;
  s.expert_actions.reserve(steps * kActionDim);
  s.expert_frames.reserve(steps * frame_bytes);
  for (int64_t j = 0; j < steps; ++j) {
    const int64_t t = std::min(s.step + j, e.length - 1);
    s.expert_actions.insert(s.expert_actions.end(), e.action(t), e.action(t) + kActionDim);
    const int64_t next = std::min(s.step + j + 1, e.length - 1);
    s.expert_frames.insert(s.expert_frames.end(), e.frame(next), e.frame(next) + frame_bytes);
  }
  return s;
}

PromptSample PromptSampler::Get(uint64_t index, int64_t steps) const {
  const auto [episode, step] = Locate(index);
  return MakePromptSample(dataset_->episodes[episode], episode, step, steps);
}

}  // namespace vlarft::data
