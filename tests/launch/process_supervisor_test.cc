#include "libs/launch/process_supervisor.h"

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_join.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace vlarft::launch {
namespace {
namespace fs = std::filesystem;
using ::testing::HasSubstr;

std::string FreshDir(const std::string& name) {
  const std::string dir = ::testing::TempDir() + "/vlarft_supervisor_" + name;
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

// A shell process: `script` runs with $READY set to its ready file and $1.. = the extra flags.
ProcessSpec Shell(const std::string& dir, const std::string& name, const std::string& script) {
  ProcessSpec spec;
  spec.name = name;
  spec.ready_file = dir + "/" + name + ".ready";
  spec.log = dir + "/" + name + ".log";
  spec.argv = {"/bin/sh", "-c", "READY=" + spec.ready_file + "; " + script, name};
  return spec;
}

nlohmann::json ReadManifest(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return nlohmann::json::parse(text.str());
}

SupervisorOptions Options(const std::string& dir) {
  SupervisorOptions options;
  options.manifest_path = dir + "/processes.json";
  options.startup_timeout_s = 10;
  options.max_restarts = 2;
  options.stop_grace_s = 1;
  return options;
}

TEST(ProcessSupervisorTest, StartsWaitsForReadinessAndStopsByTier) {
  const std::string dir = FreshDir("tiers");
  std::vector<std::string> lines;
  ProcessSupervisor supervisor(Options(dir), [&](const std::string& l) { lines.push_back(l); });
  // The server records when it got SIGTERM; the client must be gone by then (tier 0 stops first).
  const auto server = supervisor.Add(
      Shell(dir, "server", "trap 'test -e " + dir + "/client.gone && echo ordered > " + dir +
                               "/order; exit 0' TERM; echo up > $READY; while true; do sleep 0.05; done"),
      1);
  const auto client = supervisor.Add(
      Shell(dir, "client", "trap 'touch " + dir + "/client.gone; exit 0' TERM; echo up > $READY; "
                           "while true; do sleep 0.05; done"),
      0);
  ASSERT_TRUE(supervisor.Start(server, /*wait_ready=*/true).ok());
  ASSERT_TRUE(supervisor.Start(client, /*wait_ready=*/true).ok());
  EXPECT_FALSE(supervisor.Poll(server).has_value());
  nlohmann::json manifest = ReadManifest(dir + "/processes.json");
  ASSERT_EQ(manifest["processes"].size(), 2u);
  EXPECT_EQ(manifest["processes"][0]["name"], "server");
  EXPECT_TRUE(manifest["processes"][0]["exit_code"].is_null());
  EXPECT_GT(manifest["processes"][1]["pid"].get<int64_t>(), 0);

  supervisor.StopAll();
  EXPECT_EQ(supervisor.Poll(server), 0);
  EXPECT_EQ(supervisor.Poll(client), 0);
  EXPECT_TRUE(fs::exists(dir + "/order"));  // the server saw the client gone
  EXPECT_TRUE(CheckCleanShutdown(supervisor.Records()).ok());
  manifest = ReadManifest(dir + "/processes.json");
  EXPECT_EQ(manifest["processes"][0]["exit_code"], 0);
}

TEST(ProcessSupervisorTest, RestartsWithinTheBudgetThenGivesUpNamingTheLog) {
  const std::string dir = FreshDir("restarts");
  std::vector<std::string> lines;
  ProcessSupervisor supervisor(Options(dir), [&](const std::string& l) { lines.push_back(l); });
  const auto flaky = supervisor.Add(Shell(dir, "flaky", "echo up > $READY; exit 3"), 0);
  ASSERT_TRUE(supervisor.Start(flaky, /*wait_ready=*/false).ok());
  for (int round = 1; round <= 2; ++round) {
    while (!supervisor.Poll(flaky).has_value()) absl::SleepFor(absl::Milliseconds(10));
    EXPECT_EQ(*supervisor.Poll(flaky), 3);
    ASSERT_TRUE(supervisor.Restart(flaky, /*wait_ready=*/false).ok()) << round;
  }
  EXPECT_EQ(supervisor.restarts(), 2);
  EXPECT_THAT(lines.back(), HasSubstr("flaky exited with status 3; restarting (restart 2 of at most 2)"));
  while (!supervisor.Poll(flaky).has_value()) absl::SleepFor(absl::Milliseconds(10));
  const absl::Status spent = supervisor.Restart(flaky, false);
  EXPECT_EQ(spent.code(), absl::StatusCode::kAborted);
  EXPECT_THAT(std::string(spent.message()), HasSubstr("restarted 2 times already"));
  EXPECT_THAT(std::string(spent.message()), HasSubstr(dir + "/flaky.log"));
  EXPECT_EQ(ReadManifest(dir + "/processes.json")["processes"][0]["restarts"], 3);
  const absl::Status unclean = CheckCleanShutdown(supervisor.Records());
  EXPECT_EQ(unclean.code(), absl::StatusCode::kInternal);
  EXPECT_THAT(std::string(unclean.message()), HasSubstr("flaky exited with status 3"));

  SupervisorOptions no_restarts = Options(dir);
  no_restarts.restart_dead = false;
  no_restarts.manifest_path = dir + "/other.json";
  ProcessSupervisor strict(no_restarts, nullptr);
  const auto once = strict.Add(Shell(dir, "once", "exit 1"), 0);
  ASSERT_TRUE(strict.Start(once, false).ok());
  while (!strict.Poll(once).has_value()) absl::SleepFor(absl::Milliseconds(10));
  EXPECT_THAT(std::string(strict.Restart(once, false).message()), HasSubstr("restart_dead is off"));
}

TEST(ProcessSupervisorTest, StartupFailuresAndStragglersAreNamed) {
  const std::string dir = FreshDir("failures");
  SupervisorOptions options = Options(dir);
  options.startup_timeout_s = 0.5;
  std::vector<std::string> lines;
  ProcessSupervisor supervisor(options, [&](const std::string& l) { lines.push_back(l); });
  const auto dies = supervisor.Add(Shell(dir, "dies", "echo bad config >&2; exit 2"), 0);
  const absl::Status died = supervisor.Start(dies, /*wait_ready=*/true);
  EXPECT_EQ(died.code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(std::string(died.message()), HasSubstr("dies exited with status 2 during startup; see " + dir + "/dies.log"));
  const auto slow = supervisor.Add(Shell(dir, "slow", "sleep 30"), 0);
  EXPECT_EQ(supervisor.Start(slow, /*wait_ready=*/true).code(), absl::StatusCode::kDeadlineExceeded);
  // Ignores SIGTERM: killed after the grace period, and its status says so.
  const auto stubborn = supervisor.Add(
      Shell(dir, "stubborn", "trap '' TERM; echo up > $READY; while true; do sleep 0.05; done"), 1);
  ASSERT_TRUE(supervisor.Start(stubborn, /*wait_ready=*/true).ok());
  supervisor.StopAll();
  EXPECT_EQ(supervisor.Poll(stubborn), 128 + 9);
  EXPECT_THAT(absl::StrJoin(lines, "\n"), HasSubstr("stubborn did not stop within 1 s of SIGTERM; killing it"));
}

TEST(ProcessSupervisorTest, MetricsPortIsPickedOnceAndKeptAcrossRestarts) {
  const std::string dir = FreshDir("ports");
  ProcessSupervisor supervisor(Options(dir), nullptr);
  ProcessSpec spec = Shell(dir, "server", "echo \"$1\" >> " + dir + "/flags; echo up > $READY; exit 0");
  spec.metrics_port_flag = "--metrics_port";
  const auto server = supervisor.Add(spec, 0);
  const absl::Status started = supervisor.Start(server, true);
  ASSERT_TRUE(started.ok()) << started;
  const int port = supervisor.metrics_port(server);
  EXPECT_GT(port, 0);
  while (!supervisor.Poll(server).has_value()) absl::SleepFor(absl::Milliseconds(10));
  ASSERT_TRUE(supervisor.Restart(server, true).ok());
  EXPECT_EQ(supervisor.metrics_port(server), port);
  while (!supervisor.Poll(server).has_value()) absl::SleepFor(absl::Milliseconds(10));
  std::ifstream in(dir + "/flags");
  std::string first, second;
  std::getline(in, first);
  std::getline(in, second);
  EXPECT_EQ(first, "--metrics_port=" + std::to_string(port));
  EXPECT_EQ(second, first);
  EXPECT_NE(*supervisor.ports().Pick(), port);  // the caller's ports never collide with it
}

}  // namespace
}  // namespace vlarft::launch
