// The production RewardBackend: libs/rl's RewardScorer, with the world-model tokenizer's context
// encoder as the feature extractor of the default "tokenizer" perceptual distance.
#pragma once

#include <memory>
#include <string>

#include "libs/models/tokenizer.h"
#include "libs/reward/feature_distance.h"
#include "libs/reward/reward.h"
#include "libs/reward/tokenizer_features.h"
#include "services/reward/reward_backend.h"

namespace vlarft::services {

// The tokenizer's multi-scale encoder features for rewards (libs/rl, shared with reward studies).
using reward::TokenizerFeatureExtractor;

class ScorerBackend : public RewardBackend {
 public:
  ScorerBackend(std::unique_ptr<reward::RewardScorer> scorer, VerifierFacts facts)
      : scorer_(std::move(scorer)), facts_(std::move(facts)) {}
  const VerifierFacts& Facts() const override { return facts_; }
  absl::StatusOr<ScoreResults> ScoreBatch(const std::vector<const ScoreJob*>& jobs) override;

 private:
  std::unique_ptr<reward::RewardScorer> scorer_;
  VerifierFacts facts_;
};

// Builds the scorer from `config`; loads the tokenizer at `tokenizer_stem` when the perceptual
// distance is "tokenizer" (an error if the stem is empty then).
absl::StatusOr<std::unique_ptr<ScorerBackend>> LoadScorerBackend(const reward::RewardConfig& config,
                                                                 const std::string& tokenizer_stem, int64_t frame_size,
                                                                 int64_t max_group_size, int64_t max_frames);

}  // namespace vlarft::services
