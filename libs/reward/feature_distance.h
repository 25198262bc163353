// LPIPS-style distances over multi-scale feature maps (Zhang et al. 2018, "The Unreasonable
// Effectiveness of Deep Features as a Perceptual Metric"):
//
//   n_s  = f_s / (‖f_s‖_channels + 1e-10)                 unit-normalise each position's channel vector
//   d_s  = mean_{h,w} Σ_c w_{s,c} (n_s(a) − n_s(b))²_c     w = 1 when there are no learned weights
//   D    = Σ_s d_s  (LPIPS)   or   (1/S) Σ_s d_s  ("tokenizer" distance)
//
// The "tokenizer" distance (docs/architecture.md, "The math and where it lives") is this formula, unweighted and averaged over scales, on
// the world-model tokenizer encoder's features; LPIPS is the same formula with learned
// non-negative per-channel weights, summed over its five backbone taps (lpips.h).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "libs/core/torch_compat.h"
#include "libs/reward/perceptual_distance.h"

namespace vlarft::reward {

// Anything that maps images to feature maps at several scales: the tokenizer's encoder (adapted by
// the world-model code), LPIPS's backbone taps, or a small conv stack in tests.
class MultiScaleFeatureExtractor {
 public:
  virtual ~MultiScaleFeatureExtractor() = default;
  // images float32 [N, 3, H, W] in [0, 1] on the extractor's device -> one [N, C_s, H_s, W_s] map
  // per scale (at least one). Called under NoGradGuard; may throw c10::Error. Implementations that
  // expect another input range (the tokenizer works in [−1, 1]) convert inside.
  virtual std::vector<torch::Tensor> Features(const torch::Tensor& images) = 0;
};

enum class ScaleReduction { kSum, kMean };

// The formula above for two lists of feature maps with matching shapes. `channel_weights` is empty
// (all ones) or holds one [C_s] tensor per scale. Returns [N].
torch::Tensor NormalizedFeatureDistance(const std::vector<torch::Tensor>& a, const std::vector<torch::Tensor>& b,
                                        const std::vector<torch::Tensor>& channel_weights,
                                        ScaleReduction reduction);

// A PerceptualDistance from an extractor: one extractor pass over the images and the unique
// references together, then NormalizedFeatureDistance.
class FeatureDistance : public PerceptualDistance {
 public:
  struct Options {
    std::string name = "tokenizer";
    std::vector<torch::Tensor> channel_weights;  // empty: unweighted
    ScaleReduction reduction = ScaleReduction::kMean;
    int64_t min_image_size = 1;
  };
  FeatureDistance(std::shared_ptr<MultiScaleFeatureExtractor> extractor, Options options);

  std::string name() const override { return options_.name; }
  int64_t min_image_size() const override { return options_.min_image_size; }

 protected:
  torch::Tensor Compute(const torch::Tensor& images, const torch::Tensor& references,
                        const torch::Tensor& reference_index) override;

 private:
  std::shared_ptr<MultiScaleFeatureExtractor> extractor_;
  Options options_;
};

// The "tokenizer" distance: unweighted, mean over scales.
std::unique_ptr<PerceptualDistance> MakeTokenizerDistance(std::shared_ptr<MultiScaleFeatureExtractor> extractor);

}  // namespace vlarft::reward
