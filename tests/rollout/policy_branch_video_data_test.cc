// World-model training clips from the policy's own SDE chunks (libs/rollout/policy_branch_video_data.h):
// the mix, that a branch clip's frames are what the benchmark renders for its actions from its
// demonstration state, determinism, demonstration-only validation, and the refusals.
#include "libs/rollout/policy_branch_video_data.h"

#include "gtest/gtest.h"
#include "libs/training/demo_video_data.h"
#include "tests/data/test_files.h"
#include "tests/models/policy_test_util.h"

namespace vlarft::rollout {
namespace {

constexpr int kSize = 32;

struct Fixture {
  std::unique_ptr<DemoPromptSource> prompts;
  std::unique_ptr<training::DemoVideoData> demos;
};

Fixture& Data() {
  static Fixture* fixture = [] {
    const absl::StatusOr<std::string> dir = data::testing::GenerateDemosForTest("policy_branch", {"goal"}, 2, kSize);
    EXPECT_TRUE(dir.ok()) << dir.status();
    auto* f = new Fixture;
    auto prompts = DemoPromptSource::Load(dir.value_or(""), {}, kSize, 0, 0.1, 8);
    EXPECT_TRUE(prompts.ok()) << prompts.status();
    f->prompts = std::move(*prompts);
    f->demos = std::make_unique<training::DemoVideoData>(&f->prompts->dataset(), 0, 0.1);
    return f;
  }();
  return *fixture;
}

models::VlaPolicy Policy(int64_t image_size = kSize) {
  models::PolicyConfig config = models::testing::TinyPolicyConfig();
  config.encoder.image_size = image_size;
  std::vector<std::string> instructions;
  for (const data::Episode& e : Data().prompts->dataset().episodes) instructions.push_back(e.instruction);
  models::VlaPolicy policy(config, models::InstructionTokenizer::Build(instructions),
                           models::testing::UnitNormalizer(config.action_dim),
                           models::testing::UnitNormalizer(config.proprio_dim));
  torch::manual_seed(3);
  models::testing::Randomize(*policy);
  return policy;
}

std::unique_ptr<PolicyBranchVideoData> Source(double fraction, int64_t chunks_per_state) {
  PolicyBranchOptions options;
  options.fraction = fraction;
  options.chunks_per_state = chunks_per_state;
  auto source = PolicyBranchVideoData::Create(Policy(), Data().prompts.get(), Data().demos.get(), options);
  EXPECT_TRUE(source.ok()) << source.status();
  return std::move(*source);
}

TEST(PolicyBranchVideoDataTest, BranchClipsAreTheBenchmarksFramesForThePolicysChunksFromOneState) {
  std::unique_ptr<PolicyBranchVideoData> source = Source(0.5, 2);
  at::Generator generator = core::MakeCpuGenerator(11);
  at::Generator replay = generator.clone();
  auto clips = source->SampleClips(6, 8, false, generator);
  ASSERT_TRUE(clips.ok()) << clips.status();
  ASSERT_EQ(clips->frames.sizes(), (std::vector<int64_t>{6, 9, kSize, kSize, 3}));
  ASSERT_EQ(clips->actions.sizes(), (std::vector<int64_t>{6, 8, 7}));
  EXPECT_EQ(source->branch_clips(), 3);
  // Demonstration clips first (3), then branches: 2 chunks from one state, 1 from another.
  const torch::Tensor branch_frames = clips->frames.narrow(0, 3, 3), branch_actions = clips->actions.narrow(0, 3, 3);
  EXPECT_TRUE(torch::equal(branch_frames[0][0], branch_frames[1][0])) << "two chunks of one state share o_t";
  EXPECT_FALSE(torch::equal(branch_actions[0], branch_actions[1])) << "SDE chunks differ";
  EXPECT_FALSE(torch::equal(branch_frames[0], branch_frames[1])) << "different chunks, different futures";
  // Replay the draws: the state each group came from, executed again in the benchmark with the
  // clip's actions, renders exactly the clip's frames.
  for (int64_t group = 0, first = 0; group < 2; ++group, first += 2) {
    const int64_t g = group == 0 ? 2 : 1;
    const torch::Tensor draw = torch::randint(0, int64_t{1} << 40, {2}, replay, torch::TensorOptions(torch::kInt64));
    auto prompt = Data().prompts->Get(static_cast<uint64_t>(draw[0].item<int64_t>()));
    ASSERT_TRUE(prompt.ok()) << prompt.status();
    EXPECT_TRUE(torch::equal(branch_frames[first][0], prompt->frame));
    TabletopImaginer simulator(&Data().prompts->dataset(), {});
    ImagineSettings settings;
    settings.group_size = g;
    auto session = simulator.Start(*prompt, settings);
    ASSERT_TRUE(session.ok()) << session.status();
    auto executed = (*session)->Next(branch_actions.narrow(0, first, g), prompt->expert_actions.narrow(0, 0, 8));
    ASSERT_TRUE(executed.ok()) << executed.status();
    EXPECT_TRUE(torch::equal(executed->frames, branch_frames.narrow(0, first, g).narrow(1, 1, 8)));
  }
}

TEST(PolicyBranchVideoDataTest, SameGeneratorStateSameClipsAndValidationIsDemonstrationsOnly) {
  std::unique_ptr<PolicyBranchVideoData> a = Source(0.75, 3), b = Source(0.75, 3);
  at::Generator ga = core::MakeCpuGenerator(5), gb = core::MakeCpuGenerator(5);
  auto first = a->SampleClips(4, 8, false, ga);
  auto second = b->SampleClips(4, 8, false, gb);
  ASSERT_TRUE(first.ok() && second.ok());
  EXPECT_TRUE(torch::equal(first->frames, second->frames));
  EXPECT_TRUE(torch::equal(first->actions, second->actions));

  at::Generator gv = core::MakeCpuGenerator(9), gd = core::MakeCpuGenerator(9);
  auto validation = a->SampleClips(4, 8, true, gv);
  auto demos = Data().demos->SampleClips(4, 8, true, gd);
  ASSERT_TRUE(validation.ok() && demos.ok());
  EXPECT_TRUE(torch::equal(validation->frames, demos->frames));
  EXPECT_EQ(a->branch_clips(), 3) << "validation adds no branch clips";

  std::unique_ptr<PolicyBranchVideoData> none = Source(0.0, 4);
  at::Generator gn = core::MakeCpuGenerator(9), gm = core::MakeCpuGenerator(9);
  auto plain = none->SampleClips(4, 8, false, gn);
  auto expected = Data().demos->SampleClips(4, 8, false, gm);
  ASSERT_TRUE(plain.ok() && expected.ok());
  EXPECT_TRUE(torch::equal(plain->frames, expected->frames)) << "fraction 0 is the demonstrations alone";
}

TEST(PolicyBranchVideoDataTest, RefusesBadOptionsMismatchedFramesAndClipsLongerThanAChunk) {
  PolicyBranchOptions options;
  options.fraction = 1.5;
  auto bad_fraction = PolicyBranchVideoData::Create(Policy(), Data().prompts.get(), Data().demos.get(), options);
  ASSERT_FALSE(bad_fraction.ok());
  EXPECT_NE(std::string(bad_fraction.status().message()).find("fraction"), std::string::npos);
  options = {};
  options.chunks_per_state = 0;
  EXPECT_EQ(PolicyBranchVideoData::Create(Policy(), Data().prompts.get(), Data().demos.get(), options).status().code(),
            absl::StatusCode::kInvalidArgument);
  auto wrong_size = PolicyBranchVideoData::Create(Policy(16), Data().prompts.get(), Data().demos.get(), {});
  ASSERT_FALSE(wrong_size.ok());
  EXPECT_NE(std::string(wrong_size.status().message()).find("16-px"), std::string::npos) << wrong_size.status();

  std::unique_ptr<PolicyBranchVideoData> source = Source(0.5, 4);
  at::Generator generator = core::MakeCpuGenerator(1);
  auto long_clips = source->SampleClips(4, 12, false, generator);
  ASSERT_FALSE(long_clips.ok());
  EXPECT_NE(std::string(long_clips.status().message()).find("chunk of 8 actions"), std::string::npos)
      << long_clips.status();
}

}  // namespace
}  // namespace vlarft::rollout
