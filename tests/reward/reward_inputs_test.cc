#include <limits>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "libs/reward/reward.h"
#include "libs/reward/image_metrics.h"
#include "libs/reward/reward_inputs.h"
#include "tests/reward/reward_test_util.h"

namespace vlarft::reward {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::StartsWith;
using testing::NoiseFrames;

class RewardInputsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    RewardConfig config;
    config.perceptual = "ssim";
    absl::StatusOr<std::unique_ptr<RewardScorer>> scorer = RewardScorer::Create(config);
    ASSERT_TRUE(scorer.ok()) << scorer.status();
    scorer_ = std::move(*scorer);
  }

  // Scores one request and returns its error message, expecting INVALID_ARGUMENT.
  std::string Error(const RewardRequest& request) {
    absl::StatusOr<RewardBreakdown> r = scorer_->Score(request);
    EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument) << r.status();
    return std::string(r.status().message());
  }
  RewardRequest Good() const {
    RewardRequest request;
    request.frames = NoiseFrames({2, 3, 16, 16, 3}, 1);
    request.reference_frames = NoiseFrames({3, 16, 16, 3}, 2);
    return request;
  }

  std::unique_ptr<RewardScorer> scorer_;
};

TEST_F(RewardInputsTest, GoodRequestScores) { EXPECT_TRUE(scorer_->Score(Good()).ok()); }

TEST_F(RewardInputsTest, WrongShapesAndDtypesNameTheField) {
  RewardRequest r = Good();
  r.frames = NoiseFrames({2, 16, 16, 3}, 1);  // missing T
  EXPECT_THAT(Error(r), AllOf(StartsWith("frames:"), HasSubstr("uint8 [G, T, H, W, 3]")));
  r = Good();
  r.frames = NoiseFrames({2, 3, 16, 16, 4}, 1);  // RGBA
  EXPECT_THAT(Error(r), StartsWith("frames:"));
  r = Good();
  r.frames = r.frames.to(torch::kInt32);
  EXPECT_THAT(Error(r), AllOf(StartsWith("frames:"), HasSubstr("Int")));
  r = Good();
  r.frames = r.frames.to(torch::kFloat32);  // float must be channels-first
  EXPECT_THAT(Error(r), StartsWith("frames:"));
  r = Good();
  r.frames = torch::Tensor();
  EXPECT_THAT(Error(r), AllOf(StartsWith("frames:"), HasSubstr("missing")));
  r = Good();
  r.frames = NoiseFrames({0, 3, 16, 16, 3}, 1);
  EXPECT_THAT(Error(r), AllOf(StartsWith("frames:"), HasSubstr("empty")));
}

TEST_F(RewardInputsTest, ReferenceMustMatchTheTrajectories) {
  RewardRequest r = Good();
  r.reference_frames = NoiseFrames({4, 16, 16, 3}, 2);
  EXPECT_THAT(Error(r), AllOf(StartsWith("reference_frames:"), HasSubstr("T = 4"), HasSubstr("T = 3")));
  r = Good();
  r.reference_frames = NoiseFrames({3, 16, 12, 3}, 2);
  EXPECT_THAT(Error(r), AllOf(StartsWith("reference_frames:"), HasSubstr("16x12")));
  r = Good();
  r.reference_frames = NoiseFrames({5, 3, 16, 16, 3}, 2);  // per-sample references for G = 5 != 2
  EXPECT_THAT(Error(r), AllOf(StartsWith("reference_frames:"), HasSubstr("G = 2")));
  r = Good();
  r.reference_frames = torch::Tensor();
  EXPECT_THAT(Error(r), AllOf(StartsWith("reference_frames:"), HasSubstr("missing")));
  r = Good();
  r.reference_frames = NoiseFrames({16, 16, 3}, 2);
  EXPECT_THAT(Error(r), AllOf(StartsWith("reference_frames:"), HasSubstr("[T, H, W, 3]")));
}

TEST_F(RewardInputsTest, FloatPixelsMustBeFiniteAndInUnitRange) {
  RewardRequest r = Good();
  r.frames = torch::rand({2, 3, 3, 16, 16});
  EXPECT_TRUE(scorer_->Score(r).ok());
  r.frames[1][2][0][5][5] = std::numeric_limits<float>::quiet_NaN();
  EXPECT_THAT(Error(r), AllOf(StartsWith("frames:"), HasSubstr("NaN")));
  r.frames = torch::rand({2, 3, 3, 16, 16});
  r.frames[0][0][1][0][0] = 1.5;
  EXPECT_THAT(Error(r), AllOf(StartsWith("frames:"), HasSubstr("[0, 1]"), HasSubstr("1.5")));
  r = Good();
  r.reference_frames = torch::rand({3, 3, 16, 16}) - 0.5;
  EXPECT_THAT(Error(r), AllOf(StartsWith("reference_frames:"), HasSubstr("[0, 1]")));
  r.reference_frames = torch::full({3, 3, 16, 16}, std::numeric_limits<double>::infinity(), torch::kFloat64);
  EXPECT_THAT(Error(r), AllOf(StartsWith("reference_frames:"), HasSubstr("Inf")));
}

