// Sampling from the flow policy and the log-probabilities GRPO needs (docs/architecture.md, "The math and where it lives").
//
// With K steps, Δ = 1/K and τ_k = k/K (τ = 0 noise, τ = 1 data; see libs/models/policy.h):
//   ODE:  x_{k+1} = x_k + Δ·v_θ(x_k, τ_k)
//   SDE:  μ_k = x_k + Δ·v_θ(x_k, τ_k),  x_{k+1} ~ N(μ_k, diag σ_ψ(x_k, τ_k)²)
// starting from x_0 ~ N(0, I); the action chunk is x_K. The SDE keeps the whole chain x_0..x_K and
// log N(x_{k+1}; μ_k, σ_k²) per step and dimension. With σ → 0 the SDE chain equals the ODE sample.
#pragma once

#include <cstdint>

#include "libs/core/torch_compat.h"
#include "libs/models/policy.h"

namespace vlarft::rl {

struct SdeSample {
  torch::Tensor chain;      // [B, K+1, C, A]: x_0 .. x_K
  torch::Tensor log_probs;  // [B, K, C, A]: log N(x_{k+1}; μ_k, σ_k²)
  torch::Tensor log_sigma;  // [B, K, C, A]: log σ_k
};

// Flow times τ_k = k/K for k = 0..K-1, as float32 [K].
torch::Tensor FlowTimes(int64_t steps, const torch::TensorOptions& options);

// log N(x; μ, σ²) elementwise, with σ given as log σ.
torch::Tensor GaussianLogProb(const torch::Tensor& x, const torch::Tensor& mu, const torch::Tensor& log_sigma);

// Deterministic ODE sample from x0 [B, C, A] (normalised space). No gradients.
torch::Tensor SampleOde(models::VlaPolicyImpl& policy, const models::PolicyContext& context, const torch::Tensor& x0);

// Stochastic SDE sample from x0, drawing the step noise from `generator` (so a sample is reproducible
// from its seed regardless of what else runs). No gradients.
SdeSample SampleSde(models::VlaPolicyImpl& policy, const models::PolicyContext& context, const torch::Tensor& x0,
                    at::Generator& generator);

// Recomputes log N(x_{k+1}; μ_k, σ_k²) for stored chains [B, K+1, C, A] under the policy's current
// parameters, with gradients, evaluating all K steps in one batched pass per network.
struct ChainLogProbs {
  torch::Tensor log_probs;  // [B, K, C, A]
  torch::Tensor log_sigma;  // [B, K, C, A]
};
ChainLogProbs RecomputeChainLogProbs(models::VlaPolicyImpl& policy, const models::PolicyContext& context,
                                     const torch::Tensor& chain);

enum class StepAggregation { kSum, kMean };
// [B, K, C, A] -> [B, C, A]: Σ_k or mean_k (the per-action-dimension "token" log-prob ℓ_d).
torch::Tensor AggregateSteps(const torch::Tensor& per_step, StepAggregation aggregation);

// Gaussian entropy per action dimension averaged over the chain, Σ_k (log σ_k + ½ log 2πe)/(K+1),
// from log σ [B, K, C, A] -> [B, C, A] (docs/architecture.md, "The math and where it lives").
torch::Tensor ChainEntropy(const torch::Tensor& log_sigma);

}  // namespace vlarft::rl
