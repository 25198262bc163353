#include "libs/reward/rank_correlation.h"

#include <cmath>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace vlarft::reward {
namespace {

using ::testing::DoubleNear;
using ::testing::ElementsAre;
using ::testing::Optional;

TEST(RankCorrelationTest, AverageRanksShareTiedPositions) {
  EXPECT_THAT(AverageRanks({10, 20, 20, 30}), ElementsAre(1, 2.5, 2.5, 4));
  EXPECT_THAT(AverageRanks({3, 1, 3, 3, 0}), ElementsAre(4, 2, 4, 4, 1));
  EXPECT_TRUE(AverageRanks({}).empty());
}

TEST(RankCorrelationTest, SpearmanIsInvariantToMonotoneTransforms) {
  const std::vector<double> x = {0.1, 0.5, 0.2, 0.9, 0.7};
  std::vector<double> cubed, negated;
  for (double v : x) cubed.push_back(std::exp(10 * v)), negated.push_back(-v * v);
  EXPECT_THAT(Spearman(x, cubed), Optional(DoubleNear(1.0, 1e-12)));
  EXPECT_THAT(Spearman(x, negated), Optional(DoubleNear(-1.0, 1e-12)));
}

TEST(RankCorrelationTest, SpearmanWithTiesMatchesReference) {
  // Ranks (1 2 3 4 5) and (1 2 3.5 5 3.5): ρ = 8 / sqrt(10 · 9.5) = 0.8207826816681233 (as scipy's spearmanr).
  EXPECT_THAT(Spearman({1, 2, 3, 4, 5}, {5, 6, 7, 8, 7}), Optional(DoubleNear(0.8207826816681233, 1e-12)));
  // A binary variable against a score, ties on both sides: ranks (1.5 1.5 4 4 4) and
  // (2.5 1 2.5 5 4) give ρ = 6.25 / sqrt(7.5 · 9.5) = 0.7404360971988654.
  EXPECT_THAT(Spearman({0, 0, 1, 1, 1}, {0.3, 0.1, 0.3, 0.9, 0.5}), Optional(DoubleNear(0.7404360971988654, 1e-12)));
}

TEST(RankCorrelationTest, UndefinedCasesAreNullopt) {
  EXPECT_EQ(Spearman({1, 1, 1}, {1, 2, 3}), std::nullopt);  // constant side
  EXPECT_EQ(Spearman({1, 2, 3}, {4, 4, 4}), std::nullopt);
  EXPECT_EQ(Spearman({1}, {2}), std::nullopt);              // n < 2
  EXPECT_EQ(Spearman({1, 2}, {1, 2, 3}), std::nullopt);     // size mismatch
  EXPECT_EQ(Pearson({2.5, 2.5}, {0, 1}), std::nullopt);
}

TEST(RankCorrelationTest, AurocCountsPairsAndHalfTies) {
  // sklearn.metrics.roc_auc_score([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]) = 0.75
  EXPECT_THAT(Auroc({0.1, 0.4, 0.35, 0.8}, {false, false, true, true}), Optional(DoubleNear(0.75, 1e-12)));
  // One tied pair (½) and one won pair (1) out of two.
  EXPECT_THAT(Auroc({1, 1, 2}, {false, true, true}), Optional(DoubleNear(0.75, 1e-12)));
  EXPECT_THAT(Auroc({3, 2, 1}, {true, false, false}), Optional(DoubleNear(1.0, 1e-12)));
  EXPECT_THAT(Auroc({3, 2, 1}, {false, true, true}), Optional(DoubleNear(0.0, 1e-12)));
  EXPECT_EQ(Auroc({1, 2}, {true, true}), std::nullopt);
  EXPECT_EQ(Auroc({1, 2}, {true}), std::nullopt);
}

TEST(RankCorrelationTest, PooledAndWithinGroupDiffer) {
  GroupedPairs data;
  // Group 0 increasing, group 1 decreasing: within-group ρ average 0. Group 2 has a constant
  // ground truth (undefined ρ) and is skipped by the within-group mean.
  data.x = {{1, 2, 3}, {1, 2, 3}, {1, 2, 3}};
  data.y = {{1, 2, 3}, {13, 12, 11}, {5, 5, 5}};
  int64_t defined = -1;
  EXPECT_THAT(MeanWithinGroupSpearman(data, AllGroups(3), &defined), Optional(DoubleNear(0.0, 1e-12)));
  EXPECT_EQ(defined, 2);
  EXPECT_THAT(MeanWithinGroupSpearman(data, {0, 0, 1}), Optional(DoubleNear(1.0 / 3.0, 1e-12)));
  EXPECT_EQ(MeanWithinGroupSpearman(data, {2}), std::nullopt);
  // Pooled over groups 0 and 1: x = 1 2 3 1 2 3, y = 1 2 3 13 12 11.
  EXPECT_THAT(PooledSpearman(data, {0, 1}), Optional(DoubleNear(*Spearman({1, 2, 3, 1, 2, 3}, {1, 2, 3, 13, 12, 11}), 1e-12)));
}

TEST(RankCorrelationTest, QuantileInterpolates) {
  EXPECT_THAT(Quantile({4, 1, 3, 2}, 0.5), Optional(DoubleNear(2.5, 1e-12)));
  EXPECT_THAT(Quantile({4, 1, 3, 2}, 0.0), Optional(DoubleNear(1.0, 1e-12)));
  EXPECT_THAT(Quantile({4, 1, 3, 2}, 1.0), Optional(DoubleNear(4.0, 1e-12)));
  EXPECT_EQ(Quantile({}, 0.5), std::nullopt);
}

TEST(RankCorrelationTest, ClusterBootstrapCoversTheSamplingSpread) {
  // 1000 clusters with values 0, 1, 0, 1, ...: the mean's standard error is 0.5 / sqrt(1000) ≈ 0.0158,
  // so the 95% interval is about 0.5 ± 0.031.
  const int64_t n = 1000;
  auto mean_of = [&](const std::vector<int64_t>& draw) -> std::optional<double> {
    double sum = 0;
    for (int64_t c : draw) sum += static_cast<double>(c % 2);
    return sum / static_cast<double>(draw.size());
  };
  const std::optional<ConfidenceInterval> ci = ClusterBootstrap(n, mean_of, 2000, /*seed=*/7);
  ASSERT_TRUE(ci.has_value());
  EXPECT_EQ(ci->valid_resamples, 2000);
  EXPECT_GT(ci->low, 0.455);
  EXPECT_LT(ci->low, 0.485);
  EXPECT_GT(ci->high, 0.515);
  EXPECT_LT(ci->high, 0.545);
  // Deterministic in the seed.
  const std::optional<ConfidenceInterval> again = ClusterBootstrap(n, mean_of, 2000, 7);
  EXPECT_EQ(again->low, ci->low);
  EXPECT_EQ(again->high, ci->high);
}

TEST(RankCorrelationTest, ClusterBootstrapSkipsUndefinedResamples) {
  // Defined only when cluster 0 is drawn.
  auto needs_zero = [](const std::vector<int64_t>& draw) -> std::optional<double> {
    for (int64_t c : draw) {
      if (c == 0) return 1.0;
    }
    return std::nullopt;
  };
  const std::optional<ConfidenceInterval> ci = ClusterBootstrap(3, needs_zero, 500, 1);
  ASSERT_TRUE(ci.has_value());
  EXPECT_GT(ci->valid_resamples, 0);
  EXPECT_LT(ci->valid_resamples, 500);  // P(no zero in 3 draws) = 8/27
  EXPECT_EQ(ci->low, 1.0);
  EXPECT_EQ(ci->high, 1.0);
  EXPECT_EQ(ClusterBootstrap(3, [](const std::vector<int64_t>&) { return std::optional<double>(); }, 10, 1),
            std::nullopt);
  EXPECT_EQ(ClusterBootstrap(0, needs_zero, 10, 1), std::nullopt);
  EXPECT_EQ(ClusterBootstrap(3, needs_zero, 10, 1, 1.5), std::nullopt);
}

}  // namespace
}  // namespace vlarft::reward
