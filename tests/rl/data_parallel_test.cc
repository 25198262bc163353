#include "libs/rl/data_parallel.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <thread>

#include "gtest/gtest.h"
#include "libs/core/subprocess.h"

namespace vlarft::rl {
namespace {

int FreePort() { return *core::FreeLoopbackPort(); }

TEST(DataParallelTest, TwoGlooRanksAverageBroadcastAndShipBytes) {
  if (!DataParallelGroup::BackendCompiledIn("gloo")) GTEST_SKIP() << "this LibTorch ships no Gloo headers";
  const int port = FreePort();
  torch::Tensor results[2];
  std::string received[2];
  absl::Status statuses[2];
  auto run = [&](int rank) {
    DistributedConfig config;
    config.rank = rank;
    config.world_size = 2;
    config.master_port = port;
    config.timeout_s = 60;
    auto group = DataParallelGroup::Create(config, torch::kCPU);
    if (!group.ok()) {
      statuses[rank] = group.status();
      return;
    }
    EXPECT_EQ((*group)->backend(), "gloo");
    torch::Tensor a = torch::full({3}, static_cast<float>(rank + 1));  // rank 0: 1, rank 1: 2
    torch::Tensor b = torch::full({2, 2}, static_cast<float>(10 * rank));
    statuses[rank] = (*group)->AllReduceMean({a, b});
    if (!statuses[rank].ok()) return;
    torch::Tensor c = torch::full({2}, static_cast<float>(rank == 0 ? 7 : -1));
    statuses[rank] = (*group)->Broadcast({c}, 0);
    std::string bytes = rank == 0 ? std::string("rollout shard \0 bytes", 21) : std::string();
    if (statuses[rank].ok()) statuses[rank] = (*group)->BroadcastBytes(&bytes, 0);
    if (statuses[rank].ok()) statuses[rank] = (*group)->Barrier();
    results[rank] = torch::cat({a, b.flatten(), c});
    received[rank] = bytes;
  };
  std::thread t0(run, 0), t1(run, 1);
  t0.join();
  t1.join();
  ASSERT_TRUE(statuses[0].ok()) << statuses[0];
  ASSERT_TRUE(statuses[1].ok()) << statuses[1];
  torch::Tensor expected = torch::tensor({1.5f, 1.5f, 1.5f, 5.0f, 5.0f, 5.0f, 5.0f, 7.0f, 7.0f});
  EXPECT_TRUE(torch::equal(results[0], expected));
  EXPECT_TRUE(torch::equal(results[1], expected));
  EXPECT_EQ(received[1], std::string("rollout shard \0 bytes", 21));
}

TEST(DataParallelTest, SingleRankNeedsNoRendezvousAndBadConfigsAreRejected) {
  DistributedConfig config;
  auto group = DataParallelGroup::Create(config, torch::kCPU);
  ASSERT_TRUE(group.ok());
  torch::Tensor a = torch::ones({2});
  EXPECT_TRUE((*group)->AllReduceMean({a}).ok());
  EXPECT_TRUE(torch::equal(a, torch::ones({2})));
  config.rank = 2;
  config.world_size = 2;
  EXPECT_EQ(DataParallelGroup::Create(config, torch::kCPU).status().code(), absl::StatusCode::kInvalidArgument);
  config.rank = 0;
  config.backend = "mpi";
  EXPECT_EQ(DataParallelGroup::Create(config, torch::kCPU).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(DataParallelTest, BackendMissingFromTheBuildFailsBeforeTheRendezvous) {
  for (const std::string backend : {"gloo", "nccl"}) {
    if (DataParallelGroup::BackendCompiledIn(backend)) continue;
    DistributedConfig config;
    config.rank = 0;
    config.world_size = 2;
    config.master_port = FreePort();
    config.timeout_s = 60;  // would block for a minute if it waited for the peer first
    config.backend = backend;
    auto group = DataParallelGroup::Create(config, torch::kCPU);
    ASSERT_FALSE(group.ok());
    EXPECT_EQ(group.status().code(), absl::StatusCode::kFailedPrecondition) << group.status();
    EXPECT_NE(group.status().message().find("not compiled into this build"), std::string::npos) << group.status();
  }
}

TEST(DataParallelTest, MissingPeerTimesOutWithAClearError) {
  if (!DataParallelGroup::BackendCompiledIn("gloo")) GTEST_SKIP() << "this LibTorch ships no Gloo headers";
  DistributedConfig config;
  config.rank = 1;
  config.world_size = 2;
  config.master_port = FreePort();  // nobody serves the store there
  config.timeout_s = 1;
  auto group = DataParallelGroup::Create(config, torch::kCPU);
  ASSERT_FALSE(group.ok());
  EXPECT_EQ(group.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_NE(group.status().message().find("rendezvous"), std::string::npos) << group.status();
}

}  // namespace
}  // namespace vlarft::rl
