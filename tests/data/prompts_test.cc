#include "libs/data/prompts.h"

#include <map>

#include "gtest/gtest.h"
#include "tests/data/test_files.h"

namespace vlarft::data {
namespace {

DemoDataset MakeDataset(const std::vector<int64_t>& lengths) {
  DemoDataset d;
  d.image_size = 4;
  for (size_t i = 0; i < lengths.size(); ++i) {
    d.episodes.push_back(testing::MakeEpisode(lengths[i], 4, static_cast<float>(100 * i)));
    d.episodes.back().instruction = "task " + std::to_string(i);
  }
  return d;
}

TEST(PromptSamplerTest, DeterministicByIndexAndSeed) {
  const DemoDataset d = MakeDataset({10, 20, 30, 40});
  auto a = PromptSampler::Create(&d, 3, 0.0);
  auto b = PromptSampler::Create(&d, 3, 0.0);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->num_states(), 100);
  int differs = 0;
  for (uint64_t i = 0; i < 50; ++i) {
    const PromptSample x = a->Get(i, 16), y = b->Get(i, 16);
    EXPECT_EQ(x.episode, y.episode);
    EXPECT_EQ(x.step, y.step);
    EXPECT_EQ(x.expert_actions, y.expert_actions);
    differs += x.step != a->Get(i + 1, 16).step || x.episode != a->Get(i + 1, 16).episode;
  }
  EXPECT_GT(differs, 40);
  auto other = PromptSampler::Create(&d, 4, 0.0);
  int same = 0;
  for (uint64_t i = 0; i < 50; ++i) same += other->Get(i, 8).step == a->Get(i, 8).step && other->Get(i, 8).episode == a->Get(i, 8).episode;
  EXPECT_LT(same, 10);
}

TEST(PromptSamplerTest, UniformOverAllStates) {
  // Episodes of 10 and 30 steps: a state-uniform sampler picks the long one 3x as often, and every
  // t of an episode equally often.
  const DemoDataset d = MakeDataset({10, 30});
  auto sampler = PromptSampler::Create(&d, 11, 0.0);
  ASSERT_TRUE(sampler.ok());
  constexpr int kDraws = 40000;
  std::map<std::pair<int64_t, int64_t>, int> counts;
  int long_episode = 0;
  for (uint64_t i = 0; i < kDraws; ++i) {
    const PromptSample s = sampler->Get(i, 1);
    ASSERT_GE(s.step, 0);
    ASSERT_LT(s.step, d.episodes[s.episode].length);
    ++counts[{s.episode, s.step}];
    long_episode += s.episode == 1;
  }
  EXPECT_NEAR(long_episode / static_cast<double>(kDraws), 0.75, 0.015);
  EXPECT_EQ(counts.size(), 40u);  // every state drawn
  for (const auto& [state, n] : counts) EXPECT_NEAR(n, kDraws / 40.0, 5 * std::sqrt(kDraws / 40.0)) << state.first << "," << state.second;
}

TEST(PromptSamplerTest, ChunksFollowTheDemoAndRepeatTheLastActionAtTheEnd) {
  const DemoDataset d = MakeDataset({5});
  auto sampler = PromptSampler::Create(&d, 1, 0.0);
  ASSERT_TRUE(sampler.ok());
  for (uint64_t i = 0; i < 40; ++i) {
    const PromptSample s = sampler->Get(i, 8);
    const Episode& e = d.episodes[0];
    ASSERT_EQ(s.expert_actions.size(), 8u * kActionDim);
    ASSERT_EQ(s.expert_frames.size(), 8u * 4 * 4 * 3);
    EXPECT_EQ(s.frame(), e.frame(s.step));
    EXPECT_EQ(s.proprio(), e.state(s.step));
    EXPECT_EQ(s.instruction(), "task 0");
    for (int64_t k = 0; k < 8; ++k) {
      const int64_t t = std::min<int64_t>(s.step + k, 4);
      EXPECT_FLOAT_EQ(s.expert_actions[k * kActionDim], e.action(t)[0]) << "k " << k;
      const int64_t next = std::min<int64_t>(s.step + k + 1, 4);
      EXPECT_EQ(s.expert_frames[k * 48], e.frame(next)[0]);
    }
  }
}

TEST(PromptSamplerTest, TrainAndValidationSplitsPartitionEpisodes) {
  const DemoDataset d = MakeDataset(std::vector<int64_t>(200, 3));
  auto train = PromptSampler::Create(&d, 5, 0.25);
  auto val = PromptSampler::Create(&d, 5, 0.25, /*validation_split=*/true);
  ASSERT_TRUE(train.ok() && val.ok());
  EXPECT_EQ(train->episodes().size() + val->episodes().size(), 200u);
  EXPECT_NEAR(val->episodes().size(), 50, 20);
  for (int64_t e : val->episodes()) {
    EXPECT_TRUE(IsValidationEpisode(5, e, 0.25));
    EXPECT_FALSE(std::binary_search(train->episodes().begin(), train->episodes().end(), e));
  }
  for (uint64_t i = 0; i < 200; ++i) EXPECT_TRUE(IsValidationEpisode(5, val->Get(i, 1).episode, 0.25));
  // A different split seed gives a different split; fraction 1 leaves no training data.
  auto reseeded = PromptSampler::Create(&d, 6, 0.25, true);
  EXPECT_NE(reseeded->episodes(), val->episodes());
  EXPECT_EQ(PromptSampler::Create(&d, 5, 1.0).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(PromptSampler::Create(&d, 5, 0.0, true).status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace vlarft::data
