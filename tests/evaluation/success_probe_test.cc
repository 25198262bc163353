// SuccessProbe follows the evaluator's results file: the baseline and each version's estimate, in
// order, each once; a line still being written waits for the next poll; a corrupt line is reported
// and skipped.
#include "libs/evaluation/success_probe.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "libs/tabletop/report.h"
#include "nlohmann/json.hpp"

namespace vlarft::evaluation {
namespace {
namespace fs = std::filesystem;

// One line as vlarft-evaluator writes it: {"version", "report"} with a real report's JSON.
std::string ResultLine(int64_t version, int successes, int episodes) {
  tabletop::EvalReport report;
  report.policy = "p";
  report.seconds = 12.5;
  tabletop::TaskOutcome task;
  task.suite = "goal";
  task.task = "t";
  task.successes = successes;
  task.episodes = episodes;
  report.tasks.push_back(task);
  tabletop::Summarize(&report);
  nlohmann::json line;
  line["version"] = version;
  line["report"] = nlohmann::json::parse(tabletop::ReportJson(report));
  return line.dump();
}

class SuccessProbeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    file_ = (fs::path(::testing::TempDir()) /
             absl::StrCat("success_probe_", ::testing::UnitTest::GetInstance()->current_test_info()->name(), ".jsonl"))
                .string();
  }
  void TearDown() override { fs::remove(file_); }
  void Append(const std::string& text) { std::ofstream(file_, std::ios::app) << text; }
  std::vector<std::string> Poll(SuccessProbe& probe) {
    std::vector<std::string> lines;
    probe.Poll([&](const std::string& line) { lines.push_back(line); });
    return lines;
  }
  std::string file_;
};

TEST_F(SuccessProbeTest, ReadsTheBaselineAndEachVersionOnce) {
  Append("stale line from an earlier run\n");
  SuccessProbe probe(file_);  // a new run starts a new file
  EXPECT_TRUE(Poll(probe).empty());  // nothing written yet
  Append(ResultLine(-1, 4, 10) + "\n" + ResultLine(0, 5, 10) + "\n");
  std::vector<std::string> lines = Poll(probe);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_TRUE(absl::StrContains(lines[0], "start policy 40.0%")) << lines[0];
  EXPECT_TRUE(absl::StrContains(lines[1], "step 0  50.0%")) << lines[1];
  ASSERT_TRUE(probe.baseline().has_value());
  EXPECT_DOUBLE_EQ(probe.baseline()->success.rate, 0.4);
  ASSERT_EQ(probe.history().size(), 1u);
  EXPECT_EQ(probe.latest()->step, 0);
  EXPECT_DOUBLE_EQ(probe.latest()->seconds, 12.5);
  EXPECT_LE(probe.latest()->success.low, 0.5);
  EXPECT_GE(probe.latest()->success.high, 0.5);

  EXPECT_TRUE(Poll(probe).empty());  // nothing new: nothing reported twice
  Append(ResultLine(7, 9, 10) + "\n");
  lines = Poll(probe);
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(probe.latest()->step, 7);
  EXPECT_EQ(probe.history().size(), 2u);
}

TEST_F(SuccessProbeTest, ALineStillBeingWrittenWaitsForTheNextPoll) {
  SuccessProbe probe(file_);
  const std::string line = ResultLine(3, 2, 10);
  Append(line.substr(0, line.size() / 2));
  EXPECT_TRUE(Poll(probe).empty());
  EXPECT_FALSE(probe.latest().has_value());
  Append(line.substr(line.size() / 2) + "\n");
  ASSERT_EQ(Poll(probe).size(), 1u);
  EXPECT_EQ(probe.latest()->step, 3);
}

TEST_F(SuccessProbeTest, ACorruptLineIsReportedAndSkipped) {
  SuccessProbe probe(file_);
  Append("{\"version\": 2}\nnot json\n" + ResultLine(4, 1, 10) + "\n");
  const std::vector<std::string> lines = Poll(probe);
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_TRUE(absl::StrContains(lines[0], "skipped a line")) << lines[0];
  EXPECT_TRUE(absl::StrContains(lines[0], "\"report\"")) << lines[0];
  EXPECT_TRUE(absl::StrContains(lines[1], "not a JSON object")) << lines[1];
  ASSERT_EQ(probe.history().size(), 1u);
  EXPECT_EQ(probe.latest()->step, 4);
}

}  // namespace
}  // namespace vlarft::evaluation
