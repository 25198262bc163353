// The localisation study on synthetic demonstrations: it reports a curve in centimetres, learns a
// target it can learn, and rejects bad options.
#include "studies/localisation_study.h"

#include <gtest/gtest.h>

#include <cmath>

#include "libs/data/stats.h"
#include "tests/models/policy_test_util.h"

namespace vlarft::studies {
namespace {

// Episodes of 16x16 noise frames whose gripper always opens/closes at (0.1, -0.2) m: the subgoal is
// the same everywhere, so any model that regresses it at all drives the error towards 0.
data::DemoDataset ConstantSubgoalDataset() {
  data::DemoDataset dataset;
  dataset.image_size = 16;
  torch::manual_seed(1);
  for (int e = 0; e < 8; ++e) {
    data::Episode episode;
    episode.instruction = e % 2 ? "pick up the red cube" : "pick up the blue cube";
    episode.length = 6;
    episode.size = 16;
    const torch::Tensor frames = torch::randint(0, 256, {6, 16, 16, 3}, torch::kUInt8);
    episode.frames.assign(frames.data_ptr<uint8_t>(), frames.data_ptr<uint8_t>() + frames.numel());
    episode.actions.assign(6 * data::kActionDim, 0.f);
    episode.proprio.assign(6 * data::kProprioDim, 0.f);
    for (int t = 0; t < 6; ++t) {
      episode.actions[t * data::kActionDim + 6] = t >= 3 ? 1.f : -1.f;  // closes at t = 3
      // Approaches (0.1, -0.2), closes there at t = 3 and stays: every step's subgoal is that point.
      episode.proprio[t * data::kProprioDim + 0] = t >= 3 ? 0.1f : -0.2f + 0.1f * t;
      episode.proprio[t * data::kProprioDim + 1] = t >= 3 ? -0.2f : 0.1f - 0.1f * t;
    }
    dataset.episodes.push_back(std::move(episode));
  }
  std::vector<float> actions, proprio;
  for (const data::Episode& e : dataset.episodes) {
    actions.insert(actions.end(), e.actions.begin(), e.actions.end());
    proprio.insert(proprio.end(), e.proprio.begin(), e.proprio.end());
  }
  dataset.actions = data::ComputeStats(actions, data::kActionDim);
  dataset.proprio = data::ComputeStats(proprio, data::kProprioDim);
  return dataset;
}

TEST(LocalisationStudyTest, ReportsACurveInCentimetresAndLearnsAConstantTarget) {
  data::DemoDataset dataset = ConstantSubgoalDataset();
  training::DemoPolicyData source(&dataset, 8, 0, 0.25);
  LocalisationStudyOptions options;
  options.model = "cnn";
  options.steps = 150;
  options.batch_size = 8;
  options.lr = 3e-3;
  options.warmup_steps = 0;
  options.log_every = 50;
  options.validation_batches = 2;
  std::vector<int64_t> reported;
  auto curve = RunLocalisationStudy(models::testing::TinyPolicyConfig(), source, options,
                                    [&](const LocalisationPoint& p) { reported.push_back(p.step); });
  ASSERT_TRUE(curve.ok()) << curve.status();
  ASSERT_EQ(curve->size(), 3u);
  EXPECT_EQ(reported, (std::vector<int64_t>{50, 100, 150}));
  // The error is in centimetres of the table plane and falls as the constant is learned.
  EXPECT_GT(curve->front().train_rms_cm, 2 * curve->back().validation_rms_cm) << curve->front().train_rms_cm;
  EXPECT_LT(curve->back().validation_rms_cm, 1.5);
  // Half the frames (t = 0..2) have the gripper >= 10 cm from the subgoal; their error is reported
  // on its own, and a constant target is learned there too.
  EXPECT_GT(curve->front().validation_far_rms_cm, 0.0);
  EXPECT_LT(curve->back().validation_far_rms_cm, 1.5);
  EXPECT_GT(curve->back().seconds, 0.0);
}

TEST(LocalisationStudyTest, TheHeatmapLocaliserLearnsAConstantTargetWithEitherLoss) {
  for (const std::string loss : {"estimate", "expected"}) {
    data::DemoDataset dataset = ConstantSubgoalDataset();
    training::DemoPolicyData source(&dataset, 8, 0, 0.25);
    LocalisationStudyOptions options;
    options.model = "heatmap";
    options.heatmap_channels = 8;
    options.heatmap_loss = loss;
    options.far_m = 0.1;  // the far weighting changes the weights, not what is learnable
    options.steps = 150;
    options.batch_size = 8;
    options.lr = 3e-3;
    options.warmup_steps = 0;
    options.log_every = 75;
    options.validation_batches = 2;
    auto curve = RunLocalisationStudy(models::testing::TinyPolicyConfig(), source, options, [](const LocalisationPoint&) {});
    ASSERT_TRUE(curve.ok()) << curve.status();
    ASSERT_EQ(curve->size(), 2u);
    EXPECT_LT(curve->back().validation_rms_cm, 2.0) << loss;
    EXPECT_EQ(curve->back().validation_carrying_rms_cm, 0.0) << "no frame carries an object";
  }
}

TEST(LocalisationStudyTest, BadOptionsAreClearErrors) {
  LocalisationStudyOptions options;
  options.model = "resnet";
  EXPECT_NE(options.Validate().message().find("cnn or heatmap"), std::string::npos);
  options.model = "heatmap";
  options.heatmap_loss = "l1";
  EXPECT_NE(options.Validate().message().find("heatmap_loss"), std::string::npos);
  options.heatmap_loss = "expected";
  options.heatmap_channels = 7;
  EXPECT_NE(options.Validate().message().find("heatmap_channels"), std::string::npos);
  options.heatmap_channels = 8;
  options.heatmap_scene = -1;
  EXPECT_NE(options.Validate().message().find("heatmap_scene"), std::string::npos);
  options.heatmap_scene = 4;
  options.far_m = -1;
  EXPECT_NE(options.Validate().message().find("far_m"), std::string::npos);
  options.far_m = 0.1;
  EXPECT_TRUE(options.Validate().ok());
  options.model = "cnn";
  options.steps = 0;
  EXPECT_EQ(options.Validate().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace vlarft::studies
