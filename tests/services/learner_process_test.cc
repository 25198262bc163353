// vlarft-learner as real processes on loopback: intake validation, dedup, backpressure, weight
// streaming, steps, kill -9 + restart resuming from the checkpoint, and two Gloo ranks.
#include <signal.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <thread>

#include "gtest/gtest.h"
#include "libs/core/rng.h"
#include "libs/metrics/prometheus_text.h"
#include "libs/rl/flow_sampling.h"
#include "services/common/client.h"
#include "services/common/rollout_proto.h"
#include "services/common/service_server.h"
#include "services/common/weights_proto.h"
#include "tests/models/policy_test_util.h"
#include "tests/services/proto_mutator.h"
#include "tests/testing/child_process.h"
#include "vlarft/v1/learner.grpc.pb.h"

namespace vlarft::services {
namespace {

using vlarft::testing::BinaryPath;
using vlarft::testing::ChildProcess;

struct Learner {
  ChildProcess process;
  int port = 0;
  int metrics_port = 0;
  std::unique_ptr<v1::Learner::Stub> stub;
};

class LearnerProcessTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = vlarft::testing::MakeTempDir("learner");
    torch::manual_seed(7);
    policy_ = models::testing::MakeTinyPolicy();
    models::testing::Randomize(*policy_, 0.1);
    ASSERT_TRUE(models::SavePolicy(dir_ + "/policy", policy_, 0).ok());
  }

  std::vector<std::string> Args(const std::string& name, const std::vector<std::string>& extra) {
    std::vector<std::string> args = {BinaryPath("vlarft-learner"), "--host=127.0.0.1", "--metrics_host=127.0.0.1",
                                     "--ready_file=" + dir_ + "/" + name + ".ready", "--shutdown_grace_s=1",
                                     "--set", "learner.policy_checkpoint=" + dir_ + "/policy",
                                     "--set", "learner.checkpoint_dir=" + dir_ + "/ckpt",
                                     "--set", "learner.prompts_per_step=2",
                                     "--set", "learner.intake_capacity=4",
                                     "--set", "learner.max_steps=4",
                                     "--set", "learner.checkpoint_every=1",
                                     "--set", "learner.exit_when_finished=false",
                                     "--set", "learner.torch_threads=1",
                                     "--set", "learner.optim.warmup_steps=0",
                                     "--set", "learner.optim.head_lr=0.001"};
    args.insert(args.end(), extra.begin(), extra.end());
    return args;
  }

  Learner Start(const std::string& name, const std::vector<std::string>& extra = {}) {
    Learner learner{*ChildProcess::Start(Args(name, extra), dir_ + "/" + name + ".log"), 0, 0, nullptr};
    auto ready = vlarft::testing::WaitForFile(dir_ + "/" + name + ".ready", absl::Seconds(60));
    EXPECT_TRUE(ready.ok()) << learner.process.ReadLog();
    if (!ready.ok()) return learner;
    learner.port = *vlarft::testing::ReadJsonInt(*ready, "port");
    learner.metrics_port = *vlarft::testing::ReadJsonInt(*ready, "metrics_port");
    ClientOptions options;
    options.target = "127.0.0.1:" + std::to_string(learner.port);
    learner.stub = v1::Learner::NewStub(*MakeChannel(options));
    return learner;
  }

  v1::RolloutGroup Group(const std::string& id, uint64_t seed, int64_t version = 0,
                         const std::function<void(rl::RolloutGroupData&)>& edit = nullptr) {
    models::PolicyObservation obs = models::testing::TinyObservation(1);
    auto context = policy_->Encode(obs);
    at::Generator generator = core::MakeCpuGenerator(seed);
    rl::SdeSample sample = rl::SampleSde(*policy_, context->Repeat(4), torch::randn({4, 8, 7}, generator), generator);
    rl::RolloutGroupData g;
    g.group_id = id;
    g.worker_id = "test";
    g.policy_version = version;
    g.observations = obs.frames.view({1, 1, 16, 16, 3});
    g.instruction = obs.instructions[0];
    g.proprio = obs.proprio[0];
    g.expert_actions = torch::zeros({8, 7});
    g.chains = sample.chain.unsqueeze(1);
    g.old_log_probs = sample.log_probs.unsqueeze(1);
    g.rewards = -(sample.chain.select(1, -1)).abs().mean({1, 2});
    if (edit) edit(g);
    v1::RolloutGroup proto;
    EXPECT_TRUE(RolloutGroupToProto(g, &proto).ok());
    return proto;
  }

