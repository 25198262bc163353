// `vlarft train world-model --branch_policy` as a real process: options it cannot use are refused by
// name before the demonstrations load (exit 2 within seconds, no checkpoint written), and a policy
// stem that does not exist is a NOT_FOUND naming it. The clips themselves are tested in
// tests/rollout/policy_branch_video_data_test.cc.
#include <filesystem>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "tests/testing/child_process.h"

namespace vlarft::pipeline {
namespace {

using vlarft::testing::BinaryPath;
using vlarft::testing::ChildProcess;

struct RefusedCase {
  std::vector<std::string> flags;
  int exit_code;
  std::string message;
};

TEST(TrainWorldModelBranchTest, UnusableBranchOptionsAreRefusedByNameBeforeAnythingLoads) {
  const std::string dir = vlarft::testing::MakeTempDir("wm_branch");
  const std::string policy = "checkpoints/tiny/policy_heatmap_15w";
  for (const RefusedCase& c :
       {RefusedCase{{"--branch_policy", policy, "--branch_fraction", "1.5"}, 2, "branch fraction must be in [0, 1], got 1.5"},
        RefusedCase{{"--branch_policy", policy, "--branch_chunks_per_state", "0"}, 2, "chunks_per_state must be >= 1"},
        RefusedCase{{"--branch_policy", policy, "--max_demos_per_task", "3"}, 2,
                    "--max_demos_per_task cannot be combined with --branch_policy"},
        RefusedCase{{"--branch_policy", dir + "/no_such_policy"}, 1, "no_such_policy"}}) {
    std::vector<std::string> argv = {BinaryPath("vlarft"), "train", "world-model", "--config", "configs/tiny.yaml",
                                     "--out", dir + "/wm"};
    argv.insert(argv.end(), c.flags.begin(), c.flags.end());
    const std::string what = c.flags.back();
    auto child = ChildProcess::Start(argv, dir + "/train.log");
    ASSERT_TRUE(child.ok()) << what;
    const std::optional<int> code = child->WaitFor(absl::Seconds(60));
    ASSERT_TRUE(code.has_value()) << what << ": still running";
    const std::string log = child->ReadLog();
    EXPECT_EQ(*code, c.exit_code) << what << "\n" << log;
    EXPECT_NE(log.find(c.message), std::string::npos) << what << "\n" << log;
    EXPECT_FALSE(std::filesystem::exists(dir + "/wm.safetensors")) << what;
  }
}

}  // namespace
}  // namespace vlarft::pipeline
