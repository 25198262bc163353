// `vlarft rft` and the training seed (rollout.seed), as a real process: a value it cannot use is
// refused by name before the base evaluation starts (exit 2, within seconds, nothing launched). The
// positive path — each worker runs with 1000 * rollout.seed + worker — is asserted on the workers'
// logs in RftPipelineTest.AllProcessesStartTrainAndStopCleanly.
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "tests/testing/child_process.h"

namespace vlarft::pipeline {
namespace {

using vlarft::testing::BinaryPath;
using vlarft::testing::ChildProcess;

struct RefusedCase {
  std::string set;
  std::string message;
};

TEST(RftSeedTest, BadRolloutSeedOrTooManyWorkersAreRefusedBeforeAnythingRuns) {
  const std::string dir = vlarft::testing::MakeTempDir("rft_seed");
  for (const RefusedCase& c : {RefusedCase{"rollout.seed=seven", "config 'rollout.seed'"},
                               RefusedCase{"rollout.seed=-2", "config 'rollout.seed'"},
                               RefusedCase{"rollout.seed=18446744073709551615", "rollout.seed = 18446744073709551615 is too large"},
                               RefusedCase{"rft.launch.rollout_workers=1001", "rft.launch.rollout_workers = 1001: at most 1000"}}) {
    const std::vector<std::string> argv = {BinaryPath("vlarft"), "rft", "--config", "configs/tiny.yaml",
                                           "--set", c.set, "--set", "rft.launch.out_dir=" + dir + "/out"};
    auto child = ChildProcess::Start(argv, dir + "/rft.log");
    ASSERT_TRUE(child.ok()) << c.set;
    const std::optional<int> code = child->WaitFor(absl::Seconds(60));
    ASSERT_TRUE(code.has_value()) << c.set << ": still running (the check must come before the base evaluation)";
    const std::string log = child->ReadLog();
    EXPECT_EQ(*code, 2) << c.set << "\n" << log;
    EXPECT_NE(log.find(c.message), std::string::npos) << c.set << "\n" << log;
    EXPECT_EQ(log.find("evaluating the base policy"), std::string::npos) << c.set << "\n" << log;
  }
}

}  // namespace
}  // namespace vlarft::pipeline
