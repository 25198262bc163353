#include "libs/core/status.h"

#include <new>
#include <stdexcept>
#include <string>

#include "absl/strings/cord.h"
#include "absl/strings/match.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "libs/core/torch_compat.h"

namespace vlarft::core {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

TEST(AnnotateTest, KeepsOkStatus) {
  EXPECT_TRUE(Annotate(absl::OkStatus(), "loading policy").ok());
}

TEST(AnnotateTest, PrefixesMessageAndKeepsCode) {
  const absl::Status status = Annotate(absl::NotFoundError("no such file"), "loading policy");
  EXPECT_EQ(status.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(status.message(), "loading policy: no such file");
}

TEST(AnnotateTest, KeepsPayloads) {
  absl::Status original = absl::InternalError("boom");
  original.SetPayload("type.example/retry", absl::Cord("later"));
  const absl::Status annotated = Annotate(original, "step 3");
  ASSERT_TRUE(annotated.GetPayload("type.example/retry").has_value());
  EXPECT_EQ(std::string(*annotated.GetPayload("type.example/retry")), "later");
}

TEST(StatusFromExceptionTest, TorchErrorBecomesInvalidArgumentWithoutBacktrace) {
  const absl::StatusOr<torch::Tensor> result = CatchTorchErrors("multiplying", [] {
    return torch::ones({2, 3}).matmul(torch::ones({2, 3}));  // inner dimensions disagree
  });
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), absl::StatusCode::kInvalidArgument);
  const std::string message(result.status().message());
  EXPECT_THAT(message, StartsWith("multiplying: "));
  EXPECT_THAT(message, Not(HasSubstr("\n")));
  EXPECT_THAT(message, Not(HasSubstr("frame #")));
  EXPECT_THAT(message, Not(HasSubstr("Exception raised from")));
}

TEST(StatusFromExceptionTest, StdExceptionBecomesInternalFirstLineOnly) {
  const absl::Status status =
      StatusFromException("parsing", std::runtime_error("bad thing\nsecond line\nthird"));
  EXPECT_EQ(status.code(), absl::StatusCode::kInternal);
  EXPECT_EQ(status.message(), "parsing: bad thing");
}

TEST(StatusFromExceptionTest, BadAllocBecomesResourceExhausted) {
  const absl::Status status = StatusFromException("allocating", std::bad_alloc());
  EXPECT_EQ(status.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(std::string(status.message()), StartsWith("allocating: "));
}

TEST(CatchTorchErrorsTest, PassesValuesThrough) {
  const absl::StatusOr<int> result = CatchTorchErrors("adding", [] { return 1 + 2; });
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(*result, 3);
}

TEST(CatchTorchErrorsTest, VoidVariant) {
  int calls = 0;
  EXPECT_TRUE(CatchTorchErrorsVoid("counting", [&calls] { ++calls; }).ok());
  EXPECT_EQ(calls, 1);
  const absl::Status status =
      CatchTorchErrorsVoid("throwing", [] { throw std::logic_error("nope"); });
  EXPECT_EQ(status.code(), absl::StatusCode::kInternal);
  EXPECT_EQ(status.message(), "throwing: nope");
}

absl::StatusOr<int> Half(int x) {
  if (x % 2 != 0) return absl::InvalidArgumentError("odd");
  return x / 2;
}

absl::StatusOr<int> Quarter(int x) {
  VLARFT_ASSIGN_OR_RETURN(const int half, Half(x));
  VLARFT_ASSIGN_OR_RETURN(const int quarter, Half(half));  // two uses in one scope
  return quarter;
}

absl::Status CheckEven(int x) {
  VLARFT_RETURN_IF_ERROR(Half(x).status());
  return absl::OkStatus();
}

TEST(StatusMacrosTest, PropagateErrorsAndValues) {
  EXPECT_EQ(*Quarter(8), 2);
  EXPECT_EQ(Quarter(6).status().message(), "odd");
  EXPECT_TRUE(CheckEven(4).ok());
  EXPECT_EQ(CheckEven(3).code(), absl::StatusCode::kInvalidArgument);
}

TEST(TorchCompatTest, VersionStringMatchesMacros) {
  const std::string version = TorchVersionString();
  EXPECT_THAT(version, StartsWith(std::to_string(TORCH_VERSION_MAJOR) + "." +
                                  std::to_string(TORCH_VERSION_MINOR) + "."));
  EXPECT_TRUE(VLARFT_TORCH_AT_LEAST(1, 13));
}

TEST(TorchCompatTest, CudaAvailableAnswers) {
  // Only checks that the query works on this build (CPU CI answers false, GPU boxes true).
  const bool available = CudaAvailable();
  if (available) {
    EXPECT_GT(torch::cuda::device_count(), 0);
  }
}

TEST(TorchCompatTest, ToStdOptional) {
  EXPECT_EQ(ToStdOptional(c10::optional<int>(3)), std::optional<int>(3));
  EXPECT_EQ(ToStdOptional(c10::optional<int>()), std::nullopt);
}

}  // namespace
}  // namespace vlarft::core
