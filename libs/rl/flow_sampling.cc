#include "libs/rl/flow_sampling.h"

#include <cmath>
#include <vector>

namespace vlarft::rl {
namespace {
constexpr double kHalfLog2Pi = 0.91893853320467274178;  // ½ log 2π
}  // namespace

torch::Tensor FlowTimes(int64_t steps, const torch::TensorOptions& options) {
  return torch::arange(steps, options.dtype(torch::kFloat32)) / static_cast<double>(steps);
}

torch::Tensor GaussianLogProb(const torch::Tensor& x, const torch::Tensor& mu, const torch::Tensor& log_sigma) {
  const torch::Tensor z = (x - mu) * torch::exp(-log_sigma);
  return -0.5 * z * z - log_sigma - kHalfLog2Pi;
}

torch::Tensor SampleOde(models::VlaPolicyImpl& policy, const models::PolicyContext& context, const torch::Tensor& x0) {
  torch::NoGradGuard no_grad;
  const int64_t steps = policy.config().flow_steps;
  const double dt = 1.0 / static_cast<double>(steps);
  const torch::Tensor times = FlowTimes(steps, x0.options());
  const models::PolicyContextKeys keys = policy.ContextKeys(context);
  torch::Tensor x = x0;
  for (int64_t k = 0; k < steps; ++k) {
    const torch::Tensor tau = times[k].expand({x.size(0)});
    x = x + dt * policy.Velocity(x, tau, context, &keys);
  }
  return x;
}

SdeSample SampleSde(models::VlaPolicyImpl& policy, const models::PolicyContext& context, const torch::Tensor& x0,
                    at::Generator& generator) {
  torch::NoGradGuard no_grad;
  const int64_t steps = policy.config().flow_steps;
  const double dt = 1.0 / static_cast<double>(steps);
  const torch::Tensor times = FlowTimes(steps, x0.options());
  std::vector<torch::Tensor> chain = {x0};
  std::vector<torch::Tensor> log_probs, log_sigmas;
  const models::PolicyContextKeys keys = policy.ContextKeys(context);
  torch::Tensor x = x0;
  for (int64_t k = 0; k < steps; ++k) {
    const torch::Tensor tau = times[k].expand({x.size(0)});
    const torch::Tensor mu = x + dt * policy.Velocity(x, tau, context, &keys);
    const torch::Tensor log_sigma = policy.LogSigma(x, tau, context, &keys);
    // Noise is drawn on the CPU generator and moved, so CUDA and CPU runs see the same draws.
    const torch::Tensor eps = torch::randn(x.sizes(), generator, torch::TensorOptions().dtype(torch::kFloat32)).to(x.device());
    const torch::Tensor next = mu + torch::exp(log_sigma) * eps;
    log_probs.push_back(GaussianLogProb(next, mu, log_sigma));
    log_sigmas.push_back(log_sigma);
    chain.push_back(next);
    x = next;
  }
  return {torch::stack(chain, 1), torch::stack(log_probs, 1), torch::stack(log_sigmas, 1)};
}

ChainLogProbs RecomputeChainLogProbs(models::VlaPolicyImpl& policy, const models::PolicyContext& context,
                                     const torch::Tensor& chain) {
  const int64_t batch = chain.size(0);
  const int64_t steps = chain.size(1) - 1;
  TORCH_CHECK(steps == policy.config().flow_steps, "chain has ", steps, " steps but the policy uses K = ",
              policy.config().flow_steps);
  const double dt = 1.0 / static_cast<double>(steps);
  // Rows b*K + k hold (x_k of sample b, τ_k): one pass over B*K rows per network.
  const torch::Tensor x = chain.narrow(1, 0, steps).reshape({batch * steps, chain.size(2), chain.size(3)});
  const torch::Tensor next = chain.narrow(1, 1, steps);
  const torch::Tensor tau = FlowTimes(steps, chain.options()).repeat({batch});
  const models::PolicyContext repeated = context.Repeat(steps);
  // Project the context once per sample, not once per (sample, step) row.
  const models::PolicyContextKeys keys = policy.ContextKeys(context).Repeat(steps);
  const torch::Tensor mu = (x + dt * policy.Velocity(x, tau, repeated, &keys)).view(next.sizes());
  const torch::Tensor log_sigma = policy.LogSigma(x, tau, repeated, &keys).view(next.sizes());
  return {GaussianLogProb(next, mu, log_sigma), log_sigma};
}

torch::Tensor AggregateSteps(const torch::Tensor& per_step, StepAggregation aggregation) {
  return aggregation == StepAggregation::kSum ? per_step.sum(1) : per_step.mean(1);
}

torch::Tensor ChainEntropy(const torch::Tensor& log_sigma) {
  const int64_t steps = log_sigma.size(1);
  return (log_sigma + (kHalfLog2Pi + 0.5)).sum(1) / static_cast<double>(steps + 1);
}

}  // namespace vlarft::rl
