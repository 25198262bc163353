// The SDE-group reward study as a library: small random models on a generated benchmark dataset,
// demonstration and policy states, the five rewards reported, the same result for the same seed.
#include "studies/sde_reward_study.h"

#include <cmath>

#include "gtest/gtest.h"
#include "libs/data/demo_dataset.h"
#include "tests/data/test_files.h"
#include "tests/models/policy_test_util.h"
#include "tests/models/world_model_test_util.h"

namespace vlarft::studies {
namespace {

constexpr int kSize = 16;
constexpr int64_t kChunk = 4;  // the small world model holds 8 frames

const std::string& DatasetDir() {
  static const std::string* dir = [] {
    const absl::StatusOr<std::string> dir = data::testing::GenerateDemosForTest("sde_reward_study", {"goal"}, 1, kSize);
    EXPECT_TRUE(dir.ok()) << dir.status();
    return new std::string(dir.value_or(""));
  }();
  return *dir;
}

struct Inputs {
  std::unique_ptr<rollout::DemoPromptSource> prompts;
  models::VlaPolicy policy{nullptr};
  models::ImaginationEngine engine;
};

Inputs MakeInputs() {
  auto prompts = rollout::DemoPromptSource::Load(DatasetDir(), {}, kSize, 1, 0.1, kChunk);
  EXPECT_TRUE(prompts.ok()) << prompts.status();
  torch::manual_seed(5);
  models::PolicyConfig config = models::testing::TinyPolicyConfig();
  config.chunk_length = kChunk;
  std::vector<std::string> instructions;
  for (const data::Episode& e : (*prompts)->dataset().episodes) instructions.push_back(e.instruction);
  models::VlaPolicy policy(config, models::InstructionTokenizer::Build(instructions),
                           models::testing::UnitNormalizer(config.action_dim),
                           models::testing::UnitNormalizer(config.proprio_dim));
  models::VideoTokenizer tokenizer(models::testing::SmallTokenizerConfig());
  models::WorldModel model(models::testing::SmallWorldModelConfig(), models::testing::UnitActions());
  return {std::move(*prompts), policy, models::ImaginationEngine::Create(tokenizer, model).value()};
}

TEST(SdeRewardStudyTest, BadOptionsNameTheField) {
  SdeRewardStudyOptions options;
  options.states = "nowhere";
  EXPECT_NE(std::string(options.Validate().message()).find("states"), std::string::npos) << options.Validate();
  options.states = "policy";
  options.max_decisions = 0;
  EXPECT_NE(std::string(options.Validate().message()).find("max_decisions"), std::string::npos);
  options.max_decisions = 2;
  options.blend_weights = {0.5, 1.5};
  EXPECT_NE(std::string(options.Validate().message()).find("blend_weights holds 1.5"), std::string::npos)
      << options.Validate();
  options.blend_weights = {};
  options.group_size = 1;
  EXPECT_NE(std::string(options.Validate().message()).find("group_size"), std::string::npos);
}

TEST(SdeRewardStudyTest, ReportsEveryRewardAtDemonstrationAndPolicyStatesDeterministically) {
  for (const std::string states : {"demo", "policy"}) {
    SdeRewardStudyOptions options;
    options.groups = 2;
    options.group_size = 3;
    options.states = states;
    options.max_decisions = 1;
    options.blend_weights = {0.0, 0.5, 1.0};
    std::vector<int64_t> reported;
    Inputs a = MakeInputs();
    auto first = RunSdeRewardStudy(a.policy, std::move(a.engine), *a.prompts, options,
                                   [&](int64_t done) { reported.push_back(done); });
    ASSERT_TRUE(first.ok()) << states << ": " << first.status();
    EXPECT_EQ(reported, (std::vector<int64_t>{1, 2})) << states;
    ASSERT_EQ(first->rewards.size(), 7u);
    // Different chunks, different real futures; the imagined ones are somewhere, and wrong by some.
    EXPECT_GT(first->real_spread, 0.0) << states;
    EXPECT_GT(first->tokenized_spread, 0.0) << states;
    EXPECT_GE(first->greedy_spread, 0.0) << states;
    EXPECT_GT(first->greedy_error, 0.0) << states;
    EXPECT_GE(first->expected_spread, 0.0) << states;
    EXPECT_GT(first->expected_error, 0.0) << states;
    EXPECT_LT(first->real_spread, 1.0) << states;
    EXPECT_NE(first->rewards[0].name.find("greedy"), std::string::npos);
    EXPECT_NE(first->rewards[4].name.find("action L1"), std::string::npos);
    EXPECT_NE(first->rewards[5].name.find("greedy tokens, expected codes"), std::string::npos);
    EXPECT_NE(first->rewards[6].name.find("sampled tokens, expected codes"), std::string::npos);
    for (const SdeRewardColumn& c : first->rewards) {
      EXPECT_LE(c.defined_groups, 2) << c.name;
      EXPECT_LE(c.all_equal_groups, 2) << c.name;
      if (c.spearman) {
        EXPECT_GE(*c.spearman, -1.0) << c.name;
        EXPECT_LE(*c.spearman, 1.0) << c.name;
      } else {
        EXPECT_EQ(c.defined_groups, 0) << c.name;
      }
    }
    // Three distinct SDE chunks are never the same distance from the expert's.
    EXPECT_EQ(first->rewards[4].all_equal_groups, 0) << states;
    EXPECT_LE(first->truth_all_equal_groups, 2);
    // The breakdown: one row per imagined frame, each term alone, then the reward itself, whose
    // columns must be the ρ the table above reports for the same rewards.
    ASSERT_EQ(first->breakdown.size(), static_cast<size_t>(kChunk + 3)) << states;
    EXPECT_EQ(first->breakdown[0].name, "frame 1");
    EXPECT_EQ(first->breakdown[kChunk].name, "L1 only");
    EXPECT_EQ(first->breakdown[kChunk + 1].name, "perceptual only");
    const SdeRewardStudyResult::Breakdown& whole = first->breakdown.back();
    EXPECT_EQ(whole.greedy_vs_truth, first->rewards[0].spearman) << states;
    EXPECT_EQ(whole.real_vs_truth, first->rewards[2].spearman) << states;
    EXPECT_EQ(whole.tokenized_vs_truth, first->rewards[3].spearman) << states;
    for (const SdeRewardStudyResult::Breakdown& b : first->breakdown) {
      for (const std::optional<double>& rho :
           {b.greedy_vs_truth, b.real_vs_truth, b.tokenized_vs_truth, b.greedy_vs_real, b.tokenized_vs_real}) {
        if (rho) {
          EXPECT_LE(std::abs(*rho), 1.0 + 1e-12) << b.name;
        }
      }
    }
    // The blends' ends are the columns they blend: w = 0 the real frames through the tokenizer, w = 1
    // the greedy imagination (same ρ, same error against the real frames).
    ASSERT_EQ(first->blends.size(), 3u) << states;
    EXPECT_EQ(first->blends[0].reward.spearman, first->rewards[3].spearman) << states;
    EXPECT_EQ(first->blends[2].reward.spearman, first->rewards[0].spearman) << states;
    EXPECT_NEAR(first->blends[2].error, first->greedy_error, 1e-12) << states;
    EXPECT_NEAR(first->blends[2].spread, first->greedy_spread, 1e-12) << states;
    EXPECT_NEAR(first->blends[0].spread, first->tokenized_spread, 1e-12) << states;
    EXPECT_EQ(first->blends[1].weight, 0.5);
    // Halfway, the frames are no further from the real ones than the ends' mean (the distance is
    // convex; rounding to uint8 adds at most half a level).
    EXPECT_LE(first->blends[1].error, 0.5 * (first->blends[0].error + first->blends[2].error) + 0.5 / 255 + 1e-12)
        << states;
    EXPECT_GT(first->blends[0].error, 0.0) << states << ": the tokenizer's round trip is not exact";
    // Against the tokenized frames the blend's error is w times the imagination's (up to rounding).
    EXPECT_EQ(first->blends[0].tokenized_error, 0.0) << states;
    EXPECT_NEAR(first->blends[1].tokenized_error, 0.5 * first->blends[2].tokenized_error, 0.5 / 255 + 1e-12) << states;
    EXPECT_GT(first->blends[2].tokenized_error, 0.0) << states;
    // Type 3 against type 1: defined on the real frames (three distinct chunks, distinct frames),
    // a correlation either way.
    ASSERT_TRUE(first->real_vs_action_l1.has_value()) << states;
    EXPECT_GT(*first->real_vs_action_l1, -1.0 - 1e-12);
    EXPECT_LE(*first->real_vs_action_l1, 1.0 + 1e-12);
    if (first->greedy_vs_action_l1) {
      EXPECT_LE(std::abs(*first->greedy_vs_action_l1), 1.0 + 1e-12);
    }
    // The same seed and models give the same study.
    Inputs b = MakeInputs();
    auto second = RunSdeRewardStudy(b.policy, std::move(b.engine), *b.prompts, options, nullptr);
    ASSERT_TRUE(second.ok()) << second.status();
    for (size_t k = 0; k < first->rewards.size(); ++k) {
      EXPECT_EQ(first->rewards[k].spearman.has_value(), second->rewards[k].spearman.has_value()) << k;
      if (first->rewards[k].spearman) {
        EXPECT_EQ(*first->rewards[k].spearman, *second->rewards[k].spearman) << k;
      }
      EXPECT_EQ(first->rewards[k].all_equal_groups, second->rewards[k].all_equal_groups) << k;
    }
    EXPECT_EQ(first->real_spread, second->real_spread);
    EXPECT_EQ(first->greedy_spread, second->greedy_spread);
    EXPECT_EQ(first->greedy_error, second->greedy_error);
    EXPECT_EQ(first->expected_error, second->expected_error);
  }
}

}  // namespace
}  // namespace vlarft::studies
