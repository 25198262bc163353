// Full-reference image metrics: SSIM, PSNR, MSE (reused by the world-model evaluation table) and
// SSIM as a perceptual distance for the reward.
//
// SSIM (Wang et al. 2004) with the usual constants: an 11x11 Gaussian window (σ = 1.5, normalised
// to sum 1), C1 = (0.01·L)², C2 = (0.03·L)² with L the data range (1 for [0, 1] pixels). Local
// statistics use the 'valid' part of the window only (no padding; as Wang et al.'s reference code
// and tf.image.ssim), so images must be at least window × window. The SSIM map
//   ((2 μa μb + C1)(2 σab + C2)) / ((μa² + μb² + C1)(σa² + σb² + C2))
// is computed per channel and averaged over channels and positions -> one value per image.
// As a distance the reward uses D = 1 − SSIM, in [0, 2], 0 for identical images.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "libs/core/torch_compat.h"
#include "libs/reward/perceptual_distance.h"

namespace vlarft::reward {

struct SsimOptions {
  int64_t window_size = 11;
  double sigma = 1.5;
  double k1 = 0.01;
  double k2 = 0.03;
  double data_range = 1.0;
};

// a, b: floating [N, C, H, W] of the same shape, finite, H and W >= window_size -> float32 [N].
// INVALID_ARGUMENT naming "a" or "b" otherwise.
absl::StatusOr<torch::Tensor> Ssim(const torch::Tensor& a, const torch::Tensor& b, const SsimOptions& options = {});
// Mean squared error per image -> float32 [N].
absl::StatusOr<torch::Tensor> Mse(const torch::Tensor& a, const torch::Tensor& b);
// 10·log10(data_range² / MSE) per image -> float32 [N]; +inf for identical images (callers that
// average PSNR over a table decide how to treat perfect frames).
absl::StatusOr<torch::Tensor> Psnr(const torch::Tensor& a, const torch::Tensor& b, double data_range = 1.0);

// Tensor-level SSIM for already-validated float inputs (no checks, may throw): [N, C, H, W] -> [N].
torch::Tensor SsimUnchecked(const torch::Tensor& a, const torch::Tensor& b, const SsimOptions& options = {});

// The "ssim" reward distance, D = 1 − SSIM.
std::unique_ptr<PerceptualDistance> MakeSsimDistance(const SsimOptions& options = {});

}  // namespace vlarft::reward
