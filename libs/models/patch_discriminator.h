// The optional adversarial term of the tokenizer loss (docs/architecture.md, "Models": "L1 + perceptual (+ optional
// adversarial)"): a small PatchGAN discriminator with hinge losses. Off by default
// (tokenizer.training.adversarial_weight = 0): on the tiny preset's flat-shaded scenes L1 +
// perceptual already reconstruct sharply, and the GAN doubles the cost per step.
#pragma once

#include <cstdint>

#include "libs/core/torch_compat.h"

namespace vlarft::models {

class PatchDiscriminatorImpl : public torch::nn::Module {
 public:
  explicit PatchDiscriminatorImpl(int64_t channels);
  // images [B, 3, H, W] in [−1, 1] -> patch logits [B, 1, H/4, W/4].
  torch::Tensor forward(const torch::Tensor& images);

 private:
  torch::nn::Sequential net{nullptr};
};
TORCH_MODULE(PatchDiscriminator);

// Hinge losses: D minimises relu(1 − D(real)) + relu(1 + D(fake)); G minimises −D(fake).
torch::Tensor DiscriminatorHingeLoss(const torch::Tensor& real_logits, const torch::Tensor& fake_logits);
torch::Tensor GeneratorHingeLoss(const torch::Tensor& fake_logits);

// Turns off requires_grad of every parameter of a module for its lifetime, so a loss computed
// through that module (a feature network, a discriminator) sends gradients to its inputs only.
class FrozenParameters {
 public:
  explicit FrozenParameters(torch::nn::Module& module);
  ~FrozenParameters();
  FrozenParameters(const FrozenParameters&) = delete;
  FrozenParameters& operator=(const FrozenParameters&) = delete;

 private:
  std::vector<std::pair<torch::Tensor, bool>> saved_;
};

}  // namespace vlarft::models
