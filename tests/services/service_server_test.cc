#include "services/common/service_server.h"

#include <condition_variable>
#include <cstdlib>
#include <mutex>

#include "grpcpp/generic/generic_stub.h"
#include "gtest/gtest.h"
#include "libs/metrics/prometheus_text.h"
#include "prometheus/counter.h"
#include "services/common/auth.h"
#include "services/common/client.h"
#include "tests/testing/child_process.h"

namespace vlarft::services {
namespace {

ServerOptions LoopbackOptions() {
  ServerOptions options;
  options.host = "127.0.0.1";
  options.metrics_host = "127.0.0.1";
  options.shutdown_grace_s = 1.0;
  return options;
}

std::shared_ptr<grpc::Channel> Connect(int port) {
  ClientOptions options;
  options.target = "127.0.0.1:" + std::to_string(port);
  auto channel = MakeChannel(options);
  EXPECT_TRUE(channel.ok()) << channel.status();
  return *channel;
}

TEST(ServiceServerTest, AnswersHealthServesMetricsAndShutsDownCleanly) {
  auto server = ServiceServer::Start(LoopbackOptions(), {}, "test");
  ASSERT_TRUE(server.ok()) << server.status();
  ASSERT_GT((*server)->port(), 0);
  ASSERT_GT((*server)->metrics_port(), 0);
  prometheus::BuildCounter().Name("vlarft_test_total").Help("t").Register((*server)->metrics()->registry()).Add({}).Increment(5);

  auto channel = Connect((*server)->port());
  EXPECT_TRUE(WaitForHealthy(channel, "", absl::Seconds(10)).ok());

  auto body = vlarft::testing::HttpGet((*server)->metrics_port(), "/metrics", absl::Seconds(5));
  ASSERT_TRUE(body.ok()) << body.status();
  auto samples = metrics::ParsePrometheusText(*body);
  ASSERT_TRUE(samples.ok()) << samples.status();
  EXPECT_EQ(metrics::FindSample(*samples, "vlarft_test_total"), 5.0);

  const int port = (*server)->port();
  (*server)->Shutdown();
  server->reset();
  absl::Status after = CheckHealth(Connect(port), "", absl::Milliseconds(500));
  EXPECT_FALSE(after.ok());
}

TEST(ServiceServerTest, PlaintextHealthPortServesOnlyHealth) {
  // For TLS clusters: probes that cannot do TLS ask a second, plaintext port that serves nothing
  // but grpc.health.v1 and reflection (here the main port is plaintext too; the health port is the same
  // either way).
  ServerOptions options = LoopbackOptions();
  options.health_port = 0;
  auto server = ServiceServer::Start(options, {}, "test");
  ASSERT_TRUE(server.ok()) << server.status();
  ASSERT_GT((*server)->health_port(), 0);
  EXPECT_NE((*server)->health_port(), (*server)->port());
  auto health = Connect((*server)->health_port());
  EXPECT_TRUE(WaitForHealthy(health, "", absl::Seconds(10)).ok());
  // The services of the main port are not served here.
  grpc::GenericStub generic(health);
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  grpc::Slice empty("");
  grpc::ByteBuffer request(&empty, 1), response;
  grpc::Status status;
  std::mutex mu;
  std::condition_variable done_cv;
  bool done = false;
  generic.UnaryCall(&context, "/vlarft.v1.Learner/GetStatus", {}, &request,
                    &response, [&](grpc::Status s) {
                      std::lock_guard<std::mutex> lock(mu);
                      status = s;
                      done = true;
                      done_cv.notify_one();
                    });
  {
    std::unique_lock<std::mutex> lock(mu);
    done_cv.wait(lock, [&] { return done; });
  }
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNIMPLEMENTED) << status.error_message();
  const int port = (*server)->health_port();
  (*server)->Shutdown();
  server->reset();
  EXPECT_FALSE(CheckHealth(Connect(port), "", absl::Milliseconds(500)).ok());

  options.health_port = 70000;
  EXPECT_EQ(ServiceServer::Start(options, {}, "test").status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(ServiceServerTest, BusyPortIsUnavailableAndNamesTheAddress) {
  auto first = ServiceServer::Start(LoopbackOptions(), {}, "first");
  ASSERT_TRUE(first.ok()) << first.status();
  ServerOptions options = LoopbackOptions();
  options.port = (*first)->port();
  options.metrics_port = -1;
  auto second = ServiceServer::Start(options, {}, "second");
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_NE(second.status().message().find(std::to_string(options.port)), std::string::npos);
}

TEST(ServiceServerTest, InvalidOptionsAndMissingTlsFilesAreRejected) {
  ServerOptions options = LoopbackOptions();
  options.tls_cert_file = "/nonexistent/cert.pem";
  EXPECT_EQ(ServiceServer::Start(options, {}, "t").status().code(), absl::StatusCode::kInvalidArgument);
  options.tls_key_file = "/nonexistent/key.pem";
  EXPECT_EQ(ServiceServer::Start(options, {}, "t").status().code(), absl::StatusCode::kNotFound);
  options = LoopbackOptions();
  options.port = 70000;
  EXPECT_EQ(ServiceServer::Start(options, {}, "t").status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(ServiceServerTest, MetricsCanBeDisabled) {
  ServerOptions options = LoopbackOptions();
  options.metrics_port = -1;
  auto server = ServiceServer::Start(options, {}, "quiet");
  ASSERT_TRUE(server.ok()) << server.status();
  EXPECT_EQ((*server)->metrics(), nullptr);
  EXPECT_EQ((*server)->metrics_port(), -1);
}

TEST(TokenVerifierTest, EnvironmentVariableMustExistWhenNamed) {
  EXPECT_FALSE(TokenVerifier::Disabled().enabled());
  auto disabled = TokenVerifier::FromEnvironment("");
  ASSERT_TRUE(disabled.ok());
  EXPECT_FALSE(disabled->enabled());
  unsetenv("VLARFT_TEST_TOKEN_UNSET");
  auto missing = TokenVerifier::FromEnvironment("VLARFT_TEST_TOKEN_UNSET");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("VLARFT_TEST_TOKEN_UNSET"), std::string::npos);
  setenv("VLARFT_TEST_TOKEN", "s3cret", 1);
  auto present = TokenVerifier::FromEnvironment("VLARFT_TEST_TOKEN");
  ASSERT_TRUE(present.ok());
  EXPECT_TRUE(present->enabled());
}

}  // namespace
}  // namespace vlarft::services
