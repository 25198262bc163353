#include "libs/reward/image_metrics.h"

#include <cmath>
#include <limits>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace vlarft::reward {
namespace {

using ::testing::HasSubstr;

// SSIM written out the way the paper defines it: Gaussian-weighted local statistics over every
// full 11x11 window, per channel, then the mean over channels and window positions.
double HandSsim(const torch::Tensor& a, const torch::Tensor& b) {
  const int k = 11;
  const double sigma = 1.5, c1 = 0.01 * 0.01, c2 = 0.03 * 0.03;
  std::vector<double> g(k);
  double total = 0;
  for (int i = 0; i < k; ++i) {
    g[i] = std::exp(-((i - 5.0) * (i - 5.0)) / (2 * sigma * sigma));
    total += g[i];
  }
  for (double& v : g) v /= total;
  const auto pa = a.to(torch::kFloat64).contiguous();
  const auto pb = b.to(torch::kFloat64).contiguous();
  const auto A = pa.accessor<double, 3>();
  const auto B = pb.accessor<double, 3>();
  const int64_t channels = a.size(0), h = a.size(1), w = a.size(2);
  double sum = 0;
  int64_t count = 0;
  for (int64_t c = 0; c < channels; ++c) {
    for (int64_t y = 0; y + k <= h; ++y) {
      for (int64_t x = 0; x + k <= w; ++x) {
        double mu_a = 0, mu_b = 0;
        for (int i = 0; i < k; ++i) {
          for (int j = 0; j < k; ++j) {
            mu_a += g[i] * g[j] * A[c][y + i][x + j];
            mu_b += g[i] * g[j] * B[c][y + i][x + j];
          }
        }
        double var_a = 0, var_b = 0, cov = 0;
        for (int i = 0; i < k; ++i) {
          for (int j = 0; j < k; ++j) {
            const double da = A[c][y + i][x + j] - mu_a, db = B[c][y + i][x + j] - mu_b;
            var_a += g[i] * g[j] * da * da;
            var_b += g[i] * g[j] * db * db;
            cov += g[i] * g[j] * da * db;
          }
        }
        sum += ((2 * mu_a * mu_b + c1) * (2 * cov + c2)) / ((mu_a * mu_a + mu_b * mu_b + c1) * (var_a + var_b + c2));
        ++count;
      }
    }
  }
  return sum / count;
}

TEST(RewardSsimTest, MatchesHandComputationOnTinyImages) {
  torch::manual_seed(3);
  // 11x11 (a single window), and 13x12 (a 3x2 map of windows), 3 channels.
  for (const auto& [h, w] : std::vector<std::pair<int64_t, int64_t>>{{11, 11}, {13, 12}}) {
    const torch::Tensor a = torch::rand({2, 3, h, w});
    torch::Tensor b = (a + 0.2 * torch::randn({2, 3, h, w})).clamp(0, 1);
    b[1] = torch::rand({3, h, w});  // an unrelated image: low SSIM
    absl::StatusOr<torch::Tensor> ssim = Ssim(a, b);
    ASSERT_TRUE(ssim.ok()) << ssim.status();
    ASSERT_EQ(ssim->sizes(), (std::vector<int64_t>{2}));
    for (int64_t n = 0; n < 2; ++n) {
      EXPECT_NEAR((*ssim)[n].item<double>(), HandSsim(a[n], b[n]), 2e-6) << h << "x" << w << " n=" << n;
    }
  }
}

TEST(RewardSsimTest, ClosedFormForConstantImagesAndExactOneForIdentical) {
  // Constant images have σ = 0, so SSIM = (2 μa μb + C1) / (μa² + μb² + C1).
  const torch::Tensor a = torch::full({1, 3, 12, 12}, 0.2, torch::kFloat64);
  const torch::Tensor b = torch::full({1, 3, 12, 12}, 0.7, torch::kFloat64);
  const double c1 = 1e-4;
  absl::StatusOr<torch::Tensor> ssim = Ssim(a, b);
  ASSERT_TRUE(ssim.ok()) << ssim.status();
  EXPECT_NEAR((*ssim)[0].item<double>(), (2 * 0.2 * 0.7 + c1) / (0.04 + 0.49 + c1), 1e-6);

  const torch::Tensor x = torch::rand({2, 3, 16, 16});
  absl::StatusOr<torch::Tensor> same = Ssim(x, x.clone());
  ASSERT_TRUE(same.ok());
  EXPECT_TRUE(torch::equal(*same, torch::ones({2})));
}

TEST(RewardSsimTest, DistanceIsOneMinusSsim) {
  torch::manual_seed(4);
  const torch::Tensor a = torch::rand({3, 3, 14, 14});
  const torch::Tensor b = torch::rand({3, 3, 14, 14});
  auto distance = MakeSsimDistance();
  EXPECT_EQ(distance->name(), "ssim");
  absl::StatusOr<torch::Tensor> d = distance->Distance(a, b);
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_TRUE(torch::allclose(*d, 1.0 - *Ssim(a, b), 1e-6, 1e-6));
  EXPECT_TRUE(torch::equal(*distance->Distance(a, a.clone()), torch::zeros({3})));
}

TEST(RewardSsimTest, MseAndPsnrByHand) {
  const torch::Tensor a = torch::zeros({2, 3, 4, 4});
  torch::Tensor b = torch::full({2, 3, 4, 4}, 0.1);
  b[1].fill_(0.0);
  absl::StatusOr<torch::Tensor> mse = Mse(a, b);
  ASSERT_TRUE(mse.ok());
  EXPECT_NEAR((*mse)[0].item<double>(), 0.01, 1e-7);
  EXPECT_EQ((*mse)[1].item<double>(), 0.0);
  absl::StatusOr<torch::Tensor> psnr = Psnr(a, b);
  ASSERT_TRUE(psnr.ok());
  EXPECT_NEAR((*psnr)[0].item<double>(), 20.0, 1e-4);  // 10·log10(1 / 0.01)
  EXPECT_EQ((*psnr)[1].item<double>(), std::numeric_limits<double>::infinity());
  EXPECT_NEAR((*Psnr(a, b, 255.0))[0].item<double>(), 10 * std::log10(255.0 * 255.0 / 0.01), 1e-3);
}

TEST(RewardSsimTest, BadInputsNameTheArgument) {
  const torch::Tensor ok = torch::rand({1, 3, 12, 12});
  auto expect_invalid = [](const absl::Status& status, const std::string& what) {
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
    EXPECT_THAT(std::string(status.message()), HasSubstr(what));
  };
  expect_invalid(Ssim(ok, torch::rand({1, 3, 12, 13})).status(), "b: shape");
  expect_invalid(Ssim(torch::rand({1, 3, 10, 10}), torch::rand({1, 3, 10, 10})).status(), "at least 11x11");
  expect_invalid(Ssim(torch::rand({3, 12, 12}), ok).status(), "a: expected [N >= 1");
  torch::Tensor nan = ok.clone();
  nan[0][1][2][3] = std::numeric_limits<float>::quiet_NaN();
  expect_invalid(Ssim(ok, nan).status(), "b: contains NaN");
  expect_invalid(Mse(ok.to(torch::kInt32), ok).status(), "a: expected a floating-point");
  SsimOptions bad;
  bad.sigma = 0;
  expect_invalid(Ssim(ok, ok, bad).status(), "sigma");
  // The reward distance additionally insists on [0, 1] pixels.
  expect_invalid(MakeSsimDistance()->Distance(ok, ok * 2.0).status(), "[0, 1]");
}

}  // namespace
}  // namespace vlarft::reward
