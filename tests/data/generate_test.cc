#include "libs/data/generate.h"

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "gtest/gtest.h"
#include "libs/data/demo_dataset.h"
#include "libs/tabletop/tasks.h"
#include "nlohmann/json.hpp"
#include "tests/data/test_files.h"

namespace vlarft::data {
namespace {
namespace fs = std::filesystem;

TEST(GenerateTest, WritesSuccessfulDemosInLiberoLayoutWithStatistics) {
  const std::string dir = testing::FreshDir("generate");
  GenerateOptions options;
  options.out = dir;
  options.suites = {"goal", "long"};
  options.demos_per_task = 2;
  options.image_size = 16;
  std::vector<std::string> lines;
  auto summary = GenerateDemos(options, [&](const std::string& l) { lines.push_back(l); });
  ASSERT_TRUE(summary.ok()) << summary.status();
  EXPECT_EQ(summary->tasks, 20);
  EXPECT_EQ(summary->demos, 40);
  EXPECT_TRUE(summary->short_tasks.empty());
  // One line per task, plus the progress meter's (always its final one; others only after 10 s).
  int task_lines = 0, meter_lines = 0;
  for (const std::string& l : lines) (l.rfind("[data generate]", 0) == 0 ? meter_lines : task_lines)++;
  EXPECT_EQ(task_lines, 20);
  EXPECT_GE(meter_lines, 1);
  EXPECT_EQ(std::count_if(lines.begin(), lines.end(),
                          [](const std::string& l) { return l.find("40/40 demos (100.0%)") != std::string::npos; }),
            1);
  EXPECT_EQ(summary->files.size(), 20u);
  for (const tabletop::Task* task : tabletop::TasksOfSuites({"goal", "long"})) {
    EXPECT_TRUE(fs::exists(dir + "/" + task->suite + "/" + task->name + "_demo.hdf5")) << task->name;
  }
  auto dataset = LoadDemoDirectory(dir, {}, 16);
  ASSERT_TRUE(dataset.ok()) << dataset.status();
  ASSERT_EQ(dataset->episodes.size(), 40u);
  for (const Episode& e : dataset->episodes) {
    EXPECT_LE(e.length, e.suite == "long" ? 160 : 80);
    EXPECT_EQ(tabletop::FindTask(e.task).value()->instruction, e.instruction);
    for (float a : e.actions) ASSERT_LE(std::abs(a), 1.f);
  }
  std::ifstream in(dir + "/dataset.json");
  const nlohmann::json j = nlohmann::json::parse(in);
  EXPECT_EQ(j["demos"], 40);
  ASSERT_EQ(j["per_task"].size(), 20u);
  EXPECT_EQ(j["per_task"][0]["demos"], 2);
  for (int d = 0; d < kActionDim; ++d) {
    EXPECT_NEAR(j["action_stats"]["min"][d].get<double>(), dataset->actions.min[d], 1e-6);
    EXPECT_NEAR(j["action_stats"]["std"][d].get<double>(), dataset->actions.std[d], 1e-6);
  }
  EXPECT_EQ(j["action_stats"]["max"][6], 1.0);   // gripper closes
  EXPECT_EQ(j["action_stats"]["min"][6], -1.0);  // and opens
  EXPECT_EQ(j["action_stats"]["max"][3], 0.0);   // rotation unused
}

TEST(GenerateTest, OutputDoesNotDependOnThreadCount) {
  GenerateOptions options;
  options.suites = {"object"};
  options.demos_per_task = 1;
  options.image_size = 16;
  options.out = testing::FreshDir("threads1");
  options.threads = 1;
  ASSERT_TRUE(GenerateDemos(options, [](const std::string&) {}).ok());
  const std::string one = options.out;
  options.out = testing::FreshDir("threads3");
  options.threads = 3;
  ASSERT_TRUE(GenerateDemos(options, [](const std::string&) {}).ok());
  auto a = LoadDemoDirectory(one, {}, 0), b = LoadDemoDirectory(options.out, {}, 0);
  ASSERT_TRUE(a.ok() && b.ok());
  ASSERT_EQ(a->episodes.size(), b->episodes.size());
  for (size_t i = 0; i < a->episodes.size(); ++i) {
    EXPECT_EQ(a->episodes[i].frames, b->episodes[i].frames);
    EXPECT_EQ(a->episodes[i].actions, b->episodes[i].actions);
  }
}

TEST(GenerateTest, ImpossibleYieldIsReportedAndBadOptionsRejected) {
  GenerateOptions options;
  options.out = testing::FreshDir("short");
  options.suites = {"long"};
  options.demos_per_task = 1;
  options.image_size = 8;
  options.noise = 5.0;  // the expert flails: long tasks essentially never succeed
  options.pause_prob = 0.9;
  options.max_attempts_factor = 1;
  auto summary = GenerateDemos(options, [](const std::string&) {});
  ASSERT_TRUE(summary.ok()) << summary.status();
  EXPECT_EQ(summary->short_tasks.size(), 10u);
  options.suites = {"kitchen"};
  EXPECT_EQ(GenerateDemos(options, [](const std::string&) {}).status().code(), absl::StatusCode::kInvalidArgument);
  options.suites = {};
  options.image_size = 4;
  EXPECT_EQ(GenerateDemos(options, [](const std::string&) {}).status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace vlarft::data
