// Convolutional building blocks of the video tokenizer: pre-activation residual blocks, strided
// down-sampling, nearest-neighbour up-sampling, 1x1 fusion of a conditioning feature map, and
// spatial cross-attention from one feature map to another. All take and return [B, C, H, W].
#pragma once

#include <cstdint>

#include "libs/core/torch_compat.h"

namespace vlarft::models {

// GroupNorm with up to 8 groups (fewer when `channels` is not divisible), the usual choice for
// small-batch image autoencoders where BatchNorm statistics would be noisy.
torch::nn::GroupNorm MakeGroupNorm(int64_t channels);

// x + conv(silu(norm(conv(silu(norm(x)))))); a 1x1 shortcut when the width changes.
class ResBlockImpl : public torch::nn::Module {
 public:
  ResBlockImpl(int64_t in_channels, int64_t out_channels);
  torch::Tensor forward(const torch::Tensor& x);

 private:
  torch::nn::GroupNorm norm1{nullptr}, norm2{nullptr};
  torch::nn::Conv2d conv1{nullptr}, conv2{nullptr}, shortcut{nullptr};
};
TORCH_MODULE(ResBlock);

// [B, C, H, W] -> [B, C + 2, H, W]: each pixel's x then y in [-1, 1] appended as channels
// (CoordConv, Liu et al. 2018), so convolutions can read absolute positions.
torch::Tensor AppendCoordinateChannels(const torch::Tensor& x);

// Spatial softmax (Levine et al. 2016): logits [B, K, H, W] -> [B, 2K], the expected x of each
// map's softmax over pixels, then the expected y, in [-1, 1].
torch::Tensor SpatialSoftmaxCoordinates(const torch::Tensor& logits);

// 3x3 convolution with stride 2 (halves H and W).
torch::nn::Conv2d MakeDownsample(int64_t in_channels, int64_t out_channels);

// Nearest ×2 then a 3x3 convolution (avoids the checkerboard artefacts of transposed convs).
class UpsampleImpl : public torch::nn::Module {
 public:
  UpsampleImpl(int64_t in_channels, int64_t out_channels);
  torch::Tensor forward(const torch::Tensor& x);

 private:
  torch::nn::Conv2d conv{nullptr};
};
TORCH_MODULE(Upsample);

// Injects a conditioning map of the same spatial size: x + conv1x1([x, cond]).
class FuseImpl : public torch::nn::Module {
 public:
  FuseImpl(int64_t channels, int64_t cond_channels);
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& cond);

 private:
  torch::nn::Conv2d proj{nullptr};
};
TORCH_MODULE(Fuse);

// x + o(softmax(q(x) k(c)^T / sqrt(d)) v(c)) over spatial positions: lets the future branch copy
// appearance from wherever it was in the context frame (objects move, so same-position fusion alone
// is not enough). Single head; inputs are [B, C, H, W] and [B, Cc, Hc, Wc].
class SpatialCrossAttentionImpl : public torch::nn::Module {
 public:
  SpatialCrossAttentionImpl(int64_t channels, int64_t context_channels);
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& context);

 private:
  torch::nn::GroupNorm norm{nullptr}, context_norm{nullptr};
  torch::nn::Conv2d q{nullptr}, k{nullptr}, v{nullptr}, o{nullptr};
};
TORCH_MODULE(SpatialCrossAttention);

}  // namespace vlarft::models
