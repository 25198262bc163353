#include "libs/reward/feature_distance.h"

#include <cmath>
#include <memory>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/reward/reward_test_util.h"

namespace vlarft::reward {
namespace {

using ::testing::HasSubstr;
using testing::TinyConvExtractor;

// The "tokenizer" distance written out with loops: per scale and position, unit-normalise both
// channel vectors, sum the squared differences; mean over positions; mean over scales.
double HandTokenizerDistance(const std::vector<torch::Tensor>& fa, const std::vector<torch::Tensor>& fb) {
  double total = 0;
  for (size_t s = 0; s < fa.size(); ++s) {
    const auto A = fa[s].to(torch::kFloat64).contiguous();
    const auto B = fb[s].to(torch::kFloat64).contiguous();
    const auto a = A.accessor<double, 3>();
    const auto b = B.accessor<double, 3>();
    const int64_t c = A.size(0), h = A.size(1), w = A.size(2);
    double scale_sum = 0;
    for (int64_t y = 0; y < h; ++y) {
      for (int64_t x = 0; x < w; ++x) {
        double na = 0, nb = 0;
        for (int64_t k = 0; k < c; ++k) {
          na += a[k][y][x] * a[k][y][x];
          nb += b[k][y][x] * b[k][y][x];
        }
        na = std::sqrt(na) + 1e-10;
        nb = std::sqrt(nb) + 1e-10;
        for (int64_t k = 0; k < c; ++k) {
          const double d = a[k][y][x] / na - b[k][y][x] / nb;
          scale_sum += d * d;
        }
      }
    }
    total += scale_sum / (h * w);
  }
  return total / fa.size();
}

TEST(RewardTokenizerDistanceTest, MatchesHandComputation) {
  torch::manual_seed(11);
  auto extractor = std::make_shared<TinyConvExtractor>();
  auto distance = MakeTokenizerDistance(extractor);
  EXPECT_EQ(distance->name(), "tokenizer");
  const torch::Tensor a = torch::rand({3, 3, 8, 10});
  const torch::Tensor b = torch::rand({3, 3, 8, 10});
  absl::StatusOr<torch::Tensor> d = distance->Distance(a, b);
  ASSERT_TRUE(d.ok()) << d.status();
  torch::NoGradGuard no_grad;
  const std::vector<torch::Tensor> fa = extractor->Features(a), fb = extractor->Features(b);
  for (int64_t n = 0; n < 3; ++n) {
    std::vector<torch::Tensor> one_a, one_b;
    for (size_t s = 0; s < fa.size(); ++s) {
      one_a.push_back(fa[s][n]);
      one_b.push_back(fb[s][n]);
    }
    EXPECT_NEAR((*d)[n].item<double>(), HandTokenizerDistance(one_a, one_b), 1e-5);
  }
}

TEST(RewardTokenizerDistanceTest, SharedReferencesGiveThePairwiseResult) {
  torch::manual_seed(12);
  auto distance = MakeTokenizerDistance(std::make_shared<TinyConvExtractor>());
  const torch::Tensor images = torch::rand({5, 3, 8, 8});
  const torch::Tensor references = torch::rand({2, 3, 8, 8});
  const torch::Tensor index = torch::tensor({0, 1, 1, 0, 1}, torch::kInt64);
  absl::StatusOr<torch::Tensor> shared = distance->DistanceToReferences(images, references, index);
  absl::StatusOr<torch::Tensor> pairwise = distance->Distance(images, references.index_select(0, index));
  ASSERT_TRUE(shared.ok() && pairwise.ok());
  EXPECT_TRUE(torch::allclose(*shared, *pairwise, 1e-6, 1e-6));

  absl::Status bad = distance->DistanceToReferences(images, references, torch::tensor({0, 1, 2, 0, 1})).status();
  EXPECT_THAT(std::string(bad.message()), HasSubstr("reference_index"));
  bad = distance->DistanceToReferences(images, references, torch::tensor({0, 1})).status();
  EXPECT_THAT(std::string(bad.message()), HasSubstr("reference_index: expected int64 [5]"));
}

TEST(RewardTokenizerDistanceTest, WeightedSumMatchesManualWeighting) {
  // The LPIPS form of the same formula: per-channel weights, sum over scales.
  torch::manual_seed(13);
  const std::vector<torch::Tensor> a = {torch::randn({2, 4, 5, 5}), torch::randn({2, 6, 3, 3})};
  const std::vector<torch::Tensor> b = {torch::randn({2, 4, 5, 5}), torch::randn({2, 6, 3, 3})};
  const std::vector<torch::Tensor> w = {torch::ones({4}) * 2.0, torch::ones({6}) * 0.5};
  const torch::Tensor unweighted_mean = NormalizedFeatureDistance(a, b, {}, ScaleReduction::kMean);
  const torch::Tensor per_scale0 = NormalizedFeatureDistance({a[0]}, {b[0]}, {}, ScaleReduction::kSum);
  const torch::Tensor per_scale1 = NormalizedFeatureDistance({a[1]}, {b[1]}, {}, ScaleReduction::kSum);
  EXPECT_TRUE(torch::allclose(unweighted_mean, (per_scale0 + per_scale1) / 2));
  EXPECT_TRUE(torch::allclose(NormalizedFeatureDistance(a, b, w, ScaleReduction::kSum),
                              2.0 * per_scale0 + 0.5 * per_scale1));
}

// An extractor that breaks its contract: NaN features, or the wrong batch size.
class BrokenExtractor : public MultiScaleFeatureExtractor {
 public:
  explicit BrokenExtractor(bool nan) : nan_(nan) {}
  std::vector<torch::Tensor> Features(const torch::Tensor& images) override {
    if (nan_) return {torch::full({images.size(0), 2, 3, 3}, std::nan(""))};
    return {torch::ones({images.size(0) + 1, 2, 3, 3})};
  }

 private:
  bool nan_;
};

TEST(RewardTokenizerDistanceTest, BrokenExtractorIsAnErrorNotANanReward) {
  const torch::Tensor a = torch::rand({2, 3, 8, 8}), b = torch::rand({2, 3, 8, 8});
  absl::Status status = MakeTokenizerDistance(std::make_shared<BrokenExtractor>(true))->Distance(a, b).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInternal);
  EXPECT_THAT(std::string(status.message()), HasSubstr("NaN"));
  status = MakeTokenizerDistance(std::make_shared<BrokenExtractor>(false))->Distance(a, b).status();
  EXPECT_FALSE(status.ok());
  EXPECT_THAT(std::string(status.message()), HasSubstr("feature scale 0 must be [4, C, H, W]"));
}

}  // namespace
}  // namespace vlarft::reward
