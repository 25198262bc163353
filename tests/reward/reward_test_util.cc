#include "tests/reward/reward_test_util.h"

#include <stdlib.h>

#include <cmath>
#include <filesystem>

#include "gtest/gtest.h"
#include "libs/core/safetensors.h"

namespace vlarft::reward::testing {

ScratchDir::ScratchDir() {
  std::string pattern = (std::filesystem::path(::testing::TempDir()) / "vlarft_reward.XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr) ADD_FAILURE() << "mkdtemp failed for " << pattern;
  dir_ = pattern;
}

ScratchDir::~ScratchDir() {
  std::error_code ignored;
  std::filesystem::remove_all(dir_, ignored);
}

TinyConvExtractor::TinyConvExtractor(uint64_t seed) {
  torch::NoGradGuard no_grad;
  at::Generator generator = core::MakeCpuGenerator(seed);
  conv1 = torch::nn::Conv2d(torch::nn::Conv2dOptions(3, 4, 3).padding(1));
  conv2 = torch::nn::Conv2d(torch::nn::Conv2dOptions(4, 6, 3).stride(2).padding(1));
  for (torch::nn::Conv2d* conv : {&conv1, &conv2}) {
    (*conv)->weight.copy_(torch::randn((*conv)->weight.sizes(), generator) * 0.5);
    (*conv)->bias.copy_(torch::randn((*conv)->bias.sizes(), generator) * 0.1);
  }
}

std::vector<torch::Tensor> TinyConvExtractor::Features(const torch::Tensor& images) {
  torch::Tensor f1 = torch::tanh(conv1(images));
  torch::Tensor f2 = torch::tanh(conv2(f1));
  return {f1, f2};
}

std::vector<std::pair<std::string, torch::Tensor>> RandomLpipsTensors(LpipsBackbone backbone, uint64_t seed) {
  at::Generator generator = core::MakeCpuGenerator(seed);
  // (torchvision index, in, out, kernel) of every conv, and the channels of the five taps.
  struct ConvShape { int index, in, out, kernel; };
  // Built by construction, not assignment: GCC 12 warns (falsely) on vector::operator= here.
  const bool vgg = backbone == LpipsBackbone::kVgg16;
  const std::vector<ConvShape> convs =
      vgg ? std::vector<ConvShape>{{0, 3, 64, 3},     {2, 64, 64, 3},    {5, 64, 128, 3},   {7, 128, 128, 3},
                                   {10, 128, 256, 3}, {12, 256, 256, 3}, {14, 256, 256, 3}, {17, 256, 512, 3},
                                   {19, 512, 512, 3}, {21, 512, 512, 3}, {24, 512, 512, 3}, {26, 512, 512, 3},
                                   {28, 512, 512, 3}}
          : std::vector<ConvShape>{{0, 3, 64, 11}, {3, 64, 192, 5}, {6, 192, 384, 3}, {8, 384, 256, 3}, {10, 256, 256, 3}};
  const std::vector<int> taps = vgg ? std::vector<int>{64, 128, 256, 512, 512} : std::vector<int>{64, 192, 384, 256, 256};
  std::vector<std::pair<std::string, torch::Tensor>> tensors;
  for (const ConvShape& c : convs) {
    const double he = std::sqrt(2.0 / (c.in * c.kernel * c.kernel));
    tensors.emplace_back("net.features." + std::to_string(c.index) + ".weight",
                         torch::randn({c.out, c.in, c.kernel, c.kernel}, generator) * he);
    tensors.emplace_back("net.features." + std::to_string(c.index) + ".bias", torch::randn({c.out}, generator) * 0.05);
  }
  for (size_t i = 0; i < taps.size(); ++i) {
    tensors.emplace_back("lin" + std::to_string(i) + ".weight", torch::rand({1, taps[i], 1, 1}, generator) * 0.1);
  }
  return tensors;
}

void WriteLpipsFile(const std::string& path, const std::vector<std::pair<std::string, torch::Tensor>>& tensors,
                    LpipsBackbone backbone, bool with_metadata) {
  std::map<std::string, std::string> metadata;
  if (with_metadata) metadata["backbone"] = LpipsBackboneName(backbone);
  const absl::Status status = core::WriteSafetensors(path, tensors, metadata);
  ASSERT_TRUE(status.ok()) << status;
}

torch::Tensor SquareFrame(int64_t height, int64_t width, int64_t top, int64_t left, int64_t size) {
  torch::Tensor frame = torch::full({height, width, 3}, 20, torch::kUInt8);
  frame.slice(0, top, top + size).slice(1, left, left + size).select(2, 0).fill_(230);
  frame.slice(0, top, top + size).slice(1, left, left + size).select(2, 1).fill_(180);
  frame.slice(0, top, top + size).slice(1, left, left + size).select(2, 2).fill_(60);
  return frame;
}

torch::Tensor NoiseFrames(const std::vector<int64_t>& shape, uint64_t seed) {
  at::Generator generator = core::MakeCpuGenerator(seed);
  return torch::randint(0, 256, shape, generator, torch::kUInt8);
}

}  // namespace vlarft::reward::testing
