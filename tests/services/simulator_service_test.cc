// The simulator's service layer (validation, batching across callers, sessions, metrics) over a
// small deterministic backend: frame k = the context frame rolled by the cumulative integer part of
// the x/y actions. The world model itself is tested in tests/models.
#include "services/simulator/simulator_service.h"

#include <atomic>
#include <set>
#include <thread>

#include "gtest/gtest.h"
#include "libs/metrics/prometheus_text.h"
#include "services/common/client.h"
#include "services/common/service_server.h"
#include "services/common/tensor_proto.h"
#include "tests/testing/child_process.h"

namespace vlarft::services {
namespace {

class RollingWorldModel : public WorldModelBackend {
 public:
  RollingWorldModel() {
    facts_.frame_height = 8;
    facts_.frame_width = 8;
    facts_.chunk_length = 2;
    facts_.max_group_size = 4;
    facts_.max_horizon = 2;
    facts_.fingerprint = "rolling-v1";
  }
  const SimulatorFacts& Facts() const override { return facts_; }
  absl::StatusOr<ImagineResults> ImagineBatch(const std::vector<const ImagineJob*>& jobs) override {
    largest_batch_ = std::max<int64_t>(largest_batch_, jobs.size());
    ImagineResults results;
    for (const ImagineJob* job : jobs) {
      ImagineResult r;
      torch::Tensor context = job->context_frame.defined() ? job->context_frame : sessions_.at(job->session_id);
      r.frames = Roll(context, job->actions);
      if (job->reference_actions.defined()) r.reference_frames = Roll(context, job->reference_actions.unsqueeze(0))[0];
      if (job->keep_session) {
        r.session_id = "s" + std::to_string(next_session_++);
        sessions_[r.session_id] = r.frames[0][-1];
      }
      r.generated_tokens = r.frames.size(0) * r.frames.size(1) * facts_.tokens_per_frame;
      results.push_back(std::move(r));
    }
    return results;
  }
  absl::Status ReleaseSession(const std::string& id) override {
    return sessions_.erase(id) ? absl::OkStatus() : absl::NotFoundError("no session " + id);
  }
  bool HasSession(const std::string& id) const override { return sessions_.count(id) > 0; }
  int64_t KvCacheBytes() const override { return 0; }
  int64_t largest_batch() const { return largest_batch_; }

  static torch::Tensor Roll(const torch::Tensor& context, const torch::Tensor& actions) {
    const torch::Tensor shifts = actions.narrow(2, 0, 2).cumsum(1).round().to(torch::kInt64);
    std::vector<torch::Tensor> groups;
    for (int64_t g = 0; g < actions.size(0); ++g) {
      std::vector<torch::Tensor> frames;
      for (int64_t t = 0; t < actions.size(1); ++t) {
        frames.push_back(torch::roll(context, {shifts[g][t][0].item<int64_t>(), shifts[g][t][1].item<int64_t>()}, {0, 1}));
      }
      groups.push_back(torch::stack(frames));
    }
    return torch::stack(groups);
  }

 private:
  SimulatorFacts facts_;
  std::map<std::string, torch::Tensor> sessions_;  // only touched by the batching thread
  int next_session_ = 0;
  int64_t largest_batch_ = 0;
};

class SimulatorServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    BatchSchedulerOptions batching;
    batching.max_batch_units = 20;
    batching.max_queue_delay_ms = 20;
    metrics_ = std::make_unique<prometheus::Registry>();
    service_ = std::make_unique<SimulatorServiceImpl>(&backend_, batching, TokenVerifier::Disabled(), metrics_.get());
    ServerOptions options;
    options.host = "127.0.0.1";
    options.metrics_port = -1;
    server_ = *ServiceServer::Start(options, {service_.get()}, "simulator-test");
    ClientOptions client;
    client.target = "127.0.0.1:" + std::to_string(server_->port());
    stub_ = v1::WorldModelSimulator::NewStub(*MakeChannel(client));
  }
  void TearDown() override {
    server_->Shutdown();
    service_->Stop();
  }

