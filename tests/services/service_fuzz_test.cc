// Bounded, seeded fuzzing of the simulator (over the real world-model backend, tiny random
// models) and the reward verifier (real scorer): 2,000 mutated copies of a valid request each, from
// 4 concurrent clients, with a good request after every 10th. Nothing may crash, every good request
// must be served with the right result shape, and every refusal of a well-formed request must say
// what is wrong (a non-empty message, never UNKNOWN). Bytes that are not a well-formed protobuf
// (invalid UTF-8 in a string field) are refused by gRPC before any service code runs, with INTERNAL
// and no message — counted, and required to fail. The learner's counterpart is in
// learner_process_test.cc.
#include <atomic>
#include <map>
#include <mutex>
#include <thread>

#include "gtest/gtest.h"
#include "libs/reward/image_metrics.h"
#include "services/common/client.h"
#include "services/common/service_server.h"
#include "services/common/tensor_proto.h"
#include "services/reward/reward_service.h"
#include "services/reward/scorer_backend.h"
#include "services/simulator/engine_backend.h"
#include "services/simulator/simulator_service.h"
#include "tests/models/world_model_test_util.h"
#include "tests/services/proto_mutator.h"

namespace vlarft::services {
namespace {

constexpr int kClients = 4;
constexpr int kMutatedPerClient = 500;  // 2,000 in all
constexpr int kGoodEvery = 10;

// Tallies what the fuzzed requests got back; the good requests' failures are kept verbatim.
struct FuzzTally {
  std::mutex mu;
  std::map<grpc::StatusCode, int> codes;
  std::vector<std::string> problems;
  std::atomic<int> good_ok{0};

  int wire_invalid = 0;
  std::string longest;  // the longest refusal message, for the failure output

