// The reward verifier's service layer over the real scorer (SSIM perceptual term, so no model
// weights are needed): 8 concurrent clients with mixed valid and invalid requests.
#include "services/reward/reward_service.h"

#include <atomic>
#include <cmath>
#include <thread>

#include "gtest/gtest.h"
#include "libs/reward/image_metrics.h"
#include "services/common/client.h"
#include "services/common/service_server.h"
#include "services/common/tensor_proto.h"
#include "services/reward/scorer_backend.h"

namespace vlarft::services {
namespace {

class RewardServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    reward::RewardConfig config;
    config.perceptual = "ssim";
    auto scorer = reward::RewardScorer::CreateWithDistance(config, reward::MakeSsimDistance());
    ASSERT_TRUE(scorer.ok()) << scorer.status();
    VerifierFacts facts;
    facts.frame_height = facts.frame_width = 16;
    facts.max_group_size = 8;
    facts.max_frames = 8;
    backend_ = std::make_unique<ScorerBackend>(std::move(*scorer), facts);
    BatchSchedulerOptions batching;
    batching.max_batch_units = 32;
    batching.max_queue_delay_ms = 10;
    service_ = std::make_unique<RewardServiceImpl>(backend_.get(), batching, TokenVerifier::Disabled(), &registry_);
    ServerOptions options;
    options.host = "127.0.0.1";
    options.metrics_port = -1;
    server_ = *ServiceServer::Start(options, {service_.get()}, "reward-test");
    ClientOptions client;
    client.target = "127.0.0.1:" + std::to_string(server_->port());
    stub_ = v1::RewardVerifier::NewStub(*MakeChannel(client));
  }
  void TearDown() override {
    server_->Shutdown();
    service_->Stop();
  }

  // G trajectories: sample i is the reference (a bright 6x6 square on a dark table) shifted right by
  // i pixels, so more shift means less overlap and a lower reward.
  v1::ScoreRequest Request(int group) {
    torch::Tensor reference = torch::full({4, 16, 16, 3}, 40, torch::kUInt8);
    reference.narrow(1, 5, 6).narrow(2, 4, 6).fill_(220);
    std::vector<torch::Tensor> samples;
    for (int i = 0; i < group; ++i) samples.push_back(torch::roll(reference, {i}, {2}));
    v1::ScoreRequest request;
    EXPECT_TRUE(ToProto(torch::stack(samples), request.mutable_frames()).ok());
    EXPECT_TRUE(ToProto(reference, request.mutable_reference_frames()).ok());
    return request;
  }

  grpc::Status Call(const v1::ScoreRequest& request, v1::ScoreResponse* response) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    return stub_->Score(&context, request, response);
  }

  prometheus::Registry registry_;
  std::unique_ptr<ScorerBackend> backend_;
  std::unique_ptr<RewardServiceImpl> service_;
  std::unique_ptr<ServiceServer> server_;
  std::unique_ptr<v1::RewardVerifier::Stub> stub_;
};

TEST_F(RewardServiceTest, IdenticalScoresZeroAndDivergenceLowersReward) {
  v1::ScoreResponse response;
  ASSERT_TRUE(Call(Request(4), &response).ok());
  ASSERT_EQ(response.rewards_size(), 4);
  EXPECT_EQ(response.rewards(0), 0.0f);
  for (int i = 1; i < 4; ++i) EXPECT_LT(response.rewards(i), 0.0f);
  EXPECT_LT(response.rewards(3), response.rewards(1));
  EXPECT_NEAR(response.rewards(2), -(response.components(2).l1() + response.components(2).perceptual()), 1e-5);
}

TEST_F(RewardServiceTest, EightConcurrentClientsWithMixedValidAndInvalidRequests) {
  std::atomic<int> ok{0}, rejected{0}, wrong{0};
  std::vector<std::thread> clients;
  for (int c = 0; c < 8; ++c) {
    clients.emplace_back([&, c] {
      for (int i = 0; i < 5; ++i) {
        v1::ScoreRequest request = Request(2 + (c + i) % 4);
        const bool invalid = (c + i) % 2 == 1;
        if (invalid) {
          if (c % 3 == 0) request.mutable_reference_frames()->mutable_shape()->Set(0, 3);  // T mismatch
          else if (c % 3 == 1) request.mutable_frames()->set_dtype(v1::DTYPE_FLOAT32);     // dtype
          else request.mutable_frames()->mutable_shape()->Set(2, 32);                      // frame size
        }
        v1::ScoreResponse response;
        grpc::Status status = Call(request, &response);
        if (invalid) {
          (status.error_code() == grpc::StatusCode::INVALID_ARGUMENT ? rejected : wrong)++;
        } else {
          (status.ok() && response.rewards_size() == request.frames().shape(0) && response.rewards(0) == 0.0f ? ok : wrong)++;
        }
      }
    });
  }
  for (auto& t : clients) t.join();
  EXPECT_EQ(wrong.load(), 0);
  EXPECT_EQ(ok.load(), 20);
  EXPECT_EQ(rejected.load(), 20);
}

// Type-1 (action L1) requests from the hostile-client review: zero-length trajectories and actions
// whose L1 overflows float32 are refused at admission, and good requests batched with them succeed.
TEST_F(RewardServiceTest, HostileActionRequestsFailAloneAndNeverPoisonABatch) {
  auto action_request = [](int64_t group, int64_t steps, float value) {
    v1::ScoreRequest request;
    request.set_type(v1::REWARD_TYPE_ACTION_L1);
    EXPECT_TRUE(ToProto(torch::full({group, steps, 7}, value), request.mutable_actions()).ok());
    EXPECT_TRUE(ToProto(torch::zeros({steps, 7}), request.mutable_reference_actions()).ok());
    return request;
  };
  std::atomic<int> ok{0}, rejected{0}, wrong{0};
  std::vector<std::thread> clients;
  for (int c = 0; c < 8; ++c) {
    clients.emplace_back([&, c] {
      for (int i = 0; i < 10; ++i) {
        const int kind = (c + i) % 4;  // 0, 2: good; 1: zero-length; 3: overflowing values
        v1::ScoreRequest request = kind == 1   ? action_request(1, 0, 0.f)
                                   : kind == 3 ? action_request(2, 8, 3e38f)
                                               : action_request(3, 8, 0.25f);
        v1::ScoreResponse response;
        const grpc::Status status = Call(request, &response);
        if (kind % 2 == 1) {
          const bool named = status.error_message().find("'actions'") != std::string::npos;
          (status.error_code() == grpc::StatusCode::INVALID_ARGUMENT && named ? rejected : wrong)++;
        } else {
          const bool good = status.ok() && response.rewards_size() == 3 && std::isfinite(response.rewards(0)) &&
                            std::abs(response.rewards(0) + 0.25f) < 1e-5;
          (good ? ok : wrong)++;
        }
      }
    });
  }
  for (auto& t : clients) t.join();
  EXPECT_EQ(wrong.load(), 0);
  EXPECT_EQ(ok.load(), 40);
  EXPECT_EQ(rejected.load(), 40);
}

}  // namespace
}  // namespace vlarft::services
