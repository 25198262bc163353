// Perceptual distances D_p between images, behind one interface (docs/architecture.md, "The math and where it lives").
//
// Every distance works on the reward library's canonical image layout: float [N, 3, H, W] with
// pixels in [0, 1], on the distance's device. Implementations:
//   lpips.h               LPIPS (VGG16 / AlexNet), weights loaded from a user-supplied file
//   feature_distance.h    LPIPS-style distance over any multi-scale feature extractor ("tokenizer")
//   image_metrics.h       1 − SSIM
// and perceptual_factory.h picks one from a RewardConfig.
#pragma once

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "libs/core/torch_compat.h"

namespace vlarft::reward {

// The public entry points validate their inputs (INVALID_ARGUMENT naming the argument), run under
// NoGradGuard, turn LibTorch exceptions into statuses, and guarantee D(x, x) == 0 exactly: a pair
// whose two images are bitwise identical gets 0 even if a network evaluated the two copies at
// different batch positions with different rounding (a perfect imagined trajectory must score the
// maximum reward, 0, not −1e-9). Not thread-safe: one caller at a time.
class PerceptualDistance {
 public:
  virtual ~PerceptualDistance() = default;

  // "lpips-vgg", "lpips-alex", "tokenizer", "ssim": the config spelling, reported by GetInfo.
  virtual std::string name() const = 0;
  // Smallest height and width the distance accepts (network receptive fields, SSIM window).
  virtual int64_t min_image_size() const { return 1; }

  // a, b: float [N, 3, H, W] in [0, 1] -> float32 [N], D(a[n], b[n]).
  absl::StatusOr<torch::Tensor> Distance(const torch::Tensor& a, const torch::Tensor& b);

  // images [N, 3, H, W], references [M, 3, H, W] (same H, W), reference_index int64 [N] in [0, M)
  // -> float32 [N], D(images[n], references[reference_index[n]]). A group's G trajectories share
  // one reference trajectory, so feature-based distances run their network over the N + M unique
  // images once instead of over 2N.
  absl::StatusOr<torch::Tensor> DistanceToReferences(const torch::Tensor& images,
                                                     const torch::Tensor& references,
                                                     const torch::Tensor& reference_index);

 private:
  absl::StatusOr<torch::Tensor> Run(const torch::Tensor& images, const torch::Tensor& references,
                                    const torch::Tensor& reference_index, const char* images_field,
                                    const char* references_field);

 protected:
  // Inputs are validated, float32 and contiguous; called under NoGradGuard. Returns [N]. May throw
  // (c10::Error); the public wrappers turn exceptions into statuses.
  virtual torch::Tensor Compute(const torch::Tensor& images, const torch::Tensor& references,
                                const torch::Tensor& reference_index) = 0;
};

// Checks that `images` is a floating [N, 3, H, W] tensor, finite, with values in [0, 1];
// INVALID_ARGUMENT naming `field` otherwise. min_size bounds H and W from below.
absl::Status CheckUnitImages(const torch::Tensor& images, const std::string& field, int64_t min_size = 1);

}  // namespace vlarft::reward