TEST_F(RewardInputsTest, FramesSmallerThanTheDistanceAllows) {
  RewardRequest r;
  r.frames = NoiseFrames({2, 3, 8, 8, 3}, 1);
  r.reference_frames = NoiseFrames({3, 8, 8, 3}, 2);
  EXPECT_THAT(Error(r), AllOf(StartsWith("frames:"), HasSubstr("at least 11x11")));
}

TEST_F(RewardInputsTest, ActionsAreValidatedForTypeOne) {
  RewardRequest r;
  r.type = RewardType::kActionL1;
  r.actions = torch::randn({4, 8, 7});
  r.reference_actions = torch::randn({8, 7});
  EXPECT_TRUE(scorer_->Score(r).ok());
  RewardRequest bad = r;
  bad.reference_actions = torch::randn({8, 6});
  EXPECT_THAT(Error(bad), AllOf(StartsWith("reference_actions:"), HasSubstr("[8, 6]")));
  bad = r;
  bad.reference_actions = torch::randn({3, 8, 7});
  EXPECT_THAT(Error(bad), AllOf(StartsWith("reference_actions:"), HasSubstr("G = 4")));
  bad = r;
  bad.actions = r.actions.clone();
  bad.actions[2][3][1] = std::numeric_limits<float>::infinity();
  EXPECT_THAT(Error(bad), AllOf(StartsWith("actions:"), HasSubstr("NaN or Inf")));
  bad = r;
  bad.actions = torch::randint(0, 3, {4, 8, 7});
  EXPECT_THAT(Error(bad), StartsWith("actions:"));
  bad = r;
  bad.actions = torch::Tensor();  // type 1 without actions
  EXPECT_THAT(Error(bad), AllOf(StartsWith("actions:"), HasSubstr("missing")));
  bad = r;
  bad.type = static_cast<RewardType>(9);
  EXPECT_THAT(Error(bad), StartsWith("type:"));
}

TEST_F(RewardInputsTest, BatchErrorsNameTheRequest) {
  std::vector<RewardRequest> requests = {Good(), Good(), Good()};
  requests[1].reference_frames = NoiseFrames({2, 16, 16, 3}, 3);
  absl::StatusOr<std::vector<RewardBreakdown>> r = scorer_->ScoreBatch(requests);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(r.status().message()), StartsWith("requests[1].reference_frames:"));
}

TEST(RewardInputsConversionTest, Uint8AndFloatLayoutsMeetInOneCanonicalForm) {
  const torch::Tensor u8 = NoiseFrames({2, 3, 5, 4, 3}, 4);
  absl::StatusOr<torch::Tensor> from_u8 = ToCanonicalFrames(u8, 2, "frames", torch::kCPU);
  ASSERT_TRUE(from_u8.ok()) << from_u8.status();
  EXPECT_EQ(from_u8->sizes(), (std::vector<int64_t>{2, 3, 3, 5, 4}));
  EXPECT_EQ(from_u8->dtype(), torch::kFloat32);
  EXPECT_FLOAT_EQ((*from_u8)[1][2][0][4][3].item<float>(), u8[1][2][4][3][0].item<int>() / 255.0f);
  const torch::Tensor f64 = u8.permute({0, 1, 4, 2, 3}).to(torch::kFloat64) / 255.0;
  absl::StatusOr<torch::Tensor> from_f64 = ToCanonicalFrames(f64, 2, "frames", torch::kCPU);
  ASSERT_TRUE(from_f64.ok());
  EXPECT_TRUE(torch::allclose(*from_u8, *from_f64));
}

TEST(RewardDistanceInputsTest, DistanceChecksItsArguments) {
  auto distance = MakeSsimDistance();
  const torch::Tensor ok = torch::rand({2, 3, 12, 12});
  EXPECT_THAT(std::string(distance->Distance(ok, torch::rand({3, 3, 12, 12})).status().message()),
              HasSubstr("b: shape"));
  EXPECT_THAT(std::string(distance->Distance(torch::rand({2, 1, 12, 12}), torch::rand({2, 1, 12, 12})).status().message()),
              HasSubstr("a: expected [N, 3, H, W]"));
}

}  // namespace
}  // namespace vlarft::reward
