// Shared fixtures of the reward-library tests: a scratch directory, a tiny conv feature extractor,
// LPIPS weight files with the real torchvision shapes and deterministic random values, and
// synthetic frames.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "libs/core/torch_compat.h"
#include "libs/reward/feature_distance.h"
#include "libs/reward/lpips.h"

namespace vlarft::reward::testing {

// A fresh directory under the test temp dir, removed with everything in it on destruction.
class ScratchDir {
 public:
  ScratchDir();
  ~ScratchDir();
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  std::string Path(const std::string& name) const { return dir_ + "/" + name; }

 private:
  std::string dir_;
};

// Two conv layers (3 -> 4 channels at full resolution, 4 -> 6 at half), tanh, fixed seeded
// weights: stands in for the world-model tokenizer's encoder.
class TinyConvExtractor : public MultiScaleFeatureExtractor {
 public:
  explicit TinyConvExtractor(uint64_t seed = 7);
  std::vector<torch::Tensor> Features(const torch::Tensor& images) override;

  torch::nn::Conv2d conv1{nullptr}, conv2{nullptr};
};

// The tensors an LPIPS weights file holds, with He-scaled normal conv weights, small biases and
// non-negative linear weights; names as documented in libs/reward/lpips.h.
std::vector<std::pair<std::string, torch::Tensor>> RandomLpipsTensors(LpipsBackbone backbone, uint64_t seed);
// Writes them (plus {"backbone": vgg16|alexnet} metadata when `with_metadata`) to `path`.
void WriteLpipsFile(const std::string& path, const std::vector<std::pair<std::string, torch::Tensor>>& tensors,
                    LpipsBackbone backbone, bool with_metadata = true);

// uint8 [H, W, 3]: a dark background with a bright size x size square whose top-left corner is
// at (top, left).
torch::Tensor SquareFrame(int64_t height, int64_t width, int64_t top, int64_t left, int64_t size);
// Uniform uint8 noise of `shape`, seeded.
torch::Tensor NoiseFrames(const std::vector<int64_t>& shape, uint64_t seed);

}  // namespace vlarft::reward::testing
