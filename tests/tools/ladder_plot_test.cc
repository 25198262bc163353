// `vlarft study ladder-plot` as a user runs it: a chart and a table from study results, and a clear
// error for a directory that holds no study result.
#include <filesystem>
#include <fstream>

#include "gtest/gtest.h"
#include "tests/testing/child_process.h"

namespace vlarft {
namespace {

void WriteResult(const std::string& dir, double difference, double low, double high) {
  std::filesystem::create_directories(dir);
  std::ofstream(dir + "/results.json") << "{\"paired\": {\"difference\": " << difference << ", \"ci95\": [" << low
                                       << ", " << high << "]}}\n";
}

int RunTool(const std::vector<std::string>& args, const std::string& log) {
  std::vector<std::string> argv = {testing::BinaryPath("vlarft"), "study", "ladder-plot"};
  argv.insert(argv.end(), args.begin(), args.end());
  auto process = testing::ChildProcess::Start(argv, log);
  EXPECT_TRUE(process.ok()) << process.status();
  if (!process.ok()) return -1;
  return process->WaitFor(absl::Seconds(60)).value_or(-1);
}

TEST(LadderPlotTest, ChartsTheRunsAndNamesABadDirectory) {
  const std::string dir = testing::MakeTempDir("ladder_plot");
  WriteResult(dir + "/a1", 0.063, 0.041, 0.085);
  WriteResult(dir + "/a2", 0.089, 0.065, 0.113);
  WriteResult(dir + "/b1", -0.018, -0.038, 0.001);
  ASSERT_EQ(RunTool({"--rungs", "real=" + dir + "/a1," + dir + "/a2;shuffled=" + dir + "/b1", "--out", dir + "/out"},
                    dir + "/ok.log"),
            0);
  EXPECT_GT(std::filesystem::file_size(dir + "/out/ladder.png"), 1000u);
  std::ifstream table(dir + "/out/ladder.md");
  const std::string text((std::istreambuf_iterator<char>(table)), std::istreambuf_iterator<char>());
  EXPECT_NE(text.find("| real | +6.3 [+4.1, +8.5] / +8.9 [+6.5, +11.3] | +7.6 |"), std::string::npos) << text;
  EXPECT_NE(text.find("| shuffled | -1.8 [-3.8, +0.1] | -1.8 |"), std::string::npos) << text;

  std::filesystem::create_directories(dir + "/empty");
  EXPECT_NE(RunTool({"--rungs", "x=" + dir + "/empty", "--out", dir + "/out2"}, dir + "/bad.log"), 0);
  std::ifstream log(dir + "/bad.log");
  const std::string message((std::istreambuf_iterator<char>(log)), std::istreambuf_iterator<char>());
  EXPECT_NE(message.find("empty/results.json"), std::string::npos) << message;
  EXPECT_NE(RunTool({"--rungs", "no-equals-sign", "--out", dir + "/out3"}, dir + "/bad2.log"), 0);
}

}  // namespace
}  // namespace vlarft