  // `wire_valid`: the request was a well-formed protobuf (ProtoMutator::WireValid); one that was
  // not is refused by gRPC itself (INTERNAL, empty message) before the service sees it.
  void Mutated(const grpc::Status& status, bool wire_valid) {
    std::lock_guard<std::mutex> lock(mu);
    ++codes[status.error_code()];
    if (status.error_message().size() > longest.size()) longest = status.error_message();
    if (!wire_valid) {
      ++wire_invalid;
      if (status.ok()) problems.push_back("a request that is not a well-formed protobuf was served");
      return;
    }
    if (!status.ok() && (status.error_message().empty() || status.error_code() == grpc::StatusCode::UNKNOWN)) {
      problems.push_back("refusal without a usable message: code " + std::to_string(status.error_code()) + " '" +
                         status.error_message() + "'");
    }
  }
  void Good(bool ok, const std::string& what) {
    if (ok) {
      ++good_ok;
      return;
    }
    std::lock_guard<std::mutex> lock(mu);
    problems.push_back("good request failed: " + what);
  }
  std::string Summary() {
    std::lock_guard<std::mutex> lock(mu);
    std::string s;
    for (const auto& [code, n] : codes) s += "code " + std::to_string(code) + ": " + std::to_string(n) + "\n";
    s += "not well-formed on the wire: " + std::to_string(wire_invalid) + "\n";
    s += "longest refusal (" + std::to_string(longest.size()) + " bytes): " + longest.substr(0, 300) + "\n";
    for (size_t i = 0; i < problems.size() && i < 10; ++i) s += problems[i] + "\n";
    return s;
  }
};

// A server for `service` on a free loopback port, and a channel to it.
struct Loopback {
  std::unique_ptr<ServiceServer> server;
  std::shared_ptr<grpc::Channel> channel;
};
Loopback Serve(grpc::Service* service, const std::string& name) {
  ServerOptions options;
  options.host = "127.0.0.1";
  options.metrics_port = -1;
  Loopback out;
  out.server = *ServiceServer::Start(options, {service}, name);
  ClientOptions client;
  client.target = "127.0.0.1:" + std::to_string(out.server->port());
  out.channel = *MakeChannel(client);
  return out;
}

// One unary call with a 30 s deadline: (status, response).
template <typename Stub, typename Request, typename Response>
std::pair<grpc::Status, Response> CallOnce(Stub& stub,
                                           grpc::Status (Stub::*method)(grpc::ClientContext*, const Request&, Response*),
                                           const Request& request) {
  Response response;
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  grpc::Status status = (stub.*method)(&context, request, &response);
  return {status, response};
}

template <typename Call, typename CheckGood, typename Request>
void Fuzz(const Request& valid, Call call, CheckGood good, FuzzTally& tally) {
  std::vector<std::thread> clients;
  for (int c = 0; c < kClients; ++c) {
    clients.emplace_back([&, c] {
      testing::ProtoMutator mutator(1000 + c);
      for (int i = 0; i < kMutatedPerClient; ++i) {
        const Request mutated = mutator.Mutate(valid);
        const bool wire_valid = testing::ProtoMutator::WireValid(mutated);
        google::protobuf::LogSilencer quiet;
        tally.Mutated(call(mutated).first, wire_valid);
        if (i % kGoodEvery == kGoodEvery - 1) {
          auto [status, what] = call(valid);
          tally.Good(status.ok() && good(what), status.error_message());
        }
      }
    });
  }
  for (std::thread& t : clients) t.join();
}

TEST(ServiceFuzzTest, SimulatorOverTheWorldModelBackendSurvivesMutatedRequests) {
  torch::manual_seed(5);
  models::VideoTokenizer tokenizer(models::testing::SmallTokenizerConfig());
  models::WorldModel model(models::testing::SmallWorldModelConfig(), models::testing::UnitActions());
  models::EngineLimits limits;
  limits.max_group_size = 5;
  SimulatorFacts facts;
  facts.frame_height = facts.frame_width = 16;
  facts.chunk_length = 2;
  facts.max_group_size = 4;
  facts.max_horizon = 4;  // the model's 8 frames
  facts.tokens_per_frame = 4;
  EngineBackend backend(models::ImaginationEngine::Create(tokenizer, model, limits).value(), facts, absl::Minutes(5));
  BatchSchedulerOptions batching;
  batching.max_batch_units = 16;
  batching.max_queue_delay_ms = 2;
  SimulatorServiceImpl service(&backend, batching, TokenVerifier::Disabled(), nullptr);
  Loopback loopback = Serve(&service, "simulator-fuzz");
  auto stub = v1::WorldModelSimulator::NewStub(loopback.channel);

  v1::ImagineRequest valid;
  ASSERT_TRUE(ToProto(models::testing::SyntheticFrames(1, 16, 3)[0].contiguous(), valid.mutable_context_frame()).ok());
  ASSERT_TRUE(ToProto(torch::rand({2, 2, 7}) * 0.2, valid.mutable_actions()).ok());
  ASSERT_TRUE(ToProto(torch::zeros({2, 7}), valid.mutable_reference_actions()).ok());
  valid.set_horizon(1);
  valid.mutable_sampling()->set_seed(3);

  FuzzTally tally;
  Fuzz(
      valid,
      [&](const v1::ImagineRequest& request) {
        return CallOnce(*stub, &v1::WorldModelSimulator::Stub::Imagine, request);
      },
      [](const v1::ImagineResponse& r) { return r.frames().shape_size() == 5 && r.frames().shape(0) == 2; }, tally);
  EXPECT_EQ(tally.good_ok.load(), kClients * kMutatedPerClient / kGoodEvery) << tally.Summary();
  EXPECT_TRUE(tally.problems.empty()) << tally.Summary();
  loopback.server->Shutdown();
  service.Stop();
}

TEST(ServiceFuzzTest, RewardVerifierSurvivesMutatedRequests) {
  reward::RewardConfig config;
  config.perceptual = "ssim";
  auto scorer = reward::RewardScorer::CreateWithDistance(config, reward::MakeSsimDistance());
  ASSERT_TRUE(scorer.ok()) << scorer.status();
  VerifierFacts facts;
  facts.frame_height = facts.frame_width = 16;
  facts.max_group_size = 8;
  facts.max_frames = 8;
  ScorerBackend backend(std::move(*scorer), facts);
  BatchSchedulerOptions batching;
  batching.max_batch_units = 32;
  batching.max_queue_delay_ms = 2;
  RewardServiceImpl service(&backend, batching, TokenVerifier::Disabled(), nullptr);
  Loopback loopback = Serve(&service, "reward-fuzz");
  auto stub = v1::RewardVerifier::NewStub(loopback.channel);

  v1::ScoreRequest valid;
  const torch::Tensor reference = models::testing::SyntheticFrames(4, 16, 1).contiguous();
  ASSERT_TRUE(ToProto(torch::stack({reference, torch::roll(reference, {1}, {2})}), valid.mutable_frames()).ok());
  ASSERT_TRUE(ToProto(reference, valid.mutable_reference_frames()).ok());

  FuzzTally tally;
  Fuzz(
      valid,
      [&](const v1::ScoreRequest& request) {
        return CallOnce(*stub, &v1::RewardVerifier::Stub::Score, request);
      },
      [](const v1::ScoreResponse& r) { return r.rewards_size() == 2 && r.rewards(0) == 0.0f; }, tally);
  EXPECT_EQ(tally.good_ok.load(), kClients * kMutatedPerClient / kGoodEvery) << tally.Summary();
  EXPECT_TRUE(tally.problems.empty()) << tally.Summary();
  loopback.server->Shutdown();
  service.Stop();
}

}  // namespace
}  // namespace vlarft::services
