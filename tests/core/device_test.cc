#include "libs/core/device.h"

#include "gtest/gtest.h"

namespace vlarft::core {
namespace {

TEST(DeviceTest, CpuParses) {
  absl::StatusOr<torch::Device> device = ParseDevice("cpu");
  ASSERT_TRUE(device.ok()) << device.status();
  EXPECT_TRUE(device->is_cpu());
}

TEST(DeviceTest, GarbageNamesTheFieldAndTheChoices) {
  for (const char* name : {"gpu", "", "cuda:x", "mps"}) {
    absl::StatusOr<torch::Device> device = ParseDevice(name, "reward.scoring.device");
    ASSERT_FALSE(device.ok()) << name;
    EXPECT_EQ(device.status().code(), absl::StatusCode::kInvalidArgument) << name;
    EXPECT_NE(device.status().message().find("reward.scoring.device must be cpu, cuda or cuda:N"), std::string::npos)
        << device.status();
  }
}

TEST(DeviceTest, CudaThatIsNotThereIsAPreconditionNotACrash) {
  if (torch::cuda::is_available()) {
    // A device index past the count is the same mistake on a GPU machine.
    absl::StatusOr<torch::Device> device = ParseDevice("cuda:4096", "learner.device");
    ASSERT_FALSE(device.ok());
    EXPECT_EQ(device.status().code(), absl::StatusCode::kFailedPrecondition);
    return;
  }
  for (const char* name : {"cuda", "cuda:0", "cuda:1"}) {
    absl::StatusOr<torch::Device> device = ParseDevice(name, "learner.device");
    ASSERT_FALSE(device.ok()) << name;
    EXPECT_EQ(device.status().code(), absl::StatusCode::kFailedPrecondition) << name;
    EXPECT_NE(device.status().message().find("learner.device is '"), std::string::npos) << device.status();
    EXPECT_NE(device.status().message().find("no CUDA device"), std::string::npos) << device.status();
  }
}

TEST(DeviceTest, NameCheckAcceptsCudaWithoutAskingTheMachine) {
  // A GPU overlay's config is validated on CPU-only CI machines: the spelling alone is checked.
  for (const char* name : {"cpu", "cuda", "cuda:0", "cuda:3"}) {
    absl::StatusOr<torch::Device> device = ParseDeviceName(name, "simulator.device");
    ASSERT_TRUE(device.ok()) << name << ": " << device.status();
  }
  absl::StatusOr<torch::Device> device = ParseDeviceName("gpu:0", "simulator.device");
  ASSERT_FALSE(device.ok());
  EXPECT_EQ(device.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(device.status().message().find("simulator.device must be cpu, cuda or cuda:N, got 'gpu:0'"),
            std::string::npos)
      << device.status();
}

}  // namespace
}  // namespace vlarft::core
