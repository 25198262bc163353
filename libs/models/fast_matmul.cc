#include "libs/models/fast_matmul.h"

#include <algorithm>

namespace vlarft::models {
namespace {

// oneDNN pays a fixed cost per call; below this many multiply-adds the BLAS call is as fast.
constexpr double kMinConvMacs = 2e5;
// LibTorch 1.13 runs a 1x1 convolution over fewer than 16 images on one thread through its own
// im2col + BLAS path, i.e. the reference BLAS again plus the im2col: 4.7x slower than the plain
// linear for the world model's 5-row decode products (docs/results.md, "Which path for which product").
constexpr int64_t kMinConvRows = 16;

bool UseConv(const torch::Tensor& x, int64_t rows, double macs) {
  return x.device().is_cpu() && x.scalar_type() == torch::kFloat32 && at::hasMKLDNN() &&
         at::globalContext().userEnabledMkldnn() && rows >= kMinConvRows && macs >= kMinConvMacs;
}

}  // namespace

torch::Tensor FastLinear(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias) {
  const int64_t in = weight.size(1), out = weight.size(0);
  const int64_t rows = x.numel() / std::max<int64_t>(1, in);
  if (!UseConv(x, rows, static_cast<double>(rows) * in * out) || weight.scalar_type() != torch::kFloat32) {
    return torch::nn::functional::linear(x, weight, bias);
  }
  // Rows as the batch of a 1x1 convolution: [rows, in, 1, 1] -> [rows, out, 1, 1], no copies.
  std::vector<int64_t> shape = x.sizes().vec();
  shape.back() = out;
  const torch::Tensor y = torch::conv2d(x.reshape({rows, in, 1, 1}), weight.view({out, in, 1, 1}), bias);
  return y.view(shape);
}

}  // namespace vlarft::models
