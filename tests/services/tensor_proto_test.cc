#include "services/common/tensor_proto.h"

#include <limits>

#include "gtest/gtest.h"

namespace vlarft::services {
namespace {

TEST(TensorProtoTest, RoundTripsEveryWireDtype) {
  for (auto type : {torch::kFloat32, torch::kFloat16, torch::kBFloat16, torch::kFloat64, torch::kInt64,
                    torch::kInt32, torch::kInt16, torch::kInt8, torch::kUInt8, torch::kBool}) {
    torch::Tensor original = (torch::arange(24) % 7).reshape({2, 3, 4}).to(type);
    v1::Tensor proto;
    ASSERT_TRUE(ToProto(original, &proto).ok());
    EXPECT_EQ(proto.shape_size(), 3);
    auto decoded = FromProto(proto, "x");
    ASSERT_TRUE(decoded.ok()) << decoded.status();
    EXPECT_EQ(decoded->scalar_type(), type);
    EXPECT_TRUE(torch::equal(*decoded, original));
  }
}

TEST(TensorProtoTest, NonContiguousInputIsEncodedInLogicalOrder) {
  torch::Tensor original = torch::arange(12, torch::kFloat32).reshape({3, 4}).t();
  v1::Tensor proto;
  ASSERT_TRUE(ToProto(original, &proto).ok());
  auto decoded = FromProto(proto, "x");
  ASSERT_TRUE(decoded.ok());
  EXPECT_TRUE(torch::equal(*decoded, original));
}

TEST(TensorProtoTest, MalformedMessagesNameTheField) {
  v1::Tensor proto;
  ASSERT_TRUE(ToProto(torch::ones({2, 3}), &proto).ok());

  v1::Tensor no_dtype = proto;
  no_dtype.set_dtype(v1::DTYPE_UNSPECIFIED);
  auto s1 = FromProto(no_dtype, "ImagineRequest.actions");
  ASSERT_FALSE(s1.ok());
  EXPECT_EQ(s1.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s1.status().message().find("ImagineRequest.actions"), std::string::npos);

  v1::Tensor bad_enum = proto;
  bad_enum.set_dtype(static_cast<v1::DType>(77));
  EXPECT_FALSE(FromProto(bad_enum, "x").ok());

  v1::Tensor short_data = proto;
  short_data.mutable_data()->pop_back();
  auto s2 = FromProto(short_data, "frames");
  ASSERT_FALSE(s2.ok());
  EXPECT_NE(s2.status().message().find("frames"), std::string::npos);

  v1::Tensor negative = proto;
  negative.set_shape(0, -2);
  EXPECT_FALSE(FromProto(negative, "x").ok());

  torch::Tensor with_nan = torch::ones({2});
  with_nan[1] = std::numeric_limits<float>::quiet_NaN();
  v1::Tensor nan_proto;
  ASSERT_TRUE(ToProto(with_nan, &nan_proto).ok());
  EXPECT_FALSE(FromProto(nan_proto, "rewards").ok());
  EXPECT_TRUE(FromProto(nan_proto, "rewards", /*require_finite=*/false).ok());
}

TEST(TensorProtoTest, DecodeFieldChecksExpectationsAndPresence) {
  core::TensorExpectation expected;
  expected.dtype = core::DType::kFloat32;
  expected.shape = {-1, 8, 7};
  v1::Tensor empty;
  auto missing = DecodeField(empty, "actions", expected);
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("'actions' is required"), std::string::npos);

  v1::Tensor proto;
  ASSERT_TRUE(ToProto(torch::zeros({16, 8, 6}), &proto).ok());
  auto wrong = DecodeField(proto, "actions", expected);
  ASSERT_FALSE(wrong.ok());
  EXPECT_NE(wrong.status().message().find("actions"), std::string::npos);

  ASSERT_TRUE(ToProto(torch::zeros({16, 8, 7}), &proto).ok());
  EXPECT_TRUE(DecodeField(proto, "actions", expected).ok());
}

}  // namespace
}  // namespace vlarft::services
