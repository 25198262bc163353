// Each service that takes a device, started as a real process with `device: cuda` on a machine that
// has none: it must exit with a configuration error naming the key (status 1 or 2), not abort on an
// uncaught c10 exception (status 134), the hostile-client review's finding. Also the simulator's and
// verifier's other execution settings (world-model dtype, batching lanes).
#include "gtest/gtest.h"
#include "tests/testing/child_process.h"
#include "torch/torch.h"

namespace vlarft::services {
namespace {

using vlarft::testing::BinaryPath;
using vlarft::testing::ChildProcess;

TEST(UnavailableDeviceProcessTest, EveryServiceRefusesCudaItCannotUse) {
  if (torch::cuda::is_available()) GTEST_SKIP() << "this machine has CUDA";
  const std::string dir = vlarft::testing::MakeTempDir("no_cuda");
  struct Case {
    std::string binary;
    std::string key;
  };
  for (const Case& c : {Case{"vlarft-reward", "reward.scoring.device"}, Case{"vlarft-simulator", "simulator.device"},
                        Case{"vlarft-learner", "learner.device"}, Case{"vlarft-rollout", "rollout.device"}}) {
    // Checkpoints that do not exist: the device must be refused before anything is loaded.
    const std::vector<std::string> argv = {BinaryPath(c.binary), "--host=127.0.0.1", "--metrics_port=-1",
                                           "--set", c.key + "=cuda",
                                           "--set", "learner.policy_checkpoint=" + dir + "/none",
                                           "--set", "simulator.tokenizer_checkpoint=" + dir + "/none",
                                           "--set", "simulator.world_model_checkpoint=" + dir + "/none",
                                           "--set", "reward.tokenizer_checkpoint=" + dir + "/none",
                                           "--set", "rollout.policy_checkpoint=" + dir + "/none",
                                           "--set", "rollout.dataset=" + dir + "/none"};
    auto child = ChildProcess::Start(argv, dir + "/" + c.binary + ".log");
    ASSERT_TRUE(child.ok()) << c.binary;
    const std::optional<int> code = child->WaitFor(absl::Seconds(60));
    ASSERT_TRUE(code.has_value()) << c.binary;
    // 2: refused while parsing the configuration; 1: refused at start-up. Never 134 (abort).
    EXPECT_TRUE(*code == 1 || *code == 2) << c.binary << " exited with " << *code << "\n" << child->ReadLog();
    EXPECT_NE(child->ReadLog().find("no CUDA device"), std::string::npos) << c.binary << "\n" << child->ReadLog();
    EXPECT_NE(child->ReadLog().find("device"), std::string::npos) << c.binary << "\n" << child->ReadLog();
  }
}

// The simulator's other device-side key: a world-model dtype it cannot run is a configuration error
// naming the key, before any checkpoint is read (this one needs no CUDA, so it runs everywhere).
TEST(UnavailableDeviceProcessTest, SimulatorRefusesAnUnknownWorldModelDtype) {
  const std::string dir = vlarft::testing::MakeTempDir("bad_dtype");
  const std::vector<std::string> argv = {BinaryPath("vlarft-simulator"), "--host=127.0.0.1", "--metrics_port=-1",
                                         "--set", "simulator.world_model_dtype=float16",
                                         "--set", "simulator.tokenizer_checkpoint=" + dir + "/none",
                                         "--set", "simulator.world_model_checkpoint=" + dir + "/none"};
  auto child = ChildProcess::Start(argv, dir + "/simulator.log");
  ASSERT_TRUE(child.ok());
  const std::optional<int> code = child->WaitFor(absl::Seconds(60));
  ASSERT_TRUE(code.has_value());
  EXPECT_TRUE(*code == 1 || *code == 2) << "exited with " << *code << "\n" << child->ReadLog();
  EXPECT_NE(child->ReadLog().find("world_model_dtype must be float32 or bfloat16"), std::string::npos)
      << child->ReadLog();
}

// The batching lanes (one batch per core on a CPU): a count out of range is a configuration error
// naming the value, before any checkpoint is read.
TEST(UnavailableDeviceProcessTest, SimulatorAndVerifierRefuseBatchingLanesOutOfRange) {
  const std::string dir = vlarft::testing::MakeTempDir("bad_lanes");
  for (const std::string section : {"simulator", "reward"}) {
    const std::vector<std::string> argv = {BinaryPath("vlarft-" + section), "--host=127.0.0.1", "--metrics_port=-1",
                                           "--set", section + ".batching.lanes=0",
                                           "--set", section + ".tokenizer_checkpoint=" + dir + "/none",
                                           "--set", "simulator.world_model_checkpoint=" + dir + "/none"};
    auto child = ChildProcess::Start(argv, dir + "/" + section + ".log");
    ASSERT_TRUE(child.ok()) << section;
    const std::optional<int> code = child->WaitFor(absl::Seconds(60));
    ASSERT_TRUE(code.has_value()) << section;
    EXPECT_TRUE(*code == 1 || *code == 2) << section << " exited with " << *code << "\n" << child->ReadLog();
    EXPECT_NE(child->ReadLog().find("lanes is 0"), std::string::npos) << section << "\n" << child->ReadLog();
  }
}

}  // namespace
}  // namespace vlarft::services
