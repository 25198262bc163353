#include "libs/reward/reward.h"

#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "libs/core/config.h"
#include "libs/reward/image_metrics.h"
#include "tests/reward/reward_test_util.h"

namespace vlarft::reward {
namespace {

using ::testing::HasSubstr;
using testing::NoiseFrames;
using testing::RandomLpipsTensors;
using testing::ScratchDir;
using testing::SquareFrame;
using testing::TinyConvExtractor;
using testing::WriteLpipsFile;

std::unique_ptr<RewardScorer> MakeScorer(RewardConfig config,
                                         std::shared_ptr<MultiScaleFeatureExtractor> extractor = nullptr) {
  absl::StatusOr<std::unique_ptr<RewardScorer>> scorer = RewardScorer::Create(config, std::move(extractor));
  EXPECT_TRUE(scorer.ok()) << scorer.status();
  return scorer.ok() ? std::move(*scorer) : nullptr;
}

double At(const torch::Tensor& t, int64_t i) { return t[i].item<double>(); }

TEST(RewardAggregationTest, FrameWeightsAndAggregatesByHand) {
  const torch::Tensor losses = torch::tensor({{1.0, 2.0, 3.0, 4.0}, {0.0, 0.0, 0.0, 8.0}}, torch::kFloat64);
  const torch::Tensor mean = AggregateFrames(losses, FrameAggregation::kMean, 0.95);
  EXPECT_DOUBLE_EQ(At(mean, 0), 2.5);
  EXPECT_DOUBLE_EQ(At(mean, 1), 2.0);
  const torch::Tensor last = AggregateFrames(losses, FrameAggregation::kLast, 0.95);
  EXPECT_DOUBLE_EQ(At(last, 0), 4.0);
  EXPECT_DOUBLE_EQ(At(last, 1), 8.0);
  // γ = 0.5: (1 + 2·0.5 + 3·0.25 + 4·0.125) / (1 + 0.5 + 0.25 + 0.125) = 3.25 / 1.875
  const torch::Tensor discounted = AggregateFrames(losses, FrameAggregation::kDiscounted, 0.5);
  EXPECT_NEAR(At(discounted, 0), 3.25 / 1.875, 1e-12);
  EXPECT_NEAR(At(discounted, 1), 8 * 0.125 / 1.875, 1e-12);
  // γ = 1 is the mean; the weights always sum to 1.
  EXPECT_TRUE(torch::allclose(AggregateFrames(losses, FrameAggregation::kDiscounted, 1.0), mean));
  EXPECT_NEAR(FrameWeights(7, FrameAggregation::kDiscounted, 0.95).sum().item<double>(), 1.0, 1e-6);
  EXPECT_EQ(FrameWeights(3, FrameAggregation::kLast, 0.95).dtype(), torch::kFloat32);
}

// Frames whose per-frame L1 is known exactly: constant grey levels v against a black reference.
TEST(RewardAggregationTest, EndToEndFrameRewardsByHand) {
  const std::vector<std::vector<int>> levels = {{10, 40, 70}, {200, 0, 100}};
  torch::Tensor frames = torch::zeros({2, 3, 8, 8, 3}, torch::kUInt8);
  for (int g = 0; g < 2; ++g) {
    for (int t = 0; t < 3; ++t) frames[g][t].fill_(levels[g][t]);
  }
  const torch::Tensor reference = torch::zeros({3, 8, 8, 3}, torch::kUInt8);
  for (const std::string aggregation : {"mean", "last", "discounted"}) {
    RewardConfig config;
    config.perceptual = "none";
    config.w_l1 = 2.0;
    config.aggregation = aggregation;
    auto scorer = MakeScorer(config);
    absl::StatusOr<RewardBreakdown> r = scorer->ScoreTrajectories(frames, reference);
    ASSERT_TRUE(r.ok()) << r.status();
    for (int g = 0; g < 2; ++g) {
      std::vector<double> loss;
      for (int t = 0; t < 3; ++t) loss.push_back(2.0 * levels[g][t] / 255.0);
      double expected = 0;
      if (aggregation == "mean") {
        expected = (loss[0] + loss[1] + loss[2]) / 3;
      } else if (aggregation == "last") {
        expected = loss[2];
      } else {
        double num = 0, den = 0;
        for (int t = 0; t < 3; ++t) {
          num += std::pow(0.95, t) * loss[t];
          den += std::pow(0.95, t);
        }
        expected = num / den;
      }
      EXPECT_NEAR(At(r->rewards, g), -expected, 1e-6) << aggregation << " g=" << g;
      EXPECT_NEAR(At(r->l1, g), expected / 2.0, 1e-6);
      EXPECT_EQ(At(r->perceptual, g), 0.0);
      for (int t = 0; t < 3; ++t) EXPECT_NEAR(r->per_frame[g][t].item<double>(), loss[t], 1e-6);
    }
    EXPECT_EQ(r->per_frame.sizes(), (std::vector<int64_t>{2, 3}));
  }
}

TEST(RewardTypesTest, ActionL1ByHand) {
  RewardConfig config;
  config.type = RewardType::kActionL1;
  config.perceptual = "none";
  config.aggregation = "last";  // type 1 is the plain mean whatever the frame aggregation
  auto scorer = MakeScorer(config);
  const torch::Tensor actions = torch::tensor({{{0.5, -1.0, 0.0}, {1.0, 1.0, 1.0}},
                                               {{0.0, 0.0, 0.0}, {0.0, 0.0, 0.0}}});
  const torch::Tensor expert = torch::tensor({{0.0, 0.0, 0.0}, {1.0, 0.0, -1.0}});
  RewardRequest request;  // type left unspecified: the configured default (1)
  request.actions = actions;
  request.reference_actions = expert;
  absl::StatusOr<RewardBreakdown> r = scorer->Score(request);
  ASSERT_TRUE(r.ok()) << r.status();
  // Sample 0: |0.5|+|−1|+0 + 0+1+2 = 4.5 over 6 entries; sample 1: 0+0+0 + 1+0+1 = 2 over 6.
  EXPECT_NEAR(At(r->rewards, 0), -4.5 / 6, 1e-6);
  EXPECT_NEAR(At(r->rewards, 1), -2.0 / 6, 1e-6);
  EXPECT_NEAR(At(r->l1, 0), 4.5 / 6, 1e-6);
  EXPECT_NEAR(r->per_frame[0][0].item<double>(), 1.5 / 3, 1e-6);
  EXPECT_NEAR(r->per_frame[0][1].item<double>(), 3.0 / 3, 1e-6);
  EXPECT_TRUE(torch::equal(r->perceptual, torch::zeros({2})));
  // Per-sample reference chunks are accepted too.
  absl::StatusOr<RewardBreakdown> per_sample = scorer->ScoreActions(actions, expert.unsqueeze(0).expand({2, 2, 3}));
  ASSERT_TRUE(per_sample.ok());
  EXPECT_TRUE(torch::allclose(per_sample->rewards, r->rewards));
}

TEST(RewardTypesTest, TypesTwoAndThreeAreTheSameComputation) {
  RewardConfig config;
  config.perceptual = "ssim";
  auto scorer = MakeScorer(config);
  const torch::Tensor frames = NoiseFrames({3, 2, 16, 16, 3}, 1);
  const torch::Tensor reference = NoiseFrames({2, 16, 16, 3}, 2);
  RewardRequest request;
  request.frames = frames;
  request.reference_frames = reference;
  request.type = RewardType::kImaginedVsReal;
  absl::StatusOr<RewardBreakdown> two = scorer->Score(request);
  request.type = RewardType::kImaginedVsImaginedExpert;
  absl::StatusOr<RewardBreakdown> three = scorer->Score(request);
  ASSERT_TRUE(two.ok() && three.ok());
  EXPECT_TRUE(torch::equal(two->rewards, three->rewards));
  EXPECT_TRUE(torch::equal(two->per_frame, three->per_frame));
  // The components add up: R = −(w_l1·l1 + w_p·perceptual).
  EXPECT_TRUE(torch::allclose(three->rewards, -(three->l1 + three->perceptual), 1e-6, 1e-6));
  // And the perceptual component is 1 − SSIM of the frames, frame by frame.
  const torch::Tensor a = frames.flatten(0, 1).permute({0, 3, 1, 2}).to(torch::kFloat32) / 255.0;
  const torch::Tensor b = reference.repeat({3, 1, 1, 1}).permute({0, 3, 1, 2}).to(torch::kFloat32) / 255.0;
  EXPECT_TRUE(torch::allclose(three->per_frame_perceptual.flatten(), 1.0 - *Ssim(a, b), 1e-5, 1e-6));
}

// Every distance the factory can build, with real LPIPS shapes and deterministic random weights.
class AllDistances {
 public:
  AllDistances() {
    WriteLpipsFile(dir_.Path("vgg.safetensors"), RandomLpipsTensors(LpipsBackbone::kVgg16, 31), LpipsBackbone::kVgg16);
    WriteLpipsFile(dir_.Path("alex.safetensors"), RandomLpipsTensors(LpipsBackbone::kAlexNet, 32),
                   LpipsBackbone::kAlexNet);
  }
  RewardConfig Config(const std::string& perceptual) const {
    RewardConfig config;
    config.perceptual = perceptual;
    if (perceptual == "lpips-vgg") config.lpips_weights = dir_.Path("vgg.safetensors");
    if (perceptual == "lpips-alex") config.lpips_weights = dir_.Path("alex.safetensors");
    return config;
  }
  static std::vector<std::string> Names() { return {"none", "ssim", "tokenizer", "lpips-vgg", "lpips-alex"}; }

