#include "libs/metrics/metrics_endpoint.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "libs/metrics/prometheus_text.h"
#include "libs/metrics/rpc_metrics.h"
#include "tests/testing/child_process.h"

namespace vlarft::metrics {
namespace {

TEST(MetricsEndpointTest, ServesRegisteredRpcMetricsOverHttp) {
  auto endpoint = MetricsEndpoint::Start("127.0.0.1", 0);
  ASSERT_TRUE(endpoint.ok()) << endpoint.status();
  ASSERT_GT((*endpoint)->port(), 0);
  RpcMetrics rpc((*endpoint)->registry(), "simulator");
  rpc.Record("Imagine", "OK", 0.004);
  rpc.Record("Imagine", "OK", 0.5);
  rpc.Record("Imagine", "INVALID_ARGUMENT", 0.0);

  auto body = vlarft::testing::HttpGet((*endpoint)->port(), "/metrics", absl::Seconds(5));
  ASSERT_TRUE(body.ok()) << body.status();
  auto samples = ParsePrometheusText(*body);
  ASSERT_TRUE(samples.ok()) << samples.status();
  EXPECT_EQ(FindSample(*samples, "vlarft_rpc_requests_total",
                       {{"service", "simulator"}, {"method", "Imagine"}, {"code", "OK"}}),
            2.0);
  EXPECT_EQ(FindSample(*samples, "vlarft_rpc_requests_total", {{"code", "INVALID_ARGUMENT"}}), 1.0);
  EXPECT_EQ(FindSample(*samples, "vlarft_rpc_latency_seconds_count", {{"method", "Imagine"}}), 3.0);
  EXPECT_EQ(FindSample(*samples, "vlarft_rpc_latency_seconds_bucket", {{"le", "+Inf"}}), 3.0);
  // 0.004 s and 0 s fall in the buckets up to 8 ms; 0.5 s does not.
  int checked = 0;
  for (const Sample& s : *samples) {
    if (s.name != "vlarft_rpc_latency_seconds_bucket" || s.labels.at("le") == "+Inf") continue;
    const double le = std::stod(s.labels.at("le"));
    if (le > 0.0075 && le < 0.0085) {
      EXPECT_EQ(s.value, 2.0);
      ++checked;
    }
    if (le > 0.5) {
      EXPECT_EQ(s.value, 3.0) << "le=" << le;
    }
  }
  EXPECT_EQ(checked, 1);
}

TEST(MetricsEndpointTest, BusyPortIsAClearError) {
  auto first = MetricsEndpoint::Start("127.0.0.1", 0);
  ASSERT_TRUE(first.ok()) << first.status();
  auto second = MetricsEndpoint::Start("127.0.0.1", (*first)->port());
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_NE(second.status().message().find(std::to_string((*first)->port())), std::string::npos);
}

TEST(MetricsEndpointTest, IdleConnectionsDoNotStarveTheScraper) {
  // The attack: a few TCP connections that never send a request. A scrape must still be answered.
  auto endpoint = MetricsEndpoint::Start("127.0.0.1", 0);
  ASSERT_TRUE(endpoint.ok()) << endpoint.status();
  std::vector<int> idle;
  // More of them than the server has threads: the request timeout, not the pool, must free them.
  for (int i = 0; i < 12; ++i) {
    const int fd = socket(AF_INET, SOCK_STREAM, 0);
    ASSERT_GE(fd, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(static_cast<uint16_t>((*endpoint)->port()));
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
    idle.push_back(fd);
  }
  absl::SleepFor(absl::Milliseconds(100));
  auto body = vlarft::testing::HttpGet((*endpoint)->port(), "/metrics", absl::Seconds(5));
  EXPECT_TRUE(body.ok()) << body.status();
  for (const int fd : idle) close(fd);
}

TEST(MetricsEndpointTest, BucketsAreIncreasing) {
  const auto latency = LatencyBuckets();
  ASSERT_GT(latency.size(), 10u);
  for (size_t i = 1; i < latency.size(); ++i) EXPECT_GT(latency[i], latency[i - 1]);
  const auto sizes = PowerOfTwoBuckets(17);
  EXPECT_EQ(sizes.front(), 1);
  EXPECT_EQ(sizes.back(), 32);
}

}  // namespace
}  // namespace vlarft::metrics
