// The world-model tokenizer's multi-scale encoder features as the feature extractor of the reward's
// default "tokenizer" perceptual distance (docs/architecture.md, "The math and where it lives"): [0, 1] images in, [-1, 1] for the model.
// Shared by the reward service and offline reward studies.
#pragma once

#include <memory>
#include <vector>

#include "libs/models/tokenizer.h"
#include "libs/reward/feature_distance.h"

namespace vlarft::reward {

class TokenizerFeatureExtractor : public MultiScaleFeatureExtractor {
 public:
  // Puts the tokenizer in eval mode.
  explicit TokenizerFeatureExtractor(models::VideoTokenizer tokenizer);
  std::vector<torch::Tensor> Features(const torch::Tensor& images) override;

 private:
  models::VideoTokenizer tokenizer_;
};

}  // namespace vlarft::reward
