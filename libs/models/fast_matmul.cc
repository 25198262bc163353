#include "libs/models/fast_matmul.h"

#include <cmath>
#include <limits>

namespace vlarft::models {
namespace {

// oneDNN pays a fixed cost per call; below this many multiply-adds the BLAS call is as fast.
constexpr double kMinConvMacs = 2e5;

bool UseConv(const torch::Tensor& x, double macs) {
  return x.device().is_cpu() && x.scalar_type() == torch::kFloat32 && at::hasMKLDNN() &&
         at::globalContext().userEnabledMkldnn() && macs >= kMinConvMacs;
}

torch::Tensor GroupedConv(const torch::Tensor& input, const torch::Tensor& weight, int64_t groups) {
  return torch::conv2d(input, weight, torch::Tensor(), torch::IntArrayRef{1, 1}, torch::IntArrayRef{0, 0},
                       torch::IntArrayRef{1, 1}, groups);
}

}  // namespace

torch::Tensor FastLinear(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias) {
  const int64_t in = weight.size(1), out = weight.size(0);
  const int64_t rows = x.numel() / std::max<int64_t>(1, in);
  if (!UseConv(x, static_cast<double>(rows) * in * out) || weight.scalar_type() != torch::kFloat32) {
    return torch::nn::functional::linear(x, weight, bias);
  }
  // Rows as the batch of a 1x1 convolution: [rows, in, 1, 1] -> [rows, out, 1, 1], no copies.
  std::vector<int64_t> shape = x.sizes().vec();
  shape.back() = out;
  const torch::Tensor y = torch::conv2d(x.reshape({rows, in, 1, 1}), weight.view({out, in, 1, 1}), bias);
  return y.view(shape);
}

torch::Tensor FastBatchedMatmul(const torch::Tensor& a, const torch::Tensor& b) {
  const int64_t m = a.size(-2), k = a.size(-1), n = b.size(-1);
  const bool same_batch = a.dim() == b.dim() && a.sizes().slice(0, a.dim() - 2) == b.sizes().slice(0, b.dim() - 2);
  const int64_t groups = a.numel() / std::max<int64_t>(1, m * k);
  if (!same_batch || m < 16 || !UseConv(a, static_cast<double>(groups) * m * k * n)) return core::BatchedMatmul(a, b);
  // One group per matrix: input [1, G·K, M, 1] (K channels per group, M positions), weight
  // [G·N, K, 1, 1]; output [1, G·N, M, 1] holds (a b)ᵀ per group.
  const torch::Tensor input = a.reshape({groups, m, k}).transpose(1, 2).reshape({1, groups * k, m, 1});
  const torch::Tensor weight = b.reshape({groups, k, n}).transpose(1, 2).reshape({groups * n, k, 1, 1});
  std::vector<int64_t> shape = a.sizes().vec();
  shape.back() = n;
  return GroupedConv(input, weight, groups).view({groups, n, m}).transpose(1, 2).reshape(shape);
}

torch::Tensor FastAttention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                            const std::optional<torch::Tensor>& mask, bool causal) {
  if (!UseConv(q, static_cast<double>(q.numel()) * k.size(-2))) {
    return core::ScaledDotProductAttention(q, k, v, mask, causal);  // fused kernels where LibTorch has them
  }
  TORCH_CHECK(!causal || q.size(-2) == k.size(-2), "causal attention needs equal query/key lengths");
  const double scale = 1.0 / std::sqrt(static_cast<double>(q.size(-1)));
  torch::Tensor scores = FastBatchedMatmul(q, k.transpose(-2, -1)).to(torch::kFloat32) * scale;
  const float neg_inf = -std::numeric_limits<float>::infinity();
  if (causal) {
    const int64_t n = q.size(-2);
    scores = scores.masked_fill(torch::ones({n, n}, q.options().dtype(torch::kBool)).triu(1), neg_inf);
  }
  if (mask.has_value()) scores = scores.masked_fill(mask->logical_not(), neg_inf);
  return FastBatchedMatmul(torch::softmax(scores, -1).to(v.scalar_type()), v);
}

}  // namespace vlarft::models
