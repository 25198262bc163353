// SuccessProbe: which checkpoints it evaluates, that it never blocks the caller, and that a failed
// evaluation is reported and skipped.
#include "tools/vlarft/success_probe.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace vlarft::cli {
namespace {
namespace fs = std::filesystem;

// A committed TrainingCheckpoints step: the directory with trainer.yaml, then LATEST naming it.
void Commit(const fs::path& dir, int64_t step) {
  const fs::path step_dir = dir / absl::StrCat("step-", step);
  fs::create_directories(step_dir);
  std::ofstream(step_dir / "trainer.yaml") << "step: " << step << "\n";
  std::ofstream(dir / "LATEST") << "step-" << step << "\n";
}

class SuccessProbeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::path(::testing::TempDir()) /
           absl::StrCat("success_probe_", ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  // Polls until the probe has `count` estimates (bounded).
  static void PollUntil(SuccessProbe& probe, size_t count, std::vector<std::string>* lines) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (probe.history().size() < count && std::chrono::steady_clock::now() < deadline) {
      probe.Poll([&](const std::string& line) { lines->push_back(line); });
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  }

  fs::path dir_;
};

TEST(CheckpointStepTest, ParsesStepDirectories) {
  EXPECT_EQ(CheckpointStep("/x/learner/step-25"), 25);
  EXPECT_EQ(CheckpointStep("step-0"), 0);
  EXPECT_FALSE(CheckpointStep("/x/learner/LATEST").has_value());
  EXPECT_FALSE(CheckpointStep("/x/step-").has_value());
  EXPECT_FALSE(CheckpointStep("/x/step-12a").has_value());
}

TEST_F(SuccessProbeTest, EvaluatesEachNewCheckpointOnce) {
  std::mutex mu;
  std::vector<std::string> evaluated;
  SuccessProbe probe(dir_.string(), [&](const std::string& stem) -> absl::StatusOr<tabletop::Interval> {
    std::lock_guard<std::mutex> lock(mu);
    evaluated.push_back(stem);
    return tabletop::Wilson(static_cast<int64_t>(evaluated.size()), 10);
  });
  std::vector<std::string> lines;
  probe.Poll([&](const std::string& line) { lines.push_back(line); });  // nothing committed yet
  EXPECT_FALSE(probe.latest().has_value());

  Commit(dir_, 5);
  PollUntil(probe, 1, &lines);
  for (int i = 0; i < 20; ++i) probe.Poll([&](const std::string& line) { lines.push_back(line); });
  Commit(dir_, 10);
  PollUntil(probe, 2, &lines);
  probe.Finish([&](const std::string& line) { lines.push_back(line); });

  ASSERT_EQ(probe.history().size(), 2u);
  EXPECT_EQ(probe.history()[0].step, 5);
  EXPECT_EQ(probe.history()[1].step, 10);
  EXPECT_DOUBLE_EQ(probe.history()[1].success.rate, 0.2);
  EXPECT_EQ(probe.latest()->step, 10);
  std::lock_guard<std::mutex> lock(mu);
  ASSERT_EQ(evaluated.size(), 2u);  // step 5 was not evaluated again however often Poll ran
  EXPECT_EQ(evaluated[0], (dir_ / "step-5" / "model").string());
  ASSERT_FALSE(lines.empty());
  EXPECT_TRUE(absl::StrContains(lines.back(), "step 10")) << lines.back();
}

TEST_F(SuccessProbeTest, PollDoesNotWaitForARunningEvaluation) {
  std::atomic<bool> release{false};
  SuccessProbe probe(dir_.string(), [&](const std::string&) -> absl::StatusOr<tabletop::Interval> {
    while (!release.load()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    return tabletop::Wilson(1, 2);
  });
  Commit(dir_, 1);
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < 5; ++i) probe.Poll([](const std::string&) {});
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2));
  EXPECT_FALSE(probe.latest().has_value());
  release = true;
  probe.Finish([](const std::string&) {});
  ASSERT_TRUE(probe.latest().has_value());
  EXPECT_EQ(probe.latest()->step, 1);
}

TEST_F(SuccessProbeTest, AFailedEvaluationIsReportedAndSkipped) {
  SuccessProbe probe(dir_.string(), [&](const std::string& stem) -> absl::StatusOr<tabletop::Interval> {
    if (absl::StrContains(stem, "step-3")) return absl::NotFoundError("checkpoint rotated away");
    return tabletop::Wilson(3, 4);
  });
  std::vector<std::string> lines;
  Commit(dir_, 3);
  probe.Poll([&](const std::string& line) { lines.push_back(line); });
  probe.Finish([&](const std::string& line) { lines.push_back(line); });
  EXPECT_TRUE(probe.history().empty());
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_TRUE(absl::StrContains(lines[0], "step 3 skipped")) << lines[0];
  EXPECT_TRUE(absl::StrContains(lines[0], "rotated away")) << lines[0];
  Commit(dir_, 4);
  PollUntil(probe, 1, &lines);
  EXPECT_EQ(probe.latest()->step, 4);
}

TEST_F(SuccessProbeTest, FinishEvaluatesTheFinalCheckpoint) {
  std::atomic<int> calls{0};
  SuccessProbe probe(dir_.string(), [&](const std::string&) -> absl::StatusOr<tabletop::Interval> {
    ++calls;
    return tabletop::Wilson(1, 4);
  });
  Commit(dir_, 2);
  probe.Poll([](const std::string&) {});
  Commit(dir_, 6);  // committed after the last poll, as at the end of a run
  probe.Finish([](const std::string&) {});
  ASSERT_EQ(probe.history().size(), 2u);
  EXPECT_EQ(probe.history()[0].step, 2);
  EXPECT_EQ(probe.history()[1].step, 6);
  probe.Finish([](const std::string&) {});  // nothing new: no second evaluation of step 6
  EXPECT_EQ(calls.load(), 2);
}

}  // namespace
}  // namespace vlarft::cli
