// LPIPS v0.1 (Zhang et al. 2018) with a VGG16 or AlexNet backbone, weights loaded from a
// safetensors file the user supplies. There is no fallback: a missing file, a missing or extra
// tensor, a shape/dtype mismatch or negative linear weights is an error, never a random network.
//
//   x        = (2·img − 1 − shift) / scale      img in [0, 1]; shift = (−.030, −.088, −.188),
//                                               scale = (.458, .448, .450) (LPIPS's ScalingLayer)
//   taps     = VGG16: relu1_2 relu2_2 relu3_3 relu4_3 relu5_3   (64, 128, 256, 512, 512 channels)
//              AlexNet: relu1 .. relu5                          (64, 192, 384, 256, 256 channels)
//   LPIPS    = Σ_taps mean_{h,w} Σ_c w_c (n(a) − n(b))²_c        n = channel unit-normalisation
//
// Tensor names in the weights file (float32), the torchvision names of the backbone plus LPIPS's
// linear layers with the Dropout index dropped ("lin0.model.1.weight" -> "lin0.weight"):
//   VGG16:   net.features.{0,2,5,7,10,12,14,17,19,21,24,26,28}.{weight,bias}
//   AlexNet: net.features.{0,3,6,8,10}.{weight,bias}
//   both:    lin{0..4}.weight  [1, C_tap, 1, 1], all >= 0
// Optional metadata "backbone" ("vgg16" / "alexnet") is checked when present.
// tools/convert_lpips_weights.py writes this file from the official .pth files.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "libs/core/torch_compat.h"
#include "libs/reward/feature_distance.h"
#include "libs/reward/perceptual_distance.h"

namespace vlarft::reward {

enum class LpipsBackbone { kVgg16, kAlexNet };

const char* LpipsBackboneName(LpipsBackbone backbone);  // "vgg16" / "alexnet" (file metadata)
// Smallest input height/width whose deepest tap still has a spatial extent: 16 (VGG16, four 2x2
// pools) and 31 (AlexNet: stride-4 11x11 conv, then two 3x3/2 pools).
int64_t LpipsMinImageSize(LpipsBackbone backbone);

// The network: torchvision's `features` (up to the last tap) under "net", and lin0..lin4.
class LpipsNetworkImpl : public torch::nn::Module {
 public:
  explicit LpipsNetworkImpl(LpipsBackbone backbone);

  LpipsBackbone backbone() const { return backbone_; }
  // images [N, 3, H, W] in [0, 1] -> the five tap activations (scaling layer applied first).
  std::vector<torch::Tensor> Taps(const torch::Tensor& images);
  // The linear layers' weights, flattened to [C_tap] each.
  std::vector<torch::Tensor> LinearWeights() const;

 private:
  LpipsBackbone backbone_;
  torch::nn::Sequential features_{nullptr};
  std::vector<int64_t> tap_after_;  // indices into `features_` whose outputs are taps
  std::vector<torch::nn::Conv2d> lins_;
};
TORCH_MODULE(LpipsNetwork);

// Builds the network and loads `weights_path` strictly onto `device` (eval mode, no gradients).
absl::StatusOr<LpipsNetwork> LoadLpipsNetwork(const std::string& weights_path, LpipsBackbone backbone,
                                              torch::Device device = torch::kCPU);

// LPIPS as a PerceptualDistance ("lpips-vgg" / "lpips-alex").
absl::StatusOr<std::unique_ptr<PerceptualDistance>> LoadLpipsDistance(const std::string& weights_path,
                                                                      LpipsBackbone backbone,
                                                                      torch::Device device = torch::kCPU);

}  // namespace vlarft::reward
