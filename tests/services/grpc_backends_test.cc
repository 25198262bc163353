// The rollout worker's gRPC adapters (services/rollout/grpc_backends.h) without a server: the
// simulator request carries the group's sampling settings, a failing call fails the chunk with the
// call's status, and a setting the service cannot honour (expected codes) is refused before any call.
#include "services/rollout/grpc_backends.h"

#include "gtest/gtest.h"

namespace vlarft::services {
namespace {

rollout::Prompt SmallPrompt() {
  rollout::Prompt prompt;
  prompt.frame = torch::zeros({8, 8, 3}, torch::kUInt8);
  prompt.task = "task";
  return prompt;
}

TEST(GrpcImaginerTest, SendsTheSamplingSettingsAndPassesTheCallsErrorOn) {
  v1::ImagineRequest seen;
  int calls = 0;
  GrpcImaginer imaginer([&](const v1::ImagineRequest& request, v1::ImagineResponse*) {
    seen = request;
    ++calls;
    return absl::UnavailableError("simulator down");
  });
  rollout::ImagineSettings settings;
  settings.group_size = 2;
  settings.top_k = 1;
  settings.temperature = 0.5;
  settings.request_id = "g7";
  auto session = imaginer.Start(SmallPrompt(), settings);
  ASSERT_TRUE(session.ok()) << session.status();
  auto chunk = (*session)->Next(torch::zeros({2, 3, 7}), torch::zeros({3, 7}));
  ASSERT_FALSE(chunk.ok());
  EXPECT_EQ(chunk.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(seen.sampling().top_k(), 1);
  EXPECT_FLOAT_EQ(seen.sampling().temperature(), 0.5f);
  EXPECT_EQ(seen.request_id(), "g7/0");
  EXPECT_EQ(seen.prompt().task(), "task");
}

TEST(GrpcImaginerTest, RefusesExpectedCodesWithoutCallingTheService) {
  int calls = 0;
  GrpcImaginer imaginer([&](const v1::ImagineRequest&, v1::ImagineResponse*) {
    ++calls;
    return absl::OkStatus();
  });
  rollout::ImagineSettings settings;
  settings.expected_codes = true;
  auto session = imaginer.Start(SmallPrompt(), settings);
  ASSERT_FALSE(session.ok());
  EXPECT_EQ(session.status().code(), absl::StatusCode::kUnimplemented);
  EXPECT_NE(session.status().message().find("expected codes"), std::string::npos) << session.status();
  EXPECT_EQ(calls, 0);
}

}  // namespace
}  // namespace vlarft::services
