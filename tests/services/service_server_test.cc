#include "services/common/service_server.h"

#include <condition_variable>
#include <cstdlib>
#include <filesystem>
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

// Calls `method` through the generic stub with a `bytes`-long body and the given token (empty: none).
grpc::Status GenericCall(const std::shared_ptr<grpc::Channel>& channel, const std::string& method, size_t bytes,
                         const std::string& token) {
  grpc::GenericStub generic(channel);
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
  if (!token.empty()) context.AddMetadata("authorization", "Bearer " + token);
  const std::string body(bytes, 'x');
  grpc::Slice slice(body);
  grpc::ByteBuffer request(&slice, 1), response;
  grpc::Status status;
  std::mutex mu;
  std::condition_variable done_cv;
  bool done = false;
  generic.UnaryCall(&context, method, {}, &request, &response, [&](grpc::Status s) {
    std::lock_guard<std::mutex> lock(mu);
    status = s;
    done = true;
    done_cv.notify_one();
  });
  std::unique_lock<std::mutex> lock(mu);
  done_cv.wait(lock, [&] { return done; });
  return status;
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
  const grpc::Status status = GenericCall(health, "/vlarft.v1.Learner/GetStatus", 0, "");
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNIMPLEMENTED) << status.error_message();
  const int port = (*server)->health_port();
  (*server)->Shutdown();
  server->reset();
  EXPECT_FALSE(CheckHealth(Connect(port), "", absl::Milliseconds(500)).ok());

  options.health_port = 70000;
  EXPECT_EQ(ServiceServer::Start(options, {}, "test").status().code(), absl::StatusCode::kInvalidArgument);
}

// On a TLS port the shared token is checked on the call's headers, before the body is read and
// before the call reaches any handler: an unauthenticated call is UNAUTHENTICATED even for a method
// that does not exist (the handler stage would say UNIMPLEMENTED) and even with a 64 MiB body.
// Health checks pass without the token.
TEST(ServiceServerTest, TlsPortChecksTheTokenBeforeTheBody) {
  const std::string dir = ::testing::TempDir() + "/vlarft_tls_auth";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  const std::string make_cert = "openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=localhost "
                                "-addext subjectAltName=IP:127.0.0.1 -keyout " + dir + "/key.pem -out " + dir +
                                "/cert.pem >/dev/null 2>&1";
  if (std::system(make_cert.c_str()) != 0) GTEST_SKIP() << "no openssl command to make a test certificate";
  setenv("VLARFT_TEST_TLS_TOKEN", "s3cret", 1);
  ServerOptions options = LoopbackOptions();
  options.tls_cert_file = dir + "/cert.pem";
  options.tls_key_file = dir + "/key.pem";
  options.auth_token_env = "VLARFT_TEST_TLS_TOKEN";
  auto server = ServiceServer::Start(options, {}, "test");
  ASSERT_TRUE(server.ok()) << server.status();
  ClientOptions client;
  client.target = "127.0.0.1:" + std::to_string((*server)->port());
  client.tls_ca_file = dir + "/cert.pem";
  auto channel = MakeChannel(client);
  ASSERT_TRUE(channel.ok()) << channel.status();
  EXPECT_TRUE(WaitForHealthy(*channel, "", absl::Seconds(10)).ok());  // no token needed

  const std::string method = "/vlarft.v1.Learner/GetStatus";  // not registered on this server
  grpc::Status anonymous = GenericCall(*channel, method, 16, "");
  EXPECT_EQ(anonymous.error_code(), grpc::StatusCode::UNAUTHENTICATED) << anonymous.error_message();
  grpc::Status wrong = GenericCall(*channel, method, 16, "guess");
  EXPECT_EQ(wrong.error_code(), grpc::StatusCode::UNAUTHENTICATED) << wrong.error_message();
  grpc::Status big = GenericCall(*channel, method, 64 << 20, "");
  EXPECT_EQ(big.error_code(), grpc::StatusCode::UNAUTHENTICATED) << big.error_message();
  grpc::Status authorized = GenericCall(*channel, method, 16, "s3cret");
  EXPECT_EQ(authorized.error_code(), grpc::StatusCode::UNIMPLEMENTED) << authorized.error_message();
  unsetenv("VLARFT_TEST_TLS_TOKEN");
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