  v1::ImagineRequest Valid(int64_t group, int seed) {
    v1::ImagineRequest request;
    torch::Tensor frame = (torch::arange(8 * 8 * 3) % 251).view({8, 8, 3}).to(torch::kUInt8);
    EXPECT_TRUE(ToProto(frame, request.mutable_context_frame()).ok());
    torch::Tensor actions = torch::zeros({group, 2, 7});
    actions.select(2, 0).fill_(static_cast<float>(seed % 3));
    EXPECT_TRUE(ToProto(actions, request.mutable_actions()).ok());
    EXPECT_TRUE(ToProto(torch::ones({2, 7}), request.mutable_reference_actions()).ok());
    request.set_horizon(1);
    return request;
  }

  grpc::Status Call(const v1::ImagineRequest& request, v1::ImagineResponse* response) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    return stub_->Imagine(&context, request, response);
  }

  RollingWorldModel backend_;
  std::unique_ptr<prometheus::Registry> metrics_;
  std::unique_ptr<SimulatorServiceImpl> service_;
  std::unique_ptr<ServiceServer> server_;
  std::unique_ptr<v1::WorldModelSimulator::Stub> stub_;
};

TEST_F(SimulatorServiceTest, EightConcurrentClientsWithMixedValidAndInvalidRequests) {
  std::atomic<int> valid_ok{0}, invalid_rejected{0}, wrong{0};
  std::vector<std::thread> clients;
  for (int c = 0; c < 8; ++c) {
    clients.emplace_back([&, c] {
      for (int i = 0; i < 6; ++i) {
        v1::ImagineRequest request = Valid(1 + (c + i) % 4, c + i);
        const bool invalid = (c + i) % 3 == 0;
        if (invalid) {
          switch ((c + i) % 4) {
            case 0: request.mutable_actions()->mutable_shape()->Set(2, 6); break;         // action dims
            case 1: request.set_horizon(3); break;                                          // horizon
            case 2: request.mutable_context_frame()->mutable_shape()->Set(0, 16); break;   // frame size
            default: request.mutable_actions()->mutable_data()->replace(0, 4, "\xff\xff\xff\x7f", 4); break;  // NaN
          }
        }
        v1::ImagineResponse response;
        grpc::Status status = Call(request, &response);
        if (invalid) {
          (status.error_code() == grpc::StatusCode::INVALID_ARGUMENT ? invalid_rejected : wrong)++;
          continue;
        }
        auto frames = FromProto(response.frames(), "frames");
        auto expected_actions = FromProto(request.actions(), "actions");
        auto context = FromProto(request.context_frame(), "context");
        if (status.ok() && frames.ok() &&
            torch::equal(*frames, RollingWorldModel::Roll(*context, *expected_actions))) {
          valid_ok++;
        } else {
          wrong++;
        }
      }
    });
  }
  for (auto& t : clients) t.join();
  EXPECT_EQ(wrong.load(), 0);
  EXPECT_EQ(valid_ok.load() + invalid_rejected.load(), 48);
  EXPECT_EQ(invalid_rejected.load(), 16);
  EXPECT_GT(backend_.largest_batch(), 1) << "concurrent callers should share batches";
}