 private:
  ScratchDir dir_;
};

TEST(RewardTypesTest, IdenticalTrajectoriesScoreExactlyZeroEverywhere) {
  AllDistances distances;
  auto extractor = std::make_shared<TinyConvExtractor>();
  const torch::Tensor reference = NoiseFrames({3, 32, 32, 3}, 5);
  const torch::Tensor frames = reference.unsqueeze(0).expand({2, 3, 32, 32, 3}).contiguous();
  for (const std::string& perceptual : AllDistances::Names()) {
    for (const std::string aggregation : {"mean", "last", "discounted"}) {
      RewardConfig config = distances.Config(perceptual);
      config.aggregation = aggregation;
      auto scorer = MakeScorer(config, extractor);
      ASSERT_NE(scorer, nullptr) << perceptual;
      for (const RewardType type : {RewardType::kImaginedVsReal, RewardType::kImaginedVsImaginedExpert}) {
        for (const torch::Tensor& ref : {reference, frames}) {  // shared and per-sample references
          RewardRequest request;
          request.type = type;
          request.frames = frames;
          request.reference_frames = ref;
          absl::StatusOr<RewardBreakdown> r = scorer->Score(request);
          ASSERT_TRUE(r.ok()) << r.status();
          const std::string where = perceptual + "/" + aggregation + "/type " + std::to_string(int(type));
          EXPECT_TRUE(torch::equal(r->rewards, torch::zeros({2}))) << where << r->rewards;
          EXPECT_FALSE(std::signbit(At(r->rewards, 0))) << where << ": reported -0";
          EXPECT_TRUE(torch::equal(r->per_frame, torch::zeros({2, 3}))) << where;
          EXPECT_TRUE(torch::equal(r->perceptual, torch::zeros({2}))) << where;
        }
      }
      // Float frames in the other canonical layout too.
      const torch::Tensor float_frames = frames.permute({0, 1, 4, 2, 3}).to(torch::kFloat32) / 255.0;
      absl::StatusOr<RewardBreakdown> r = scorer->ScoreTrajectories(float_frames, float_frames[1]);
      ASSERT_TRUE(r.ok()) << r.status();
      EXPECT_TRUE(torch::equal(r->rewards, torch::zeros({2}))) << perceptual;
    }
  }
  RewardConfig config;
  config.type = RewardType::kActionL1;
  config.perceptual = "none";
  const torch::Tensor expert = torch::randn({8, 7});
  absl::StatusOr<RewardBreakdown> r = MakeScorer(config)->ScoreActions(expert.expand({4, 8, 7}), expert);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(torch::equal(r->rewards, torch::zeros({4})));
}

// G samples whose frames move further from the reference sample by sample; every distance,
// alone (w_l1 = 0) and with the L1 term, must rank them strictly.
void ExpectStrictlyDecreasing(const torch::Tensor& rewards, const std::string& where) {
  for (int64_t g = 1; g < rewards.size(0); ++g) {
    EXPECT_LT(At(rewards, g), At(rewards, g - 1)) << where << " at sample " << g << ": " << rewards;
  }
}

TEST(RewardTypesTest, RewardDecreasesAsFramesDiverge) {
  AllDistances distances;
  auto extractor = std::make_shared<TinyConvExtractor>();
  const int64_t size = 32, frames_per_sample = 2, samples = 5;
  // (a) a rendered square shifted 0..4 pixels further in every frame of sample g.
  torch::Tensor reference = torch::stack({SquareFrame(size, size, 8, 8, 12), SquareFrame(size, size, 10, 6, 12)});
  std::vector<torch::Tensor> shifted;
  for (int64_t g = 0; g < samples; ++g) {
    shifted.push_back(torch::stack({SquareFrame(size, size, 8, 8 + g, 12), SquareFrame(size, size, 10 + g, 6, 12)}));
  }
  const torch::Tensor shifted_frames = torch::stack(shifted);
  // (b) the reference blended towards noise with α = 0, 0.2, ..., 0.8.
  const torch::Tensor noise = NoiseFrames({frames_per_sample, size, size, 3}, 9).to(torch::kFloat32);
  std::vector<torch::Tensor> blended;
  for (int64_t g = 0; g < samples; ++g) {
    const double alpha = 0.2 * g;
    blended.push_back(((1 - alpha) * reference.to(torch::kFloat32) + alpha * noise).round().to(torch::kUInt8));
  }
  const torch::Tensor blended_frames = torch::stack(blended);

  for (const std::string& perceptual : AllDistances::Names()) {
    for (const double w_l1 : {0.0, 1.0}) {
      if (perceptual == "none" && w_l1 == 0.0) continue;
      RewardConfig config = distances.Config(perceptual);
      config.w_l1 = w_l1;
      auto scorer = MakeScorer(config, extractor);
      ASSERT_NE(scorer, nullptr);
      for (const auto& [name, frames] : {std::pair<std::string, torch::Tensor>{"shifted square", shifted_frames},
                                         {"blend to noise", blended_frames}}) {
        absl::StatusOr<RewardBreakdown> r = scorer->ScoreTrajectories(frames, reference);
        ASSERT_TRUE(r.ok()) << r.status();
        EXPECT_EQ(At(r->rewards, 0), 0.0);
        ExpectStrictlyDecreasing(r->rewards, perceptual + " w_l1=" + std::to_string(w_l1) + " " + name);
      }
    }
  }
}

TEST(RewardBatchTest, BatchEqualsOneByOneAcrossTypesSizesAndHorizons) {
  RewardConfig config;
  config.aggregation = "discounted";
  auto scorer = MakeScorer(config, std::make_shared<TinyConvExtractor>());
  std::vector<RewardRequest> requests(4);
  requests[0].frames = NoiseFrames({3, 2, 16, 16, 3}, 1);
  requests[0].reference_frames = NoiseFrames({2, 16, 16, 3}, 2);
  requests[1].type = RewardType::kActionL1;
  requests[1].actions = torch::randn({3, 8, 7});
  requests[1].reference_actions = torch::randn({8, 7});
  requests[2].type = RewardType::kImaginedVsReal;
  requests[2].frames = NoiseFrames({2, 4, 16, 16, 3}, 3);
  requests[2].reference_frames = NoiseFrames({2, 4, 16, 16, 3}, 4);  // per-sample references
  requests[3].frames = NoiseFrames({2, 1, 24, 20, 3}, 5);            // another frame size
  requests[3].reference_frames = NoiseFrames({1, 24, 20, 3}, 6);
  absl::StatusOr<std::vector<RewardBreakdown>> batch = scorer->ScoreBatch(requests);
  ASSERT_TRUE(batch.ok()) << batch.status();
  ASSERT_EQ(batch->size(), 4u);
  for (size_t i = 0; i < requests.size(); ++i) {
    absl::StatusOr<RewardBreakdown> one = scorer->Score(requests[i]);
    ASSERT_TRUE(one.ok()) << one.status();
    EXPECT_TRUE(torch::allclose((*batch)[i].rewards, one->rewards, 1e-5, 1e-6)) << i;
    EXPECT_TRUE(torch::allclose((*batch)[i].per_frame, one->per_frame, 1e-5, 1e-6)) << i;
    EXPECT_EQ((*batch)[i].per_frame.device(), torch::Device(torch::kCPU));
  }
  EXPECT_EQ((*batch)[2].per_frame.sizes(), (std::vector<int64_t>{2, 4}));
  EXPECT_TRUE(scorer->ScoreBatch({})->empty());
}

TEST(RewardConfigTest, YamlBindingAndValidationNameTheField) {
  absl::StatusOr<YAML::Node> yaml = core::ParseYamlString(
      "type: 2\nw_l1: 0.5\naggregation: discounted\ngamma: 0.9\nperceptual: ssim\n", "test");
  ASSERT_TRUE(yaml.ok());
  RewardConfig config;
  ASSERT_TRUE(core::BindConfig(*yaml, &config, "reward").ok());
  EXPECT_EQ(config.type, RewardType::kImaginedVsReal);  // a number, as configs wrote it before the names
  EXPECT_EQ(config.frame_aggregation(), FrameAggregation::kDiscounted);
  EXPECT_EQ(config.perceptual_kind(), PerceptualKind::kSsim);
  EXPECT_DOUBLE_EQ(config.gamma, 0.9);
  EXPECT_THAT(core::ConfigToYamlString(config), HasSubstr("lpips_weights"));

  auto error_for = [](const std::string& text) {
    RewardConfig c;
    absl::StatusOr<YAML::Node> node = core::ParseYamlString(text, "test");
    return std::string(core::BindConfig(*node, &c, "reward").message());
  };
  EXPECT_THAT(error_for("type: 4\n"),
              HasSubstr("config 'reward.type': '4' is not one of action_l1 | imagined_vs_real | imagined_vs_imagined_expert"));
  EXPECT_THAT(error_for("type: imagined\n"), HasSubstr("'imagined' is not one of"));
  EXPECT_THAT(error_for("type: [3]\n"), HasSubstr("config 'reward.type': expected action_l1 | imagined_vs_real"));
  // The name is what a config holds, and what the effective config says.
  RewardConfig named;
  ASSERT_TRUE(core::BindConfig(*core::ParseYamlString("type: action_l1\n", "test"), &named, "reward").ok());
  EXPECT_EQ(named.type, RewardType::kActionL1);
  EXPECT_THAT(core::ConfigToYamlString(named), HasSubstr("type: action_l1"));
  RewardConfig unspecified;
  unspecified.type = RewardType::kUnspecified;  // a request's value, not a config's
  EXPECT_THAT(std::string(unspecified.Validate().message()), HasSubstr("type must be one of action_l1"));
  EXPECT_THAT(error_for("gamma: 1.5\n"), HasSubstr("gamma"));
  EXPECT_THAT(error_for("gamma: 0\n"), HasSubstr("gamma"));
  EXPECT_THAT(error_for("aggregation: max\n"), HasSubstr("aggregation"));
  EXPECT_THAT(error_for("perceptual: lpips\n"), HasSubstr("perceptual"));
  EXPECT_THAT(error_for("w_l1: -1\n"), HasSubstr("w_l1"));
  EXPECT_THAT(error_for("w_l1: 0\nw_perceptual: 0\n"), HasSubstr("both 0"));
  EXPECT_THAT(error_for("device: tpu\n"), HasSubstr("device"));
  EXPECT_THAT(error_for("perceptual: lpips-alex\n"), HasSubstr("lpips_weights"));
  EXPECT_THAT(error_for("lpips_weight: x\n"), HasSubstr("lpips_weight"));  // unknown key
}

}  // namespace
}  // namespace vlarft::reward
