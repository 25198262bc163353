#include "libs/models/patch_discriminator.h"

#include "libs/models/conv_blocks.h"

namespace vlarft::models {

PatchDiscriminatorImpl::PatchDiscriminatorImpl(int64_t channels) {
  namespace nn = torch::nn;
  // 4x4 stride-2 convs with padding 1 halve the resolution exactly; the 3x3 head keeps it.
  auto conv = [](int64_t in, int64_t out, int64_t kernel, int64_t stride) {
    return nn::Conv2d(nn::Conv2dOptions(in, out, kernel).stride(stride).padding(1));
  };
  auto leaky = [] { return nn::LeakyReLU(nn::LeakyReLUOptions().negative_slope(0.2)); };
  net = register_module("net", nn::Sequential(conv(3, channels, 4, 2), leaky(), conv(channels, 2 * channels, 4, 2),
                                              MakeGroupNorm(2 * channels), leaky(), conv(2 * channels, 1, 3, 1)));
}

torch::Tensor PatchDiscriminatorImpl::forward(const torch::Tensor& images) { return net->forward(images); }

torch::Tensor DiscriminatorHingeLoss(const torch::Tensor& real_logits, const torch::Tensor& fake_logits) {
  return torch::relu(1.0 - real_logits).mean() + torch::relu(1.0 + fake_logits).mean();
}

torch::Tensor GeneratorHingeLoss(const torch::Tensor& fake_logits) { return -fake_logits.mean(); }

FrozenParameters::FrozenParameters(torch::nn::Module& module) {
  for (torch::Tensor& p : module.parameters()) {
    saved_.emplace_back(p, p.requires_grad());
    p.set_requires_grad(false);
  }
}

FrozenParameters::~FrozenParameters() {
  for (auto& [p, requires_grad] : saved_) p.set_requires_grad(requires_grad);
}

}  // namespace vlarft::models