TEST_F(SimulatorServiceTest, ErrorsNameTheField) {
  v1::ImagineResponse response;
  v1::ImagineRequest request = Valid(2, 0);
  request.mutable_actions()->mutable_shape()->Set(0, 5);  // G > max_group_size (shape/bytes now disagree too)
  EXPECT_NE(Call(request, &response).error_message().find("actions"), std::string::npos);
  request = Valid(2, 0);
  request.clear_context_frame();
  grpc::Status missing = Call(request, &response);
  EXPECT_EQ(missing.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(missing.error_message().find("context_frame"), std::string::npos);
  request = Valid(2, 0);
  request.mutable_sampling()->set_top_p(1.5);
  EXPECT_NE(Call(request, &response).error_message().find("sampling.top_p"), std::string::npos);
  request = Valid(2, 0);
  request.set_expected_model_fingerprint("other");
  EXPECT_EQ(Call(request, &response).error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  request = Valid(2, 0);
  request.clear_context_frame();
  request.set_session_id("nope");
  EXPECT_EQ(Call(request, &response).error_code(), grpc::StatusCode::NOT_FOUND);
}

TEST_F(SimulatorServiceTest, EveryRpcIsRecordedOnceByTheServersInterceptor) {
  // A second server with metrics on: latency and status of every method come from one interceptor
  // (rpc_metrics_interceptor.h), including the RPCs whose handlers never recorded any.
  RollingWorldModel backend;
  SimulatorServiceImpl service(&backend, {}, TokenVerifier::Disabled(), nullptr);
  ServerOptions options;
  options.host = "127.0.0.1";
  options.metrics_host = "127.0.0.1";
  auto server = ServiceServer::Start(options, {&service}, "simulator-rank0", nullptr, "simulator");
  ASSERT_TRUE(server.ok()) << server.status();
  ClientOptions client;
  client.target = "127.0.0.1:" + std::to_string((*server)->port());
  auto channel = *MakeChannel(client);
  auto stub = v1::WorldModelSimulator::NewStub(channel);
  auto call = [&](const v1::ImagineRequest& request) {
    grpc::ClientContext context;
    v1::ImagineResponse response;
    return stub->Imagine(&context, request, &response).error_code();
  };
  EXPECT_EQ(call(Valid(2, 0)), grpc::StatusCode::OK);
  EXPECT_EQ(call(Valid(1, 1)), grpc::StatusCode::OK);
  v1::ImagineRequest bad = Valid(2, 0);
  bad.set_horizon(3);
  EXPECT_EQ(call(bad), grpc::StatusCode::INVALID_ARGUMENT);
  {
    grpc::ClientContext context;
    v1::SimulatorInfo info;
    EXPECT_TRUE(stub->GetInfo(&context, {}, &info).ok());
  }
  {
    grpc::ClientContext context;
    v1::ReleaseSessionRequest release;
    release.set_session_id("never-opened");
    v1::ReleaseSessionResponse released;
    stub->ReleaseSession(&context, release, &released);
  }
  EXPECT_TRUE(WaitForHealthy(channel, "", absl::Seconds(10)).ok());  // probes are not counted

  auto body = vlarft::testing::HttpGet((*server)->metrics_port(), "/metrics", absl::Seconds(5));
  ASSERT_TRUE(body.ok()) << body.status();
  auto samples = metrics::ParsePrometheusText(*body);
  ASSERT_TRUE(samples.ok()) << samples.status();
  auto requests = [&](const std::string& method, const std::string& code) {
    return metrics::FindSample(*samples, "vlarft_rpc_requests_total",
                               {{"service", "simulator"}, {"method", method}, {"code", code}});
  };
  EXPECT_EQ(requests("Imagine", "OK"), 2.0);
  EXPECT_EQ(requests("Imagine", "INVALID_ARGUMENT"), 1.0);
  EXPECT_EQ(requests("GetInfo", "OK"), 1.0);
  double release_calls = 0;
  int series = 0;
  for (const metrics::Sample& sample : *samples) {
    if (sample.name != "vlarft_rpc_requests_total") continue;
    ++series;
    EXPECT_EQ(sample.labels.at("service"), "simulator");
    EXPECT_NE(sample.labels.at("method"), "Check") << "health probes must not be counted";
    if (sample.labels.at("method") == "ReleaseSession") release_calls += sample.value;
  }
  EXPECT_EQ(release_calls, 1.0);
  EXPECT_EQ(series, 4);
  EXPECT_EQ(metrics::FindSample(*samples, "vlarft_rpc_latency_seconds_count",
                                {{"service", "simulator"}, {"method", "Imagine"}}),
            3.0);
  (*server)->Shutdown();
  service.Stop();
}

TEST_F(SimulatorServiceTest, SessionsContinueFromTheLastImaginedFrame) {
  v1::ImagineRequest first = Valid(1, 1);
  first.set_keep_session(true);
  v1::ImagineResponse r1;
  ASSERT_TRUE(Call(first, &r1).ok());
  ASSERT_FALSE(r1.session_id().empty());
  v1::ImagineRequest next = Valid(1, 1);
  next.clear_context_frame();
  next.set_session_id(r1.session_id());
  v1::ImagineResponse r2;
  ASSERT_TRUE(Call(next, &r2).ok());
  auto last = FromProto(r1.frames(), "f");
  auto continued = FromProto(r2.frames(), "f");
  // Rolling the last frame of chunk 1 by chunk 2's actions equals rolling the context by both.
  auto actions = FromProto(next.actions(), "a");
  EXPECT_TRUE(torch::equal(*continued, RollingWorldModel::Roll((*last)[0][-1], *actions)));
  grpc::ClientContext context;
  v1::ReleaseSessionRequest release;
  release.set_session_id(r1.session_id());
  v1::ReleaseSessionResponse released;
  EXPECT_TRUE(stub_->ReleaseSession(&context, release, &released).ok());
}

}  // namespace
}  // namespace vlarft::services
