// RFT prompts (docs/benchmark.md, "RFT prompts"): one demonstration state -- frame o_t, instruction, proprio
// s_t -- with the expert's next `steps` = 8·H actions a_{t:t+8H} and the real frames that followed
// them, drawn uniformly over all (episode, t) pairs of one split, so every demonstrated state is
// equally likely (longer episodes contribute more prompts, as in the paper's sampler).
//
// Determinism: draw number i is a pure function of (seed, i), so any worker can reproduce any
// prompt without shared state. Split: each episode is in the validation split with probability
// validation_fraction, decided by (split seed, episode index) alone.
//
// Episode ends: t ranges over every step, and a chunk running past the last action repeats it
// (and the last frame). Demonstrations end at the step that solves the task, so "keep doing the
// last thing" is a harmless continuation; restricting t instead would never show the policy the
// final approach of an episode.
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
  std::vector<float> expert_actions;   // [steps][7]: a_t .. a_{t+steps-1}
  std::vector<uint8_t> expert_frames;  // [steps][size][size][3]: o_{t+1} .. o_{t+steps}

  const uint8_t* frame() const { return source->frame(step); }        // o_t
  const float* proprio() const { return source->state(step); }       // s_t, 8 floats
  const std::string& instruction() const { return source->instruction; }
};

// The prompt at step `step` of `e` (which holds its frames), dataset index `episode`.
PromptSample MakePromptSample(const Episode& e, int64_t episode, int64_t step, int64_t steps);

// True if `episode` belongs to the validation split.
bool IsValidationEpisode(uint64_t seed, int64_t episode, double validation_fraction);

class PromptSampler {
 public:
  // INVALID_ARGUMENT if the split holds no episode with steps.
  static absl::StatusOr<PromptSampler> Create(const DemoDataset* dataset, uint64_t seed, double validation_fraction,
                                              bool validation_split = false);
  // Draw number `index`, with `steps` expert actions (chunk_length * horizon, >= 1). The dataset's
  // episodes must hold their frames.
  PromptSample Get(uint64_t index, int64_t steps) const;
  // Which (episode, step) draw number `index` is, without touching frames: for datasets loaded as an
  // index (LoadDemoDirectory with_frames = false), whose caller reads the episode and calls
  // MakePromptSample.
  std::pair<int64_t, int64_t> Locate(uint64_t index) const;
  // Episodes of this split, ascending.
  const std::vector<int64_t>& episodes() const { return episodes_; }
  // Number of (episode, t) pairs prompts are drawn from.
  int64_t num_states() const { return cumulative_.empty() ? 0 : cumulative_.back(); }

 private:
  PromptSampler(const DemoDataset* dataset, uint64_t seed, std::vector<int64_t> episodes);
  const DemoDataset* dataset_;
  uint64_t seed_;
  std::vector<int64_t> episodes_;
  std::vector<int64_t> cumulative_;  // cumulative_[i] = steps in episodes_[0..i]
};

}  // namespace vlarft::data
