#include "libs/models/conv_blocks.h"

#include "libs/core/torch_compat.h"

#include <cmath>

namespace vlarft::models {
namespace {

torch::nn::Conv2d Conv(int64_t in, int64_t out, int64_t kernel, int64_t stride = 1) {
  return torch::nn::Conv2d(torch::nn::Conv2dOptions(in, out, kernel).stride(stride).padding(kernel / 2));
}

void ZeroInit(torch::nn::Conv2d& conv) {
  torch::NoGradGuard no_grad;
  conv->weight.zero_();
  if (conv->bias.defined()) conv->bias.zero_();
}

}  // namespace

torch::nn::GroupNorm MakeGroupNorm(int64_t channels) {
  int64_t groups = 8;
  while (channels % groups != 0) groups /= 2;
  return torch::nn::GroupNorm(torch::nn::GroupNormOptions(groups, channels));
}

ResBlockImpl::ResBlockImpl(int64_t in_channels, int64_t out_channels) {
  norm1 = register_module("norm1", MakeGroupNorm(in_channels));
  conv1 = register_module("conv1", Conv(in_channels, out_channels, 3));
  norm2 = register_module("norm2", MakeGroupNorm(out_channels));
  conv2 = register_module("conv2", Conv(out_channels, out_channels, 3));
  if (in_channels != out_channels) shortcut = register_module("shortcut", Conv(in_channels, out_channels, 1));
}

torch::Tensor ResBlockImpl::forward(const torch::Tensor& x) {
  torch::Tensor h = conv1(torch::silu(norm1(x)));
  h = conv2(torch::silu(norm2(h)));
  return (shortcut ? shortcut(x) : x) + h;
}

torch::Tensor AppendCoordinateChannels(const torch::Tensor& x) {
  const int64_t b = x.size(0), h = x.size(2), w = x.size(3);
  const torch::Tensor xs = torch::linspace(-1.0, 1.0, w, x.options()).view({1, 1, 1, w}).expand({b, 1, h, w});
  const torch::Tensor ys = torch::linspace(-1.0, 1.0, h, x.options()).view({1, 1, h, 1}).expand({b, 1, h, w});
  return torch::cat({x, xs, ys}, 1);
}

torch::Tensor SpatialSoftmaxCoordinates(const torch::Tensor& logits) {
  const int64_t b = logits.size(0), h = logits.size(2), w = logits.size(3);
  const torch::Tensor weights = torch::softmax(logits.flatten(2), -1).view({b, -1, h, w});
  const auto options = weights.options();
  const torch::Tensor xs = torch::linspace(-1.0, 1.0, w, options), ys = torch::linspace(-1.0, 1.0, h, options);
  const torch::Tensor ex = (weights.sum(2) * xs).sum(-1), ey = (weights.sum(3) * ys).sum(-1);  // [B, K]
  return torch::cat({ex, ey}, 1);
}

torch::nn::Conv2d MakeDownsample(int64_t in_channels, int64_t out_channels) {
  return Conv(in_channels, out_channels, 3, /*stride=*/2);
}

UpsampleImpl::UpsampleImpl(int64_t in_channels, int64_t out_channels) {
  conv = register_module("conv", Conv(in_channels, out_channels, 3));
}

torch::Tensor UpsampleImpl::forward(const torch::Tensor& x) {
  namespace F = torch::nn::functional;
  const torch::Tensor up = F::interpolate(
      x, F::InterpolateFuncOptions().scale_factor(std::vector<double>{2.0, 2.0}).mode(torch::kNearest));
  return conv(up);
}

FuseImpl::FuseImpl(int64_t channels, int64_t cond_channels) {
  proj = register_module("proj", Conv(channels + cond_channels, channels, 1));
}

torch::Tensor FuseImpl::forward(const torch::Tensor& x, const torch::Tensor& cond) {
  return x + proj(torch::cat({x, cond}, 1));
}

SpatialCrossAttentionImpl::SpatialCrossAttentionImpl(int64_t channels, int64_t context_channels) {
  norm = register_module("norm", MakeGroupNorm(channels));
  context_norm = register_module("context_norm", MakeGroupNorm(context_channels));
  q = register_module("q", Conv(channels, channels, 1));
  k = register_module("k", Conv(context_channels, channels, 1));
  v = register_module("v", Conv(context_channels, channels, 1));
  o = register_module("o", Conv(channels, channels, 1));
  ZeroInit(o);
}

torch::Tensor SpatialCrossAttentionImpl::forward(const torch::Tensor& x, const torch::Tensor& context) {
  const int64_t b = x.size(0), c = x.size(1), h = x.size(2), w = x.size(3);
  const torch::Tensor cn = context_norm(context);
  // [B, C, N] -> [B, 1, N, C]: one head, positions as the sequence.
  auto tokens = [](const torch::Tensor& t) { return t.flatten(2).transpose(1, 2).unsqueeze(1); };
  const torch::Tensor attended =
      core::ScaledDotProductAttention(tokens(q(norm(x))), tokens(k(cn)), tokens(v(cn)), std::nullopt, false);
  return x + o(attended.squeeze(1).transpose(1, 2).reshape({b, c, h, w}));
}

}  // namespace vlarft::models
