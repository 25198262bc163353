// The Scorer implementations that need no network (scorer.h):
//   VerifierScorer     the reward verifier's computation in process (reward::RewardScorer): type 3
//                      against the simulator's frames of the expert chunk, type 2 against the real
//                      dataset frames that followed the prompt, type 1 against the expert's actions;
//   GroundTruthScorer  the benchmark's ground truth (tabletop_imaginer.h): the chunk's progress,
//                      or its success alone.
#pragma once

#include <memory>

#include "libs/reward/reward.h"
#include "libs/rollout/scorer.h"

namespace vlarft::rollout {

class VerifierScorer : public Scorer {
 public:
  // `type`: the reward type to request (kUnspecified: the scorer's configured type).
  VerifierScorer(std::unique_ptr<reward::RewardScorer> scorer, reward::RewardType type = reward::RewardType::kUnspecified)
      : scorer_(std::move(scorer)), type_(type) {}
  std::string name() const override { return "reward verifier"; }
  absl::StatusOr<torch::Tensor> Score(const ScoreInputs& inputs) override;

 private:
  std::unique_ptr<reward::RewardScorer> scorer_;
  reward::RewardType type_;
};

class GroundTruthScorer : public Scorer {
 public:
  enum class Measure { kProgress, kSuccess };
  explicit GroundTruthScorer(Measure measure = Measure::kProgress) : measure_(measure) {}
  std::string name() const override { return "ground truth"; }
  absl::StatusOr<torch::Tensor> Score(const ScoreInputs& inputs) override;

 private:
  Measure measure_;
};

}  // namespace vlarft::rollout
