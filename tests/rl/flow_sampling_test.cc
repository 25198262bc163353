#include "libs/rl/flow_sampling.h"

#include <cmath>

#include "gtest/gtest.h"
#include "libs/core/rng.h"
#include "tests/models/policy_test_util.h"

namespace vlarft::rl {
namespace {

using models::testing::MakeTinyPolicy;
using models::testing::Randomize;
using models::testing::TinyObservation;
using models::testing::TinyPolicyConfig;

TEST(FlowSamplingTest, GaussianLogProbMatchesTheFormula) {
  // x = 1, μ = 0, σ = 2: -(1/2)(1/2)^2 - log 2 - ½ log 2π
  const double expected = -0.125 - std::log(2.0) - 0.5 * std::log(2 * M_PI);
  torch::Tensor value = GaussianLogProb(torch::tensor({1.0}), torch::tensor({0.0}), torch::tensor({std::log(2.0)}));
  EXPECT_NEAR(value.item<double>(), expected, 1e-6);
  EXPECT_TRUE(torch::allclose(FlowTimes(4, torch::TensorOptions()), torch::tensor({0.0f, 0.25f, 0.5f, 0.75f})));
}

TEST(FlowSamplingTest, SdeWithVanishingSigmaEqualsOde) {
  torch::manual_seed(3);
  models::PolicyConfig config = TinyPolicyConfig();
  config.sigma_min = 1e-9;
  config.sigma_max = 1e-9;
  models::VlaPolicy policy = MakeTinyPolicy(config);
  Randomize(*policy);
  auto context = policy->Encode(TinyObservation(3));
  ASSERT_TRUE(context.ok());
  torch::Tensor x0 = torch::randn({3, 8, 7});
  torch::Tensor ode = SampleOde(*policy, *context, x0);
  at::Generator generator = core::MakeCpuGenerator(7);
  SdeSample sde = SampleSde(*policy, *context, x0, generator);
  EXPECT_EQ(sde.chain.sizes(), (std::vector<int64_t>{3, 5, 8, 7}));
  EXPECT_GT((ode - x0).abs().max().item<double>(), 1e-2) << "velocity should be non-trivial";
  EXPECT_TRUE(torch::allclose(sde.chain.select(1, 4), ode, 1e-5, 1e-6));
  EXPECT_TRUE(torch::equal(sde.chain.select(1, 0), x0));
}

TEST(FlowSamplingTest, RecomputedLogProbsEqualSampledOnesAndAStepByStepComputation) {
  torch::manual_seed(4);
  models::VlaPolicy policy = MakeTinyPolicy();
  Randomize(*policy, 0.1);
  policy->eval();
  auto context = policy->Encode(TinyObservation(1));
  ASSERT_TRUE(context.ok());
  const int64_t group = 5;
  models::PolicyContext repeated = context->Repeat(group);
  at::Generator generator = core::MakeCpuGenerator(11);
  SdeSample sample = SampleSde(*policy, repeated, torch::randn({group, 8, 7}), generator);
  ChainLogProbs recomputed = RecomputeChainLogProbs(*policy, repeated, sample.chain);
  EXPECT_TRUE(torch::allclose(recomputed.log_probs, sample.log_probs, 1e-4, 1e-5));
  EXPECT_TRUE(torch::allclose(recomputed.log_sigma, sample.log_sigma, 1e-5, 1e-6));

  // Independent reference: one step at a time with the explicit Gaussian density.
  const int64_t steps = policy->config().flow_steps;
  torch::NoGradGuard no_grad;
  for (int64_t k = 0; k < steps; ++k) {
    torch::Tensor x = sample.chain.select(1, k);
    torch::Tensor tau = torch::full({group}, static_cast<double>(k) / steps);
    torch::Tensor mu = x + policy->Velocity(x, tau, repeated) / static_cast<double>(steps);
    torch::Tensor sigma = policy->LogSigma(x, tau, repeated).exp();
    torch::Tensor next = sample.chain.select(1, k + 1);
    torch::Tensor density = torch::exp(-(next - mu).pow(2) / (2 * sigma.pow(2))) / (sigma * std::sqrt(2 * M_PI));
    EXPECT_TRUE(torch::allclose(sample.log_probs.select(1, k), density.log(), 1e-4, 1e-4)) << "step " << k;
  }
}

TEST(FlowSamplingTest, CachedContextKeysChangeNeitherValuesNorGradients) {
  torch::manual_seed(5);
  models::VlaPolicy policy = MakeTinyPolicy();
  Randomize(*policy, 0.1);
  auto context = policy->Encode(TinyObservation(3));
  ASSERT_TRUE(context.ok());
  const torch::Tensor x = torch::randn({3, 8, 7}), tau = torch::rand({3});
  const models::PolicyContextKeys keys = policy->ContextKeys(*context);
  ASSERT_EQ(keys.flow.keys.size(), static_cast<size_t>(policy->config().flow_head.depth));
  const torch::Tensor velocity = policy->Velocity(x, tau, *context);
  const torch::Tensor log_sigma = policy->LogSigma(x, tau, *context);
  EXPECT_TRUE(torch::allclose(policy->Velocity(x, tau, *context, &keys), velocity, 1e-6, 1e-6));
  EXPECT_TRUE(torch::allclose(policy->LogSigma(x, tau, *context, &keys), log_sigma, 1e-6, 1e-6));

  // Repeated keys (the learner's path) give the same gradients as projecting the repeated context.
  const auto grads = [&](bool cached) {
    policy->zero_grad();
    const models::PolicyContext repeated = context->Repeat(2);
    const models::PolicyContextKeys repeated_keys = policy->ContextKeys(*context).Repeat(2);
    const torch::Tensor xs = x.repeat_interleave(2, 0), taus = tau.repeat_interleave(2, 0);
    (policy->Velocity(xs, taus, repeated, cached ? &repeated_keys : nullptr).pow(2).sum() +
     policy->LogSigma(xs, taus, repeated, cached ? &repeated_keys : nullptr).sum())
        .backward({}, /*retain_graph=*/true);
    std::vector<torch::Tensor> out;
    for (const auto& p : policy->parameters()) out.push_back(p.grad().defined() ? p.grad().clone() : torch::zeros_like(p));
    return out;
  };
  const std::vector<torch::Tensor> plain = grads(false), cached = grads(true);
  double total = 0;
  for (size_t i = 0; i < plain.size(); ++i) {
    EXPECT_TRUE(torch::allclose(cached[i], plain[i], 1e-4, 1e-5)) << "parameter " << i;
    total += plain[i].abs().sum().item<double>();
  }
  EXPECT_GT(total, 0.0);
}

TEST(FlowSamplingTest, SamplesAreReproducibleFromTheirSeed) {
  torch::manual_seed(5);
  models::VlaPolicy policy = MakeTinyPolicy();
  Randomize(*policy, 0.1);
  auto context = policy->Encode(TinyObservation(2));
  ASSERT_TRUE(context.ok());
  torch::Tensor x0 = torch::randn({2, 8, 7});
  at::Generator g1 = core::MakeCpuGenerator(99);
  at::Generator g2 = core::MakeCpuGenerator(99);
  at::Generator g3 = core::MakeCpuGenerator(100);
  SdeSample a = SampleSde(*policy, *context, x0, g1);
  torch::randn({100});  // unrelated use of the global RNG must not matter
  SdeSample b = SampleSde(*policy, *context, x0, g2);
  SdeSample c = SampleSde(*policy, *context, x0, g3);
  EXPECT_TRUE(torch::equal(a.chain, b.chain));
  EXPECT_FALSE(torch::equal(a.chain, c.chain));
}

TEST(FlowSamplingTest, GradientsReachHeadAndSigmaNetButNotFrozenEncoder) {
  torch::manual_seed(6);
  models::VlaPolicy policy = MakeTinyPolicy();
  Randomize(*policy, 0.1);
  policy->FreezeForRft();
  auto context = policy->Encode(TinyObservation(2));
  ASSERT_TRUE(context.ok());
  at::Generator generator = core::MakeCpuGenerator(1);
  SdeSample sample = SampleSde(*policy, *context, torch::randn({2, 8, 7}), generator);
  ChainLogProbs recomputed = RecomputeChainLogProbs(*policy, *context, sample.chain);
  (recomputed.log_probs.sum() + ChainEntropy(recomputed.log_sigma).sum()).backward();
  auto has_grad = [](const torch::Tensor& p) { return p.grad().defined() && p.grad().abs().sum().item<double>() > 0; };
  int head = 0, sigma = 0;
  for (const auto& p : policy->flow_head->parameters()) head += has_grad(p);
  for (const auto& p : policy->sigma_net->parameters()) sigma += has_grad(p);
  EXPECT_GT(head, 0);
  EXPECT_GT(sigma, 0);
  for (const auto& p : policy->encoder->parameters()) EXPECT_FALSE(p.grad().defined());
}

TEST(FlowSamplingTest, EntropyAndStepAggregation) {
  torch::Tensor log_sigma = torch::full({1, 4, 1, 1}, std::log(0.1));
  const double per_step = std::log(0.1) + 0.5 * std::log(2 * M_PI * M_E);
  EXPECT_NEAR(ChainEntropy(log_sigma).item<double>(), 4 * per_step / 5, 1e-6);
  torch::Tensor per_step_values = torch::arange(8, torch::kFloat32).view({1, 4, 1, 2});
  EXPECT_TRUE(torch::equal(AggregateSteps(per_step_values, StepAggregation::kSum), torch::tensor({{{12.0f, 16.0f}}})));
  EXPECT_TRUE(torch::equal(AggregateSteps(per_step_values, StepAggregation::kMean), torch::tensor({{{3.0f, 4.0f}}})));
}

}  // namespace
}  // namespace vlarft::rl
