#include "services/common/client.h"

#include <atomic>
#include <memory>
#include <thread>

#include "gtest/gtest.h"
#include "services/common/call_canceller.h"
#include "services/common/service_server.h"
#include "vlarft/v1/learner.grpc.pb.h"

namespace vlarft::services {
namespace {

// A port nothing listens on: bind a server, remember its port, shut it down.
int ClosedPort() {
  ServerOptions options;
  options.host = "127.0.0.1";
  options.metrics_port = -1;
  auto server = ServiceServer::Start(options, {}, "probe");
  EXPECT_TRUE(server.ok());
  return (*server)->port();
}

TEST(ClientTest, RetriesUnavailableThenGivesUpWithinBounds) {
  ClientOptions options;
  options.target = "127.0.0.1:" + std::to_string(ClosedPort());
  auto channel = MakeChannel(options);
  ASSERT_TRUE(channel.ok());
  auto contexts = CallContextFactory::Create(options);
  ASSERT_TRUE(contexts.ok());
  RetryPolicy policy;
  policy.max_attempts = 3;
  policy.initial_backoff = absl::Milliseconds(10);
  policy.per_attempt_timeout = absl::Milliseconds(500);
  int attempts = 0;
  const absl::Time start = absl::Now();
  absl::Status status = CallWithRetry(*contexts, policy, [&](grpc::ClientContext& context) {
    ++attempts;
    return grpc::Status(grpc::StatusCode::UNAVAILABLE, "peer down");
  });
  EXPECT_EQ(attempts, 3);
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable);
  EXPECT_NE(status.message().find("giving up"), std::string::npos);
  EXPECT_LT(absl::Now() - start, absl::Seconds(10));
}

TEST(ClientTest, NonRetryableErrorsReturnImmediately) {
  CallContextFactory contexts;
  RetryPolicy policy;
  int attempts = 0;
  absl::Status status = CallWithRetry(contexts, policy, [&](grpc::ClientContext&) {
    ++attempts;
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "field 'actions': bad");
  });
  EXPECT_EQ(attempts, 1);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(status.message(), "field 'actions': bad");
}

TEST(ClientTest, ResourceExhaustedIsRetriedOnlyWhenAsked) {
  CallContextFactory contexts;
  RetryPolicy policy;
  policy.initial_backoff = absl::Milliseconds(1);
  int attempts = 0;
  auto flaky = [&](grpc::ClientContext&) {
    return ++attempts < 3 ? grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED, "full") : grpc::Status::OK;
  };
  EXPECT_EQ(CallWithRetry(contexts, policy, flaky).code(), absl::StatusCode::kResourceExhausted);
  attempts = 0;
  policy.retry_resource_exhausted = true;
  EXPECT_TRUE(CallWithRetry(contexts, policy, flaky).ok());
  EXPECT_EQ(attempts, 3);
}

TEST(ClientTest, CancelStopsRetryingDuringBackoff) {
  CallContextFactory contexts;
  RetryPolicy policy;
  policy.max_attempts = 1000;
  policy.initial_backoff = absl::Seconds(2);  // the cancel must cut this sleep short
  policy.max_backoff = absl::Seconds(2);
  std::atomic<bool> cancel{false};
  policy.cancel = &cancel;
  int attempts = 0;
  const absl::Time start = absl::Now();
  absl::Status status = CallWithRetry(contexts, policy, [&](grpc::ClientContext&) {
    if (++attempts == 2) cancel = true;
    return grpc::Status(grpc::StatusCode::UNAVAILABLE, "peer down");
  });
  EXPECT_EQ(attempts, 2);
  EXPECT_EQ(status.code(), absl::StatusCode::kCancelled);
  EXPECT_NE(status.message().find("peer down"), std::string::npos) << status;
  // One full backoff (1-2 s) before the second attempt, none after the cancel.
  EXPECT_LT(absl::Now() - start, absl::Seconds(3));
}

TEST(CallCancellerTest, CancelAllEndsCallsInFlightAndLaterOnes) {
  ClientOptions options;
  options.target = "127.0.0.1:" + std::to_string(ClosedPort());
  auto channel = MakeChannel(options);
  ASSERT_TRUE(channel.ok());
  auto stub = v1::Learner::NewStub(*channel);
  auto waiting_context = [] {
    auto context = std::make_unique<grpc::ClientContext>();
    context->set_wait_for_ready(true);  // waits for the absent server until the deadline
    context->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
    return context;
  };
  CallCanceller canceller;
  grpc::Status in_flight;
  const absl::Time start = absl::Now();
  std::thread call([&] {
    auto context = waiting_context();
    const CallCanceller::Registration registration = canceller.Register(context.get());
    v1::LearnerStatus response;
    in_flight = stub->GetStatus(context.get(), {}, &response);
  });
  absl::SleepFor(absl::Milliseconds(300));
  canceller.CancelAll();
  call.join();
  EXPECT_EQ(in_flight.error_code(), grpc::StatusCode::CANCELLED) << in_flight.error_message();
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));
  EXPECT_TRUE(canceller.cancelled());

  auto late = waiting_context();
  const CallCanceller::Registration registration = canceller.Register(late.get());
  v1::LearnerStatus response;
  EXPECT_EQ(stub->GetStatus(late.get(), {}, &response).error_code(), grpc::StatusCode::CANCELLED);
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));
}

TEST(ClientTest, ReconnectsToAServerThatStartsLate) {
  const int port = ClosedPort();
  ClientOptions options;
  options.target = "127.0.0.1:" + std::to_string(port);
  auto channel = MakeChannel(options);
  ASSERT_TRUE(channel.ok());
  EXPECT_FALSE(CheckHealth(*channel, "", absl::Milliseconds(200)).ok());

  std::unique_ptr<ServiceServer> server;
  std::thread starter([&] {
    absl::SleepFor(absl::Milliseconds(300));
    ServerOptions server_options;
    server_options.host = "127.0.0.1";
    server_options.port = port;
    server_options.metrics_port = -1;
    auto started = ServiceServer::Start(server_options, {}, "late");
    ASSERT_TRUE(started.ok()) << started.status();
    server = std::move(*started);
  });
  absl::Status healthy = WaitForHealthy(*channel, "", absl::Seconds(15));
  starter.join();
  EXPECT_TRUE(healthy.ok()) << healthy;
}

TEST(ClientTest, TokenEnvironmentVariableMustBeSet) {
  ClientOptions options;
  options.auth_token_env = "VLARFT_CLIENT_TEST_UNSET_TOKEN";
  unsetenv("VLARFT_CLIENT_TEST_UNSET_TOKEN");
  EXPECT_EQ(CallContextFactory::Create(options).status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_FALSE(MakeChannel(ClientOptions{}).ok());
}

}  // namespace
}  // namespace vlarft::services
