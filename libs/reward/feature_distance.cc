#include "libs/reward/feature_distance.h"

#include <utility>

namespace vlarft::reward {
namespace {

// The official LPIPS normalize_tensor: the epsilon is added to the norm, not under the root.
torch::Tensor UnitNormalizeChannels(const torch::Tensor& f) {
  return f / (f.pow(2).sum(1, /*keepdim=*/true).sqrt() + 1e-10);
}

}  // namespace

torch::Tensor NormalizedFeatureDistance(const std::vector<torch::Tensor>& a, const std::vector<torch::Tensor>& b,
                                        const std::vector<torch::Tensor>& channel_weights,
                                        ScaleReduction reduction) {
  TORCH_CHECK(!a.empty() && a.size() == b.size(), "feature lists must be non-empty and of equal length, got ",
              a.size(), " and ", b.size());
  TORCH_CHECK(channel_weights.empty() || channel_weights.size() == a.size(), "expected ", a.size(),
              " channel weight vectors, got ", channel_weights.size());
  torch::Tensor total;
  for (size_t s = 0; s < a.size(); ++s) {
    TORCH_CHECK(a[s].dim() == 4 && a[s].sizes() == b[s].sizes(), "feature scale ", s,
                " must be two equal [N, C, H, W] maps, got ", a[s].sizes(), " and ", b[s].sizes());
    torch::Tensor diff = (UnitNormalizeChannels(a[s]) - UnitNormalizeChannels(b[s])).pow(2);
    if (!channel_weights.empty()) {
      const torch::Tensor& w = channel_weights[s];
      TORCH_CHECK(w.numel() == diff.size(1), "scale ", s, " has ", diff.size(1), " channels but ", w.numel(),
                  " weights");
      diff = diff * w.reshape({1, -1, 1, 1}).to(diff.dtype());
    }
    const torch::Tensor d = diff.sum(1).mean({1, 2});  // [N]
    total = total.defined() ? total + d : d;
  }
  if (reduction == ScaleReduction::kMean) total = total / static_cast<double>(a.size());
  return total;
}

FeatureDistance::FeatureDistance(std::shared_ptr<MultiScaleFeatureExtractor> extractor, Options options)
    : extractor_(std::move(extractor)), options_(std::move(options)) {}

torch::Tensor FeatureDistance::Compute(const torch::Tensor& images, const torch::Tensor& references,
                                       const torch::Tensor& reference_index) {
  TORCH_CHECK(extractor_ != nullptr, "distance '", options_.name, "' has no feature extractor");
  const int64_t n = images.size(0);
  const int64_t m = references.size(0);
  // One pass over everything: a batch's trajectories and its (few) shared reference frames.
  const std::vector<torch::Tensor> features = extractor_->Features(torch::cat({images, references}));
  TORCH_CHECK(!features.empty(), "feature extractor returned no feature maps");
  std::vector<torch::Tensor> of_images, of_references;
  of_images.reserve(features.size());
  of_references.reserve(features.size());
  for (size_t s = 0; s < features.size(); ++s) {
    const torch::Tensor& f = features[s];
    TORCH_CHECK(f.dim() == 4 && f.size(0) == n + m, "feature scale ", s, " must be [", n + m,
                ", C, H, W], got ", f.sizes());
    of_images.push_back(f.narrow(0, 0, n));
    of_references.push_back(f.narrow(0, n, m).index_select(0, reference_index));
  }
  return NormalizedFeatureDistance(of_images, of_references, options_.channel_weights, options_.reduction);
}

std::unique_ptr<PerceptualDistance> MakeTokenizerDistance(std::shared_ptr<MultiScaleFeatureExtractor> extractor) {
  FeatureDistance::Options options;
  options.name = "tokenizer";
  options.reduction = ScaleReduction::kMean;
  return std::make_unique<FeatureDistance>(std::move(extractor), std::move(options));
}

}  // namespace vlarft::reward
