// The RFT harness as a library (studies/rft_study.h): small random models saved as checkpoints, a
// generated benchmark dataset, a few GRPO steps with the rewards that need no world model — real
// frames and real frames through the tokenizer — and the zero control, the world-model blend against
// its two ends; bad options are named errors.
#include "studies/rft_study.h"

#include <unistd.h>

#include <cmath>

#include "gtest/gtest.h"
#include "libs/models/checkpoint.h"
#include "libs/models/tokenizer.h"
#include "libs/models/world_model.h"
#include "tests/data/test_files.h"
#include "tests/models/policy_test_util.h"
#include "tests/models/world_model_test_util.h"

namespace vlarft::studies {
namespace {

constexpr int kSize = 16;

// Checkpoints and demonstrations, once per process.
struct Files {
  std::string dataset, policy, tokenizer, world_model;
};

const Files& TestFiles() {
  static const Files* files = [] {
    auto* f = new Files;
    const absl::StatusOr<std::string> dataset = data::testing::GenerateDemosForTest("rft_study", {"goal"}, 1, kSize);
    EXPECT_TRUE(dataset.ok()) << dataset.status();
    f->dataset = dataset.value_or("");
    const std::string dir = data::testing::FreshDir("rft_study_models_" + std::to_string(getpid()));
    auto demos = data::LoadDemoDirectory(f->dataset, {}, kSize, 0, /*with_frames=*/false);
    EXPECT_TRUE(demos.ok()) << demos.status();
    std::vector<std::string> instructions;
    for (const data::Episode& e : demos->episodes) instructions.push_back(e.instruction);
    torch::manual_seed(3);
    models::PolicyConfig config = models::testing::TinyPolicyConfig();
    models::VlaPolicy policy(config, models::InstructionTokenizer::Build(instructions),
                             models::testing::UnitNormalizer(config.action_dim),
                             models::testing::UnitNormalizer(config.proprio_dim));
    f->policy = dir + "/policy";
    EXPECT_TRUE(models::SaveModel(f->policy, *policy, models::PolicySidecar(policy, 0)).ok());
    models::VideoTokenizer tokenizer(models::testing::SmallTokenizerConfig());
    f->tokenizer = dir + "/tokenizer";
    EXPECT_TRUE(models::SaveModel(f->tokenizer, *tokenizer, models::TokenizerSidecar(tokenizer, 0)).ok());
    models::WorldModelConfig wm_config = models::testing::SmallWorldModelConfig();
    wm_config.max_frames = config.chunk_length;
    models::WorldModel world_model(wm_config, models::testing::UnitActions());
    f->world_model = dir + "/world_model";
    EXPECT_TRUE(models::SaveModel(f->world_model, *world_model, models::WorldModelSidecar(world_model, 0)).ok());
    return f;
  }();
  return *files;
}

RftStudyOptions SmallStudy(StudyReward reward, StudyControl control) {
  const Files& files = TestFiles();
  RftStudyOptions options;
  options.policy = files.policy;
  options.dataset = files.dataset;
  options.tokenizer = files.tokenizer;
  options.world_model = files.world_model;
  options.reward = reward;
  options.control = control;
  options.steps = 2;
  options.prompts_per_step = 1;
  options.producer.group_size = 3;
  return options;
}

TEST(RftStudyTest, RewardsFromRealAndTokenizedFramesTrainThePolicy) {
  std::vector<double> first_rewards;
  for (StudyReward reward : {StudyReward::kRealFrames, StudyReward::kTokenizedFrames}) {
    auto run = RunRftStudy(SmallStudy(reward, StudyControl::kNone), [](const std::string&) {});
    ASSERT_TRUE(run.ok()) << static_cast<int>(reward) << ": " << run.status();
    ASSERT_EQ(run->steps.size(), 2u);
    ASSERT_TRUE(run->tuned);
    for (const RftStudyStep& step : run->steps) {
      // Type-3 rewards are minus a distance: finite and <= 0.
      EXPECT_TRUE(std::isfinite(step.reward_mean)) << step.step;
      EXPECT_LE(step.reward_mean, 0.0) << step.step;
    }
    // The tuned policy moved away from the checkpoint it started from.
    auto start = models::LoadPolicy(TestFiles().policy);
    ASSERT_TRUE(start.ok()) << start.status();
    double moved = 0;
    const auto tuned = run->tuned->named_parameters();
    for (const auto& p : (*start)->named_parameters()) {
      moved += (tuned[p.key()] - p.value()).abs().sum().item<double>();
    }
    EXPECT_GT(moved, 0.0) << static_cast<int>(reward);
    first_rewards.push_back(run->steps[0].reward_mean);
  }
  // Same seed, so the same first group of chunks: the untrained tokenizer's round trip changes the
  // frames both chunks and reference are scored on, and with them the rewards.
  EXPECT_NE(first_rewards[0], first_rewards[1]);
}

// The blend's ends are the rewards it blends: at w = 0 the first step's groups (same seed, so the same
// chunks) get the rewards of the real frames through the tokenizer, at w = 1 those of the world model;
// halfway, neither.
TEST(RftStudyTest, WorldModelBlendEndsAtTheTokenizedFramesAndTheWorldModel) {
  auto first_reward = [](StudyReward reward, double weight) {
    RftStudyOptions options = SmallStudy(reward, StudyControl::kNone);
    options.steps = 1;
    options.world_model_weight = weight;
    auto run = RunRftStudy(options, [](const std::string&) {});
    EXPECT_TRUE(run.ok()) << static_cast<int>(reward) << " w " << weight << ": " << run.status();
    return run.ok() ? run->steps[0].reward_mean : std::nan("");
  };
  const double tokenized = first_reward(StudyReward::kTokenizedFrames, 1.0);
  const double world_model = first_reward(StudyReward::kWorldModel, 1.0);
  ASSERT_NE(tokenized, world_model);
  EXPECT_DOUBLE_EQ(first_reward(StudyReward::kWorldModelBlend, 0.0), tokenized);
  EXPECT_DOUBLE_EQ(first_reward(StudyReward::kWorldModelBlend, 1.0), world_model);
  const double half = first_reward(StudyReward::kWorldModelBlend, 0.5);
  EXPECT_NE(half, tokenized);
  EXPECT_NE(half, world_model);
  EXPECT_TRUE(std::isfinite(half));
}

TEST(RftStudyTest, BadOptionsAreNamedErrors) {
  auto unknown = ParseStudyReward("pixels");
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(unknown.status().message().find("tokenized_frames"), std::string::npos) << unknown.status();
  EXPECT_EQ(ParseStudyReward("tokenized_frames").value(), StudyReward::kTokenizedFrames);
  EXPECT_EQ(ParseStudyReward("world_model_blend").value(), StudyReward::kWorldModelBlend);

  RftStudyOptions bad_weight = SmallStudy(StudyReward::kWorldModelBlend, StudyControl::kNone);
  bad_weight.world_model_weight = 1.5;
  auto refused = RunRftStudy(bad_weight, [](const std::string&) {});
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(refused.status().message().find("world_model_weight is 1.5"), std::string::npos) << refused.status();

  RftStudyOptions no_tokenizer = SmallStudy(StudyReward::kTokenizedFrames, StudyControl::kNone);
  no_tokenizer.tokenizer.clear();
  no_tokenizer.scoring.perceptual = "none";
  auto run = RunRftStudy(no_tokenizer, [](const std::string&) {});
  ASSERT_FALSE(run.ok());
  EXPECT_EQ(run.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(run.status().message().find("tokenizer_checkpoint"), std::string::npos) << run.status();

  RftStudyOptions finisher = SmallStudy(StudyReward::kRealFrames, StudyControl::kNone);
  finisher.oracle_finisher = "policy";
  run = RunRftStudy(finisher, [](const std::string&) {});
  ASSERT_FALSE(run.ok());
  EXPECT_NE(run.status().message().find("--oracle_finish policy"), std::string::npos) << run.status();
}

}  // namespace
}  // namespace vlarft::studies
