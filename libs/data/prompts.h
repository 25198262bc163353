// RFT prompts (DESIGN.md §4 "Prompt"): one demonstration state — frame o_t, instruction, proprio
// s_t and the expert's next H action chunks a_{t:t+8H} with the real frames that followed them —
// drawn uniformly over (episode, t) of the training split. Draw number i is a pure function of
// (seed, i), so any worker can reproduce any prompt. Chunks running past the end of an episode
// repeat its last action and frame (the task is solved there; holding still is the continuation).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "libs/data/demo_dataset.h"

namespace vlarft::data {

struct PromptSample {
  int64_t episode = 0;  // index into the dataset's episodes
  int64_t step = 0;     // t
  const Episode* source = nullptr;
  std::vector<float> expert_actions;  // [steps][7]
  std::vector<uint8_t> expert_frames; // [steps][size][size][3]: o_{t+1} .. o_{t+steps}
};

// Train/validation split by episode: deterministic in (seed, episode index).
bool IsValidationEpisode(uint64_t seed, int64_t episode, double validation_fraction);

class PromptSampler {
 public:
  // INVALID_ARGUMENT if the split leaves no training episode.
  static absl::StatusOr<PromptSampler> Create(const DemoDataset* dataset, uint64_t seed, double validation_fraction,
                                              bool validation_split = false);
  // Draw number `index`, with `steps` expert actions (chunk_length * horizon).
  PromptSample Get(uint64_t index, int64_t steps) const;
  const std::vector<int64_t>& episodes() const { return episodes_; }

 private:
  PromptSampler(const DemoDataset* dataset, uint64_t seed, std::vector<int64_t> episodes)
      : dataset_(dataset), seed_(seed), episodes_(std::move(episodes)) {}
  const DemoDataset* dataset_;
  uint64_t seed_;
  std::vector<int64_t> episodes_;
};

}  // namespace vlarft::data