  grpc::Status Submit(Learner& learner, std::vector<v1::RolloutGroup> groups, v1::SubmitGroupsResponse* response) {
    v1::SubmitGroupsRequest request;
    for (auto& g : groups) *request.add_groups() = g;
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    return learner.stub->SubmitGroups(&context, request, response);
  }

  v1::LearnerStatus Status(Learner& learner) {
    v1::LearnerStatus status;
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    EXPECT_TRUE(learner.stub->GetStatus(&context, {}, &status).ok());
    return status;
  }

  // Waits until the learner reports `step` or the bound passes.
  bool WaitForStep(Learner& learner, int64_t step) {
    for (int i = 0; i < 600; ++i) {
      if (Status(learner).step() >= step) return true;
      absl::SleepFor(absl::Milliseconds(100));
    }
    return false;
  }

  // SIGTERM, then the learner must exit 0 (it checkpoints and drains) within 30 s.
  void StopAndExpectCleanExit(Learner& learner) {
    learner.process.Signal(SIGTERM);
    const std::optional<int> code = learner.process.WaitFor(absl::Seconds(30));
    ASSERT_TRUE(code.has_value()) << learner.process.ReadLog();
    EXPECT_EQ(*code, 0) << learner.process.ReadLog();
  }

  std::string dir_;
  models::VlaPolicy policy_{nullptr};
};

