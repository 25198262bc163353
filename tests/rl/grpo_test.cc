#include "libs/rl/grpo.h"

#include <cmath>

#include "gtest/gtest.h"

namespace vlarft::rl {
namespace {

TEST(GrpoTest, GroupAdvantagesAreZScoresAndZeroForFlatGroups) {
  torch::Tensor rewards =
      torch::tensor({{1.0, 2.0, 3.0}, {5.0, 5.0, 5.0}, {-1.0, 1.0, 0.0}}, torch::kFloat64);
  torch::Tensor a = GroupAdvantages(rewards, /*normalize_by_std=*/true);
  // Row 0: mean 2, unbiased std 1.
  EXPECT_NEAR(a[0][0].item<double>(), -1.0 / (1.0 + 1e-6), 1e-9);
  EXPECT_NEAR(a[0][2].item<double>(), 1.0 / (1.0 + 1e-6), 1e-9);
  EXPECT_TRUE(torch::equal(a[1], torch::zeros({3}, torch::kFloat64)));
  EXPECT_NEAR(a[2][0].item<double>(), -1.0 / (1.0 + 1e-6), 1e-9);
  torch::Tensor centered = GroupAdvantages(rewards, /*normalize_by_std=*/false);
  EXPECT_TRUE(torch::allclose(centered[0], torch::tensor({-1.0, 0.0, 1.0}, torch::kFloat64)));
  EXPECT_TRUE(torch::equal(GroupAdvantages(torch::tensor({{4.0}}, torch::kFloat64), true), torch::zeros({1, 1}, torch::kFloat64)));
}

// Four tokens chosen to hit every branch; values computed by hand in the comments.
TEST(GrpoTest, ClippedLossDualClipAndGradientsByHand) {
  torch::Tensor old_lp = torch::zeros({4, 1}, torch::kFloat64);
  torch::Tensor lp = torch::tensor({{std::log(1.5)}, {std::log(0.5)}, {std::log(5.0)}, {std::log(0.7)}},
                                   torch::kFloat64).requires_grad_(true);
  torch::Tensor advantages = torch::tensor({1.0, 1.0, -1.0, -1.0}, torch::kFloat64);
  torch::Tensor entropy = torch::ones({4, 1}, torch::kFloat64);
  GrpoConfig config;
  config.flow_matching_coef = 0.0;
  GrpoTerms terms = GrpoLoss(lp, old_lp, advantages, entropy, config);
  // token 0: A=+1, r=1.5 -> -min(1.5, 1.2) = -1.2 (clipped)
  // token 1: A=+1, r=0.5 -> -min(0.5, 0.8) = -0.5
  // token 2: A=-1, r=5   -> -min(-5, -1.2) = 5, dual clip min(5, 3) = 3
  // token 3: A=-1, r=0.7 -> -min(-0.7, -0.8) = 0.8 (clipped)
  EXPECT_NEAR(terms.policy_loss.item<double>(), (-1.2 - 0.5 + 3.0 + 0.8) / 4, 1e-9);
  EXPECT_NEAR(terms.loss.item<double>(), (-1.2 - 0.5 + 3.0 + 0.8) / 4 - 0.003 * 1.0, 1e-9);
  EXPECT_DOUBLE_EQ(terms.clip_fraction, 0.5);
  EXPECT_DOUBLE_EQ(terms.dual_clip_fraction, 0.25);
  EXPECT_NEAR(terms.ratio_mean, (1.5 + 0.5 + 5.0 + 0.7) / 4, 1e-9);
  EXPECT_NEAR(terms.approx_kl, -(std::log(1.5) + std::log(0.5) + std::log(5.0) + std::log(0.7)) / 4, 1e-9);
  terms.loss.backward();
  // Only token 1 is unclipped: d/dℓ (-r·A)/4 = -r·A/4 = -0.125. Clipped and capped tokens get 0.
  EXPECT_TRUE(torch::allclose(lp.grad(), torch::tensor({{0.0}, {-0.125}, {0.0}, {0.0}}, torch::kFloat64)));
}

TEST(GrpoTest, WithoutDualClipTheNegativeTokenIsUnbounded) {
  torch::Tensor lp = torch::tensor({{std::log(5.0)}}, torch::kFloat64);
  GrpoConfig config;
  config.dual_clip = 0.0;
  GrpoTerms terms = GrpoLoss(lp, torch::zeros({1, 1}, torch::kFloat64), torch::tensor({-1.0}, torch::kFloat64),
                             torch::zeros({1, 1}, torch::kFloat64), config);
  EXPECT_NEAR(terms.policy_loss.item<double>(), 5.0, 1e-9);
}

TEST(GrpoTest, ZeroVarianceGroupsContributeNoPolicyGradient) {
  torch::Tensor rewards = torch::full({1, 4}, 0.3, torch::kFloat64);
  torch::Tensor advantages = GroupAdvantages(rewards, true).view({-1});
  torch::Tensor lp = torch::randn({4, 8, 7}, torch::kFloat64).requires_grad_(true);
  GrpoConfig config;
  config.entropy_coef = 0;
  GrpoTerms terms = GrpoLoss(lp, lp.detach() + 0.1, advantages, torch::zeros({4, 8, 7}, torch::kFloat64), config);
  EXPECT_EQ(terms.policy_loss.item<double>(), 0.0);
  terms.loss.backward();
  EXPECT_EQ(lp.grad().abs().sum().item<double>(), 0.0);
}

TEST(GrpoTest, AuxiliaryTermsAreWeighted) {
  torch::Tensor lp = torch::zeros({2, 3}, torch::kFloat64);
  torch::Tensor ref = torch::full({2, 3}, std::log(2.0), torch::kFloat64);
  GrpoConfig config;
  config.entropy_coef = 0.5;
  config.flow_matching_coef = 0.25;
  config.kl_coef = 2.0;
  GrpoTerms terms = GrpoLoss(lp, lp, torch::zeros({2}, torch::kFloat64), torch::full({2, 3}, 4.0, torch::kFloat64),
                             config, torch::tensor(8.0, torch::kFloat64), ref);
  // k3 KL with ℓ_ref − ℓ = log 2: 2 − log 2 − 1.
  const double kl = 1.0 - std::log(2.0);
  EXPECT_NEAR(terms.kl.item<double>(), kl, 1e-9);
  EXPECT_NEAR(terms.loss.item<double>(), 0.0 - 0.5 * 4.0 + 0.25 * 8.0 + 2.0 * kl, 1e-9);
  EXPECT_TRUE(config.Validate().ok());
  config.step_aggregation = "median";
  EXPECT_FALSE(config.Validate().ok());
}

}  // namespace
}  // namespace vlarft::rl
