// DemoPromptSource streaming frames from the files (what rollout workers do) gives the same prompts
// as loading everything, keeps only its cache in memory, and a demonstration file that breaks after
// indexing fails only the prompts that need it.
#include "libs/rollout/demo_prompt_source.h"

#include <filesystem>
#include <fstream>
#include <thread>

#include "gtest/gtest.h"
#include "tests/data/test_files.h"

namespace vlarft::rollout {
namespace {

// Two task files of three 12-step 8x8 episodes each, in suite folder "goal".
std::string WriteDataset(const std::string& name) {
  const std::string dir = data::testing::FreshDir(name);
  std::filesystem::create_directories(dir + "/goal");
  for (int task = 0; task < 2; ++task) {
    data::TaskDemos demos{"goal", "task" + std::to_string(task), task == 0 ? "pick it" : "place it", "{}", {}};
    for (int k = 0; k < 3; ++k) demos.episodes.push_back(data::testing::MakeEpisode(12, 8, 10.0f * (task * 3 + k)));
    EXPECT_TRUE(data::WriteTaskFile(dir + "/goal/task" + std::to_string(task) + "_demo.hdf5", demos).ok());
  }
  return dir;
}

void ExpectSamePrompt(const Prompt& a, const Prompt& b, uint64_t index) {
  EXPECT_EQ(a.task, b.task) << index;
  EXPECT_EQ(a.episode, b.episode) << index;
  EXPECT_EQ(a.step, b.step) << index;
  EXPECT_EQ(a.instruction, b.instruction) << index;
  EXPECT_TRUE(torch::equal(a.frame, b.frame)) << index;
  EXPECT_TRUE(torch::equal(a.proprio, b.proprio)) << index;
  EXPECT_TRUE(torch::equal(a.expert_actions, b.expert_actions)) << index;
  EXPECT_TRUE(torch::equal(a.expert_frames, b.expert_frames)) << index;
}

TEST(DemoPromptSourceTest, StreamedPromptsEqualLoadedOnesAndOnlyTheCacheHoldsFrames) {
  const std::string dir = WriteDataset("stream_equal");
  auto loaded = DemoPromptSource::Load(dir, {}, 8, 1, 0.0, 8);
  DemoPromptSourceOptions options;
  options.stream_frames = true;
  options.cache_episodes = 2;
  auto streamed = DemoPromptSource::Load(dir, {}, 8, 1, 0.0, 8, options);
  ASSERT_TRUE(loaded.ok() && streamed.ok()) << loaded.status() << streamed.status();
  ASSERT_EQ((*streamed)->episodes(), 6u);
  for (const data::Episode& e : (*streamed)->dataset().episodes) {
    EXPECT_TRUE(e.frames.empty()) << "an index holds no frames";
    EXPECT_EQ(e.length, 12);
    EXPECT_FALSE(e.file.empty());
  }
  for (uint64_t i = 0; i < 60; ++i) {
    auto a = (*loaded)->Get(i);
    auto b = (*streamed)->Get(i);
    ASSERT_TRUE(a.ok() && b.ok()) << a.status() << b.status();
    ExpectSamePrompt(*a, *b, i);
  }
  // 60 prompts over 6 episodes through a 2-episode cache: reads happened, fewer than prompts.
  const int64_t reads = (*streamed)->episode_reads();
  EXPECT_GT(reads, 2);
  EXPECT_LT(reads, 60);
  // The same prompt again is a cache hit.
  ASSERT_TRUE((*streamed)->Get(59).ok());
  ASSERT_TRUE((*streamed)->Get(59).ok());
  EXPECT_LE((*streamed)->episode_reads(), reads + 1);
}

TEST(DemoPromptSourceTest, ConcurrentStreamedPromptsAreConsistent) {
  const std::string dir = WriteDataset("stream_threads");
  auto loaded = DemoPromptSource::Load(dir, {}, 8, 1, 0.0, 8);
  DemoPromptSourceOptions options;
  options.stream_frames = true;
  options.cache_episodes = 1;
  auto streamed = DemoPromptSource::Load(dir, {}, 8, 1, 0.0, 8, options);
  ASSERT_TRUE(loaded.ok() && streamed.ok());
  std::vector<std::thread> threads;
  for (int t = 0; t < 3; ++t) {
    threads.emplace_back([&, t] {
      for (uint64_t i = t; i < 90; i += 3) {
        auto a = (*loaded)->Get(i);
        auto b = (*streamed)->Get(i);
        ASSERT_TRUE(a.ok() && b.ok());
        ExpectSamePrompt(*a, *b, i);
      }
    });
  }
  for (std::thread& t : threads) t.join();
}

TEST(DemoPromptSourceTest, AFileThatBreaksAfterIndexingFailsOnlyItsPrompts) {
  const std::string dir = WriteDataset("stream_broken");
  DemoPromptSourceOptions options;
  options.stream_frames = true;
  options.cache_episodes = 1;
  auto streamed = DemoPromptSource::Load(dir, {}, 8, 1, 0.0, 8, options);
  ASSERT_TRUE(streamed.ok()) << streamed.status();
  std::ofstream(dir + "/goal/task1_demo.hdf5", std::ios::trunc) << "not hdf5 any more";
  int failed = 0, served = 0;
  for (uint64_t i = 0; i < 40; ++i) {
    auto prompt = (*streamed)->Get(i);
    if (prompt.ok()) {
      EXPECT_EQ(prompt->task, "task0");
      ++served;
    } else {
      EXPECT_NE(prompt.status().message().find("task1_demo.hdf5"), std::string::npos) << prompt.status();
      ++failed;
    }
  }
  EXPECT_GT(failed, 0);
  EXPECT_GT(served, 0);
}

TEST(DemoPromptSourceTest, RefusesAnEmptyCache) {
  const std::string dir = WriteDataset("stream_cache0");
  DemoPromptSourceOptions options;
  options.stream_frames = true;
  options.cache_episodes = 0;
  auto streamed = DemoPromptSource::Load(dir, {}, 8, 1, 0.0, 8, options);
  ASSERT_FALSE(streamed.ok());
  EXPECT_EQ(streamed.status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace vlarft::rollout
