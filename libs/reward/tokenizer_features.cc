#include "libs/reward/tokenizer_features.h"

namespace vlarft::reward {

TokenizerFeatureExtractor::TokenizerFeatureExtractor(models::VideoTokenizer tokenizer)
    : tokenizer_(std::move(tokenizer)) {
  tokenizer_->eval();
}

std::vector<torch::Tensor> TokenizerFeatureExtractor::Features(const torch::Tensor& images) {
  return tokenizer_->MultiScaleFeatures(images * 2.0 - 1.0);
}

}  // namespace vlarft::reward
