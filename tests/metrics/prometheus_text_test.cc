#include "libs/metrics/prometheus_text.h"

#include <cmath>

#include "gtest/gtest.h"

namespace vlarft::metrics {
namespace {

TEST(PrometheusTextTest, ParsesSamplesLabelsAndSpecialValues) {
  const char* text =
      "# HELP vlarft_rpc_requests_total RPCs served\n"
      "# TYPE vlarft_rpc_requests_total counter\n"
      "vlarft_rpc_requests_total{service=\"sim\",method=\"Imagine\",code=\"OK\"} 42\n"
      "vlarft_queue_depth 3.5 1700000000000\n"
      "vlarft_latency_seconds_bucket{le=\"+Inf\"} 7\n"
      "weird{msg=\"a \\\"quoted\\\" value\"} NaN\n"
      "neg -Inf\n";
  auto samples = ParsePrometheusText(text);
  ASSERT_TRUE(samples.ok()) << samples.status();
  ASSERT_EQ(samples->size(), 5u);
  EXPECT_EQ((*samples)[0].name, "vlarft_rpc_requests_total");
  EXPECT_EQ((*samples)[0].labels.at("method"), "Imagine");
  EXPECT_DOUBLE_EQ((*samples)[0].value, 42);
  EXPECT_DOUBLE_EQ((*samples)[1].value, 3.5);
  EXPECT_EQ((*samples)[2].labels.at("le"), "+Inf");
  EXPECT_EQ((*samples)[3].labels.at("msg"), "a \"quoted\" value");
  EXPECT_TRUE(std::isnan((*samples)[3].value));
  EXPECT_TRUE(std::isinf((*samples)[4].value));
  EXPECT_EQ(FindSample(*samples, "vlarft_rpc_requests_total", {{"service", "sim"}}), 42);
  EXPECT_FALSE(FindSample(*samples, "vlarft_rpc_requests_total", {{"service", "reward"}}).has_value());
}

TEST(PrometheusTextTest, RejectsMalformedLinesNamingTheLine) {
  for (const char* bad : {"metric{a=\"1\" 3\n", "metric{a=1} 3\n", "metric\n", "metric abc\n",
                          "metric 1 2 3\n", "{a=\"b\"} 1\n"}) {
    auto samples = ParsePrometheusText(std::string("ok 1\n") + bad);
    ASSERT_FALSE(samples.ok()) << bad;
    EXPECT_NE(samples.status().message().find("line 2"), std::string::npos) << samples.status();
  }
}

}  // namespace
}  // namespace vlarft::metrics
