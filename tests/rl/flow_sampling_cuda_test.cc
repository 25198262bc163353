// CPU/CUDA agreement of the policy's sampling math. Skipped where the LibTorch build or the machine
// has no CUDA (the CI box); run on a GPU machine against a CUDA LibTorch, it checks that rollout
// workers and the learner may sit on different devices: the SDE noise comes from the same CPU
// generator, so a chain sampled on CUDA is the chain sampled on the CPU up to float rounding, and
// log-probs recomputed on one device match those sampled on the other.
#include "gtest/gtest.h"
#include "libs/core/torch_compat.h"
#include "libs/rl/flow_sampling.h"
#include "tests/models/policy_test_util.h"

namespace vlarft::rl {
namespace {

using models::testing::MakeTinyPolicy;
using models::testing::Randomize;
using models::testing::TinyObservation;

TEST(FlowSamplingCudaTest, ChainsAndLogProbsAgreeBetweenCpuAndCuda) {
  if (!core::CudaAvailable()) GTEST_SKIP() << "no CUDA in this LibTorch build or on this machine";
  torch::manual_seed(21);
  models::VlaPolicy policy = MakeTinyPolicy();
  Randomize(*policy, 0.1);
  policy->eval();
  const models::PolicyObservation obs = TinyObservation(4);
  const torch::Tensor x0 = torch::randn({4, 8, 7});
  torch::NoGradGuard no_grad;

  auto cpu_context = policy->Encode(obs);
  ASSERT_TRUE(cpu_context.ok()) << cpu_context.status();
  const torch::Tensor cpu_ode = SampleOde(*policy, *cpu_context, x0);
  at::Generator cpu_generator = core::MakeCpuGenerator(5);
  const SdeSample cpu_sde = SampleSde(*policy, *cpu_context, x0, cpu_generator);

  policy->to(torch::kCUDA);
  auto cuda_context = policy->Encode(obs);  // Encode moves the observation to the policy's device
  ASSERT_TRUE(cuda_context.ok()) << cuda_context.status();
  ASSERT_TRUE(cuda_context->tokens.is_cuda());
  const torch::Tensor cuda_ode = SampleOde(*policy, *cuda_context, x0.cuda());
  at::Generator cuda_generator = core::MakeCpuGenerator(5);
  const SdeSample cuda_sde = SampleSde(*policy, *cuda_context, x0.cuda(), cuda_generator);
  ASSERT_TRUE(cuda_sde.chain.is_cuda());

  // TF32 may be on for CUDA matmuls, hence tolerances of a few 1e-3 rather than float32 epsilon.
  EXPECT_TRUE(torch::allclose(cuda_ode.cpu(), cpu_ode, 1e-3, 2e-3)) << (cuda_ode.cpu() - cpu_ode).abs().max();
  EXPECT_TRUE(torch::allclose(cuda_sde.chain.cpu(), cpu_sde.chain, 1e-3, 2e-3))
      << (cuda_sde.chain.cpu() - cpu_sde.chain).abs().max();
  EXPECT_TRUE(torch::allclose(cuda_sde.log_probs.cpu(), cpu_sde.log_probs, 1e-3, 1e-2))
      << (cuda_sde.log_probs.cpu() - cpu_sde.log_probs).abs().max();

  // The learner's recomputation on CUDA of a chain sampled on the CPU gives the CPU's log-probs.
  const ChainLogProbs recomputed = RecomputeChainLogProbs(*policy, *cuda_context, cpu_sde.chain.cuda());
  EXPECT_TRUE(torch::allclose(recomputed.log_probs.cpu(), cpu_sde.log_probs, 1e-3, 1e-2))
      << (recomputed.log_probs.cpu() - cpu_sde.log_probs).abs().max();
}

}  // namespace
}  // namespace vlarft::rl
