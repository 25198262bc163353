// The skeleton as a real process: flags, config errors, ready file, health, metrics, SIGTERM drain.
#include <signal.h>

#include <fstream>

#include "gtest/gtest.h"
#include "libs/metrics/prometheus_text.h"
#include "services/common/client.h"
#include "tests/testing/child_process.h"

namespace vlarft::services {
namespace {

using vlarft::testing::BinaryPath;
using vlarft::testing::ChildProcess;

TEST(SkeletonProcessTest, StartsServesAndDrainsOnSigterm) {
  const std::string dir = vlarft::testing::MakeTempDir("skeleton");
  const std::string ready = dir + "/ready.json";
  {
    std::ofstream config(dir + "/config.yaml");
    config << "skeleton:\n  greeting_count: 7\n";
  }
  auto child = ChildProcess::Start({BinaryPath("skeleton_test_server"), "--host=127.0.0.1",
                                    "--metrics_host=127.0.0.1", "--ready_file", ready, "--config",
                                    dir + "/config.yaml", "--set", "skeleton.greeting_count=11"},
                                   dir + "/log.txt");
  ASSERT_TRUE(child.ok()) << child.status();
  auto contents = vlarft::testing::WaitForFile(ready, absl::Seconds(30));
  ASSERT_TRUE(contents.ok()) << contents.status() << "\n" << child->ReadLog();
  auto port = vlarft::testing::ReadJsonInt(*contents, "port");
  auto metrics_port = vlarft::testing::ReadJsonInt(*contents, "metrics_port");
  auto pid = vlarft::testing::ReadJsonInt(*contents, "pid");
  ASSERT_TRUE(port.ok() && metrics_port.ok() && pid.ok()) << *contents;
  EXPECT_EQ(*pid, child->pid());

  ClientOptions options;
  options.target = "127.0.0.1:" + std::to_string(*port);
  auto channel = MakeChannel(options);
  ASSERT_TRUE(channel.ok());
  EXPECT_TRUE(WaitForHealthy(*channel, "", absl::Seconds(10)).ok());

  auto body = vlarft::testing::HttpGet(*metrics_port, "/metrics", absl::Seconds(5));
  ASSERT_TRUE(body.ok()) << body.status();
  auto samples = metrics::ParsePrometheusText(*body);
  ASSERT_TRUE(samples.ok()) << samples.status();
  // The --set override wins over the file.
  EXPECT_EQ(metrics::FindSample(*samples, "vlarft_skeleton_greetings_total"), 11.0);

  child->Signal(SIGTERM);
  auto code = child->WaitFor(absl::Seconds(20));
  ASSERT_TRUE(code.has_value()) << "server did not exit after SIGTERM\n" << child->ReadLog();
  EXPECT_EQ(*code, 0) << child->ReadLog();
  EXPECT_NE(child->ReadLog().find("event=stopped"), std::string::npos);
  EXPECT_FALSE(std::ifstream(ready).good()) << "ready file should be removed on shutdown";
}

TEST(SkeletonProcessTest, BadConfigExitsWithAnErrorNamingTheKey) {
  const std::string dir = vlarft::testing::MakeTempDir("skeleton_bad");
  struct Case {
    std::vector<std::string> args;
    std::string expected;
  };
  const std::vector<Case> cases = {
      {{"--set", "skeleton.greting_count=3"}, "greting_count"},
      {{"--set", "skeleton.greeting_count=abc"}, "skeleton.greeting_count"},
      {{"--set", "skeleton.greeting_count=-1"}, "greeting_count must be >= 0"},
      {{"--prot=5"}, "prot"},
      {{"--config", dir + "/missing.yaml"}, "missing.yaml"},
      {{"--port=99999"}, "port 99999 out of range"},
  };
  for (const Case& c : cases) {
    std::vector<std::string> argv = {BinaryPath("skeleton_test_server"), "--metrics_port=-1"};
    argv.insert(argv.end(), c.args.begin(), c.args.end());
    auto child = ChildProcess::Start(argv, dir + "/log.txt");
    ASSERT_TRUE(child.ok());
    auto code = child->WaitFor(absl::Seconds(20));
    ASSERT_TRUE(code.has_value()) << c.expected;
    EXPECT_NE(*code, 0) << c.expected;
    EXPECT_NE(child->ReadLog().find(c.expected), std::string::npos)
        << "expected '" << c.expected << "' in:\n" << child->ReadLog();
  }
}

TEST(SkeletonProcessTest, HelpListsOptionsAndExitsZero) {
  const std::string dir = vlarft::testing::MakeTempDir("skeleton_help");
  auto child = ChildProcess::Start({BinaryPath("skeleton_test_server"), "--help"}, dir + "/log.txt");
  ASSERT_TRUE(child.ok());
  auto code = child->WaitFor(absl::Seconds(20));
  ASSERT_TRUE(code.has_value());
  EXPECT_EQ(*code, 0);
  const std::string log = child->ReadLog();
  EXPECT_NE(log.find("--metrics_port"), std::string::npos);
  EXPECT_NE(log.find("--set skeleton.greeting_count"), std::string::npos);
}

}  // namespace
}  // namespace vlarft::services