TEST_F(LearnerProcessTest, ValidatesDeduplicatesAppliesBackpressureTrainsAndStreamsWeights) {
  Learner learner = Start("a");
  ASSERT_GT(learner.port, 0);

  // Invalid group: the whole request is refused, naming the group and field.
  v1::RolloutGroup bad = Group("bad", 1);
  bad.mutable_chains()->mutable_shape()->Set(2, 3);
  v1::SubmitGroupsResponse response;
  grpc::Status status = Submit(learner, {bad}, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(status.error_message().find("'bad'"), std::string::npos) << status.error_message();
  EXPECT_NE(status.error_message().find("chains"), std::string::npos) << status.error_message();

  // Capacity 4: 5 groups in one request can never fit (not "retry later").
  std::vector<v1::RolloutGroup> five;
  for (int i = 0; i < 5; ++i) five.push_back(Group("big" + std::to_string(i), 10 + i));
  status = Submit(learner, five, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(status.error_message().find("never fit"), std::string::npos) << status.error_message();

  // Two groups make a step; resubmitting them is counted as duplicates, not trained twice.
  ASSERT_TRUE(Submit(learner, {Group("g1", 21), Group("g2", 22)}, &response).ok());
  EXPECT_EQ(response.accepted(), 2);
  ASSERT_TRUE(WaitForStep(learner, 1)) << learner.process.ReadLog();
  ASSERT_TRUE(Submit(learner, {Group("g1", 21), Group("g2", 22)}, &response).ok());
  EXPECT_EQ(response.accepted(), 0);
  EXPECT_EQ(response.duplicates(), 2);

  // Stale: version 0 groups are too old once the learner is at version >= 2 (max_staleness 1).
  ASSERT_TRUE(Submit(learner, {Group("g3", 23, 1), Group("g4", 24, 1)}, &response).ok());
  ASSERT_TRUE(WaitForStep(learner, 2));
  ASSERT_TRUE(Submit(learner, {Group("old", 25, 0)}, &response).ok());
  EXPECT_EQ(response.stale(), 1);

  // Weights of the newest version stream and reassemble with a valid checksum.
  v1::GetPolicyWeightsRequest request;
  request.set_min_version(2);
  request.set_wait_ms(5000);
  grpc::ClientContext context;
  auto reader = learner.stub->GetPolicyWeights(&context, request);
  WeightAssembler assembler;
  v1::WeightChunk chunk;
  bool complete = false;
  while (reader->Read(&chunk)) {
    auto done = assembler.Add(chunk);
    ASSERT_TRUE(done.ok()) << done.status();
    complete = *done;
  }
  ASSERT_TRUE(reader->Finish().ok());
  ASSERT_TRUE(complete);
  EXPECT_EQ(assembler.version(), 2);
  EXPECT_TRUE(assembler.tensors().count("flow_head.final_proj.weight"));
  EXPECT_FALSE(assembler.tensors().count("encoder.patch_embed.weight")) << "frozen tensors are not shipped";

  // Metrics moved.
  auto body = vlarft::testing::HttpGet(learner.metrics_port, "/metrics", absl::Seconds(5));
  ASSERT_TRUE(body.ok());
  auto samples = metrics::ParsePrometheusText(*body);
  ASSERT_TRUE(samples.ok());
  EXPECT_EQ(metrics::FindSample(*samples, "vlarft_learner_policy_version"), 2.0);
  EXPECT_EQ(metrics::FindSample(*samples, "vlarft_learner_groups_duplicate_total"), 2.0);
  // The stale counter is the intake's own total (dropped on arrival or while waiting), as GetStatus says.
  EXPECT_GE(metrics::FindSample(*samples, "vlarft_learner_groups_dropped_stale_total").value_or(0), 1.0);
  EXPECT_EQ(metrics::FindSample(*samples, "vlarft_learner_groups_dropped_stale_total"),
            static_cast<double>(Status(learner).groups_dropped_stale()));
  EXPECT_TRUE(metrics::FindSample(*samples, "vlarft_learner_reward_mean").has_value());

  StopAndExpectCleanExit(learner);
}

// Attacks from the hostile-client review: each is refused or trained through, and the learner
// process keeps training afterwards.
TEST_F(LearnerProcessTest, NoSingleGroupStopsTheLearner) {
  Learner learner = Start("hostile");
  ASSERT_GT(learner.port, 0);
  v1::SubmitGroupsResponse response;
  // Finite but absurd old log-probs (the attack that used to end the process within 4 s).
  grpc::Status status = Submit(learner, {Group("huge", 1, 0, [](rl::RolloutGroupData& g) {
                                  g.old_log_probs.fill_(-1e4);
                                })}, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(status.error_message().find("old_log_probs"), std::string::npos) << status.error_message();
  // Versions from the future are refused, never counted as fresh.
  for (const int64_t version : {int64_t{1000000000000}, std::numeric_limits<int64_t>::max()}) {
    status = Submit(learner, {Group("future" + std::to_string(version), 2, version)}, &response);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION) << version;
    EXPECT_NE(status.error_message().find("newer"), std::string::npos) << status.error_message();
  }
  // Within the bound but far from the policy: the ratio is clamped, the step is finite.
  ASSERT_TRUE(Submit(learner, {Group("far1", 3, 0, [](rl::RolloutGroupData& g) { g.old_log_probs.fill_(-900); }),
                               Group("far2", 4, 0, [](rl::RolloutGroupData& g) { g.old_log_probs.fill_(900); })},
                     &response)
                  .ok());
  ASSERT_TRUE(WaitForStep(learner, 1)) << learner.process.ReadLog();
  ASSERT_TRUE(Submit(learner, {Group("n1", 5, 1), Group("n2", 6, 1)}, &response).ok());
  ASSERT_TRUE(WaitForStep(learner, 2)) << learner.process.ReadLog();
  EXPECT_TRUE(learner.process.running());
  StopAndExpectCleanExit(learner);
}

TEST_F(LearnerProcessTest, SurvivesTwoThousandMutatedSubmissions) {
  // Bounded, seeded fuzzing (tests/services/proto_mutator.h) of SubmitGroups from 4 clients; after
  // every 10th, GetStatus must answer. Then the learner still trains on good groups.
  Learner learner = Start("fuzz", {"--set", "learner.max_steps=1000"});
  ASSERT_GT(learner.port, 0);
  v1::SubmitGroupsRequest valid;
  *valid.add_groups() = Group("fuzz-a", 11);
  *valid.add_groups() = Group("fuzz-b", 12);
  std::atomic<int> status_ok{0}, unusable{0};
  std::vector<std::thread> clients;
  for (int c = 0; c < 4; ++c) {
    clients.emplace_back([&, c] {
      testing::ProtoMutator mutator(2000 + c);
      for (int i = 0; i < 500; ++i) {
        v1::SubmitGroupsRequest request = mutator.Mutate(valid);
        // Not a well-formed protobuf (invalid UTF-8 in a string): gRPC refuses it before the service.
        const bool wire_valid = testing::ProtoMutator::WireValid(request);
        v1::SubmitGroupsResponse response;
        grpc::ClientContext context;
        context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
        google::protobuf::LogSilencer quiet;
        const grpc::Status status = learner.stub->SubmitGroups(&context, request, &response);
        if (wire_valid && !status.ok() &&
            (status.error_message().empty() || status.error_code() == grpc::StatusCode::UNKNOWN)) {
          ++unusable;
        }
        if (!wire_valid && status.ok()) ++unusable;
        if (i % 10 == 9) {
          v1::LearnerStatus s;
          grpc::ClientContext status_context;
          status_context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
          if (learner.stub->GetStatus(&status_context, {}, &s).ok()) ++status_ok;
        }
      }
    });
  }
  for (std::thread& t : clients) t.join();
  EXPECT_EQ(status_ok.load(), 200);
  EXPECT_EQ(unusable.load(), 0);
  ASSERT_TRUE(learner.process.running()) << learner.process.ReadLog();
  const int64_t before = Status(learner).step();
  v1::SubmitGroupsResponse response;
  grpc::Status status;
  for (int attempt = 0; attempt < 100; ++attempt) {  // the intake may still be full of fuzzed groups
    const int64_t version = Status(learner).policy_version();
    status = Submit(learner, {Group("after-" + std::to_string(attempt) + "a", 21 + attempt, version),
                              Group("after-" + std::to_string(attempt) + "b", 221 + attempt, version)},
                    &response);
    if (status.ok()) break;
    absl::SleepFor(absl::Milliseconds(100));
  }
  ASSERT_TRUE(status.ok()) << status.error_message();
  ASSERT_TRUE(WaitForStep(learner, before + 1)) << learner.process.ReadLog();
  StopAndExpectCleanExit(learner);
}

TEST_F(LearnerProcessTest, AbandonedWeightPollsEndAndShutdownIsPrompt) {
  // The attack: long-polls for a version that never comes, abandoned by the client after a moment.
  // Each used to hold a server thread for its whole 60 s wait, and SIGTERM waited for all of them.
  Learner learner = Start("polls");
  ASSERT_GT(learner.port, 0);
  std::vector<std::thread> pollers;
  std::atomic<int> deadline_exceeded{0};
  for (int i = 0; i < 40; ++i) {
    pollers.emplace_back([&] {
      v1::GetPolicyWeightsRequest request;
      request.set_min_version(1000000);
      request.set_wait_ms(60000);
      grpc::ClientContext context;
      context.set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(500));
      auto reader = learner.stub->GetPolicyWeights(&context, request);
      v1::WeightChunk chunk;
      while (reader->Read(&chunk)) {
      }
      if (reader->Finish().error_code() == grpc::StatusCode::DEADLINE_EXCEEDED) ++deadline_exceeded;
    });
  }
  for (std::thread& t : pollers) t.join();
  EXPECT_EQ(deadline_exceeded.load(), 40);
  // The server is still responsive, and one poll still waiting at shutdown ends at once.
  EXPECT_EQ(Status(learner).step(), 0);
  std::thread waiting([&] {
    v1::GetPolicyWeightsRequest request;
    request.set_min_version(1000000);
    request.set_wait_ms(60000);
    grpc::ClientContext context;
    auto reader = learner.stub->GetPolicyWeights(&context, request);
    v1::WeightChunk chunk;
    while (reader->Read(&chunk)) {
    }
    const grpc::Status status = reader->Finish();
    EXPECT_NE(status.error_code(), grpc::StatusCode::OK);
  });
  absl::SleepFor(absl::Milliseconds(300));
  const absl::Time signalled = absl::Now();
  learner.process.Signal(SIGTERM);
  auto code = learner.process.WaitFor(absl::Seconds(30));
  waiting.join();
  ASSERT_TRUE(code.has_value());
  EXPECT_EQ(*code, 0) << learner.process.ReadLog();
  // shutdown_grace_s is 1: a stuck handler would hold the exit for the poll's 60 s.
  EXPECT_LT(absl::Now() - signalled, absl::Seconds(10)) << learner.process.ReadLog();
}

TEST_F(LearnerProcessTest, KilledLearnerResumesFromItsCheckpointWithoutDoubleCounting) {
  {
    Learner first = Start("first");
    v1::SubmitGroupsResponse response;
    ASSERT_TRUE(Submit(first, {Group("a1", 31), Group("a2", 32)}, &response).ok());
    ASSERT_TRUE(WaitForStep(first, 1));
    ASSERT_TRUE(Submit(first, {Group("b1", 33, 1), Group("b2", 34, 1)}, &response).ok());
    ASSERT_TRUE(WaitForStep(first, 2));
    // checkpoint_every = 1: step 2 is on disk once LATEST points at it.
    ASSERT_TRUE(vlarft::testing::WaitForFile(dir_ + "/ckpt/LATEST", absl::Seconds(10)).ok());
    for (int i = 0; i < 100 && *vlarft::testing::WaitForFile(dir_ + "/ckpt/LATEST", absl::Seconds(1)) != "step-2\n"; ++i) {
      absl::SleepFor(absl::Milliseconds(50));
    }
    first.process.Signal(SIGKILL);
    first.process.WaitFor(absl::Seconds(10));
  }
  Learner second = Start("second");
  v1::LearnerStatus status = Status(second);
  EXPECT_EQ(status.step(), 2);
  EXPECT_EQ(status.policy_version(), 2);
  EXPECT_EQ(status.groups_trained(), 4);
  // Groups trained before the kill are remembered: resubmission is a duplicate.
  v1::SubmitGroupsResponse response;
  ASSERT_TRUE(Submit(second, {Group("b1", 33, 1), Group("c1", 35, 2), Group("c2", 36, 2)}, &response).ok());
  EXPECT_EQ(response.duplicates(), 1);
  EXPECT_EQ(response.accepted(), 2);
  ASSERT_TRUE(WaitForStep(second, 3));
  EXPECT_EQ(Status(second).groups_trained(), 6);
}

TEST_F(LearnerProcessTest, TwoRanksTrainTogether) {
  const int store_port = [] {
    ServerOptions options;
    options.host = "127.0.0.1";
    options.metrics_port = -1;
    auto probe = ServiceServer::Start(options, {}, "probe");
    return (*probe)->port();
  }();
  const std::string store = "--set=learner.distributed.master_port=" + std::to_string(store_port);
  ChildProcess follower = *ChildProcess::Start(
      Args("rank1", {"--set", "learner.distributed.world_size=2", "--set", "learner.distributed.rank=1", store}),
      dir_ + "/rank1.log");
  Learner leader = Start("rank0", {"--set", "learner.distributed.world_size=2", "--set", "learner.distributed.rank=0",
                                   store});
  ASSERT_GT(leader.port, 0) << follower.ReadLog();
  v1::SubmitGroupsResponse response;
  ASSERT_TRUE(Submit(leader, {Group("r1", 41), Group("r2", 42)}, &response).ok());
  ASSERT_TRUE(WaitForStep(leader, 1)) << leader.process.ReadLog() << follower.ReadLog();
  leader.process.Signal(SIGTERM);
  ASSERT_TRUE(leader.process.WaitFor(absl::Seconds(30)).has_value());
  auto code = follower.WaitFor(absl::Seconds(30));
  ASSERT_TRUE(code.has_value()) << "the follower must stop when rank 0 does\n" << follower.ReadLog();
  EXPECT_EQ(*code, 0) << follower.ReadLog();
}

}  // namespace
}  // namespace vlarft::services
