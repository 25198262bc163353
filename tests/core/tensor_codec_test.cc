#include "libs/core/tensor_codec.h"

#include <cmath>
#include <cstring>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "libs/core/dtype.h"

namespace vlarft::core {
namespace {

using ::testing::HasSubstr;

const std::vector<DType>& AllDTypes() {
  static const std::vector<DType> kAll = {
      DType::kFloat32, DType::kFloat16, DType::kBFloat16, DType::kFloat64, DType::kInt64,
      DType::kInt32,   DType::kInt16,   DType::kInt8,     DType::kUInt8,   DType::kBool};
  return kAll;
}

const std::vector<DType>& FloatDTypes() {
  static const std::vector<DType> kFloats = {DType::kFloat32, DType::kFloat16, DType::kBFloat16,
                                             DType::kFloat64};
  return kFloats;
}

// Small values that every dtype represents exactly (bools are 0/1).
torch::Tensor SampleTensor(DType dtype, std::vector<int64_t> shape) {
  if (dtype == DType::kBool) return torch::randint(0, 2, shape, torch::kInt64).to(torch::kBool);
  const int64_t low = dtype == DType::kUInt8 ? 0 : -50;
  return torch::randint(low, low + 100, shape, torch::kInt64).to(ToScalarType(dtype));
}

std::string Message(const absl::Status& status) { return std::string(status.message()); }

// ---- dtype tables ----------------------------------------------------------------------------

TEST(DTypeTest, TablesAgreeWithTorch) {
  for (DType dtype : AllDTypes()) {
    SCOPED_TRACE(std::string(DTypeName(dtype)));
    const c10::ScalarType scalar_type = ToScalarType(dtype);
    EXPECT_EQ(ElementSize(dtype), c10::elementSize(scalar_type));
    EXPECT_EQ(*DTypeFromScalarType(scalar_type), dtype);
    EXPECT_EQ(*DTypeFromInt(static_cast<int>(dtype)), dtype);
    EXPECT_EQ(*DTypeFromSafetensorsName(SafetensorsDTypeName(dtype)), dtype);
  }
}

TEST(DTypeTest, Names) {
  EXPECT_EQ(DTypeName(DType::kFloat32), "float32");
  EXPECT_EQ(DTypeName(DType::kBFloat16), "bfloat16");
  EXPECT_EQ(DTypeName(DType::kInvalid), "invalid");
  EXPECT_EQ(SafetensorsDTypeName(DType::kBool), "BOOL");
  EXPECT_EQ(SafetensorsDTypeName(DType::kUInt8), "U8");
  EXPECT_EQ(SafetensorsDTypeName(DType::kBFloat16), "BF16");
  EXPECT_EQ(ElementSize(DType::kInvalid), 0u);
}

TEST(DTypeTest, RejectsUnknownValues) {
  EXPECT_FALSE(DTypeFromInt(0).ok());
  EXPECT_FALSE(DTypeFromInt(11).ok());
  EXPECT_FALSE(DTypeFromInt(-1).ok());
  EXPECT_FALSE(DTypeFromScalarType(torch::kComplexFloat).ok());
  EXPECT_FALSE(DTypeFromSafetensorsName("F8_E4M3").ok());
  EXPECT_FALSE(DTypeFromSafetensorsName("f32").ok());
  EXPECT_FALSE(DTypeFromSafetensorsName("").ok());
}

// ---- encode / decode round trips ---------------------------------------------------------------

TEST(TensorCodecTest, RoundTripsEveryDType) {
  for (DType dtype : AllDTypes()) {
    SCOPED_TRACE(std::string(DTypeName(dtype)));
    const torch::Tensor original = SampleTensor(dtype, {2, 3, 4});
    const absl::StatusOr<EncodedTensor> encoded = EncodeTensor(original);
    ASSERT_TRUE(encoded.ok()) << encoded.status();
    EXPECT_EQ(encoded->dtype, dtype);
    EXPECT_EQ(encoded->shape, (std::vector<int64_t>{2, 3, 4}));
    EXPECT_EQ(encoded->data.size(), 24 * ElementSize(dtype));
    const absl::StatusOr<torch::Tensor> decoded =
        DecodeTensor(encoded->dtype, encoded->shape, encoded->data);
    ASSERT_TRUE(decoded.ok()) << decoded.status();
    EXPECT_EQ(decoded->scalar_type(), original.scalar_type());
    EXPECT_TRUE(torch::equal(*decoded, original));
  }
}

TEST(TensorCodecTest, WireFormatIsLittleEndian) {
  const absl::StatusOr<EncodedTensor> f = EncodeTensor(torch::tensor({1.0f}));
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(f->data, std::string("\x00\x00\x80\x3f", 4));
  const absl::StatusOr<EncodedTensor> i = EncodeTensor(torch::tensor({0x01020304}, torch::kInt32));
  ASSERT_TRUE(i.ok());
  EXPECT_EQ(i->data, std::string("\x04\x03\x02\x01", 4));
}

TEST(TensorCodecTest, EncodesNonContiguousTensorsInRowMajorOrder) {
  const torch::Tensor base = torch::arange(24, torch::kFloat32).reshape({4, 6});
  const std::vector<torch::Tensor> views = {
      base.t(),                                                   // transposed
      base.slice(/*dim=*/1, /*start=*/0, /*end=*/6, /*step=*/2),  // strided
      torch::tensor({1.5f, 2.5f}).unsqueeze(0).expand({3, 2}),    // stride 0
      base.narrow(0, 1, 2),                                       // offset storage
  };
  for (const torch::Tensor& view : views) {
    const absl::StatusOr<EncodedTensor> encoded = EncodeTensor(view);
    ASSERT_TRUE(encoded.ok());
    const torch::Tensor contiguous = view.contiguous();
    ASSERT_EQ(encoded->data.size(), static_cast<size_t>(contiguous.numel()) * 4);
    EXPECT_EQ(std::memcmp(encoded->data.data(), contiguous.data_ptr(), encoded->data.size()), 0);
    EXPECT_TRUE(torch::equal(*DecodeTensor(encoded->dtype, encoded->shape, encoded->data), view));
  }
}

TEST(TensorCodecTest, ScalarAndEmptyTensors) {
  const torch::Tensor scalar = torch::tensor(3.5, torch::kFloat64);
  const absl::StatusOr<EncodedTensor> encoded_scalar = EncodeTensor(scalar);
  ASSERT_TRUE(encoded_scalar.ok());
  EXPECT_TRUE(encoded_scalar->shape.empty());
  EXPECT_EQ(encoded_scalar->data.size(), 8u);
  const absl::StatusOr<torch::Tensor> decoded_scalar =
      DecodeTensor(encoded_scalar->dtype, encoded_scalar->shape, encoded_scalar->data);
  ASSERT_TRUE(decoded_scalar.ok());
  EXPECT_EQ(decoded_scalar->dim(), 0);
  EXPECT_EQ(decoded_scalar->item<double>(), 3.5);

  const absl::StatusOr<EncodedTensor> encoded_empty = EncodeTensor(torch::empty({0, 5}));
  ASSERT_TRUE(encoded_empty.ok());
  EXPECT_TRUE(encoded_empty->data.empty());
  const absl::StatusOr<torch::Tensor> decoded_empty =
      DecodeTensor(DType::kFloat32, encoded_empty->shape, "");
  ASSERT_TRUE(decoded_empty.ok());
  EXPECT_EQ(decoded_empty->sizes().vec(), (std::vector<int64_t>{0, 5}));
}

TEST(TensorCodecTest, EncodeTensorIntoAppends) {
  std::string out = "prefix";
  DType dtype = DType::kInvalid;
  std::vector<int64_t> shape = {99};
  ASSERT_TRUE(EncodeTensorInto(torch::tensor({7, 8}, torch::kUInt8), &dtype, &shape, &out).ok());
  EXPECT_EQ(out, std::string("prefix\x07\x08"));
  EXPECT_EQ(dtype, DType::kUInt8);
  EXPECT_EQ(shape, (std::vector<int64_t>{2}));
}

TEST(TensorCodecTest, EncodeRejectsUnsupportedTensors) {
  EXPECT_EQ(EncodeTensor(torch::Tensor()).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_FALSE(EncodeTensor(torch::zeros({2}, torch::kComplexFloat)).ok());
  const torch::Tensor sparse = torch::eye(3).to_sparse();
  EXPECT_FALSE(EncodeTensor(sparse).ok());
}

TEST(TensorCodecTest, DecodedTensorOwnsACopy) {
  std::string bytes(8, '\0');
  const float values[2] = {1.0f, 2.0f};
  std::memcpy(bytes.data(), values, 8);
  const absl::StatusOr<torch::Tensor> decoded = DecodeTensor(DType::kFloat32, {2}, bytes);
  ASSERT_TRUE(decoded.ok());
  std::fill(bytes.begin(), bytes.end(), '\0');
  EXPECT_TRUE(torch::equal(*decoded, torch::tensor({1.0f, 2.0f})));
}

// ---- decode validation --------------------------------------------------------------------------

TEST(DecodeTensorTest, WrongByteCountNamesField) {
  DecodeOptions options;
  options.field = "ImagineRequest.actions";
  const absl::StatusOr<torch::Tensor> result =
      DecodeTensor(DType::kFloat32, {4, 7}, std::string(223, '\0'), options);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Message(result.status()),
            "field 'ImagineRequest.actions': 223 bytes do not match float32 shape [4, 7] "
            "(expected 112)");
  EXPECT_FALSE(DecodeTensor(DType::kFloat32, {4, 7}, std::string(113, '\0')).ok());
  EXPECT_FALSE(DecodeTensor(DType::kFloat32, {4, 7}, "").ok());
}

TEST(DecodeTensorTest, RejectsInvalidDType) {
  for (DType dtype : {DType::kInvalid, static_cast<DType>(42), static_cast<DType>(-3)}) {
    const absl::StatusOr<torch::Tensor> result = DecodeTensor(dtype, {1}, "x");
    ASSERT_FALSE(result.ok());
    EXPECT_THAT(Message(result.status()), HasSubstr("invalid dtype"));
  }
}

TEST(DecodeTensorTest, RejectsNegativeDimensions) {
  DecodeOptions options;
  options.field = "obs";
  const absl::StatusOr<torch::Tensor> result = DecodeTensor(DType::kUInt8, {2, -3}, "", options);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(Message(result.status()), "field 'obs': negative dimension -3 in shape [2, -3]");
  // -1 * -1 = 1 must not sneak through as a valid one-element tensor.
  EXPECT_FALSE(DecodeTensor(DType::kUInt8, {-1, -1}, "x").ok());
}

TEST(DecodeTensorTest, RejectsElementCountOverflow) {
  DecodeOptions options;
  options.max_elements = std::numeric_limits<int64_t>::max();
  const int64_t big = int64_t{1} << 40;
  const absl::StatusOr<torch::Tensor> result = DecodeTensor(DType::kUInt8, {big, big}, "", options);
  ASSERT_FALSE(result.ok());
  EXPECT_THAT(Message(result.status()), HasSubstr("overflows"));
  // Product wraps to exactly 0 in 64-bit arithmetic; a naive check would accept empty bytes.
  EXPECT_FALSE(DecodeTensor(DType::kUInt8, {int64_t{1} << 32, int64_t{1} << 32}, "", options).ok());
  // Elements fit in int64 but bytes do not.
  const absl::StatusOr<torch::Tensor> bytes_overflow =
      DecodeTensor(DType::kFloat64, {int64_t{1} << 61}, "", options);
  ASSERT_FALSE(bytes_overflow.ok());
  EXPECT_THAT(Message(bytes_overflow.status()), HasSubstr("overflows"));
}

TEST(DecodeTensorTest, EnforcesMaxElements) {
  DecodeOptions options;
  options.field = "frames";
  options.max_elements = 999;
  const absl::StatusOr<torch::Tensor> result =
      DecodeTensor(DType::kUInt8, {10, 100}, std::string(1000, '\0'), options);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(Message(result.status()),
            "field 'frames': shape [10, 100] has 1000 elements, more than the limit of 999");
  EXPECT_TRUE(DecodeTensor(DType::kUInt8, {999}, std::string(999, '\0'), options).ok());
  // The default limit rejects a hostile shape before looking at the (absent) bytes.
  const absl::StatusOr<torch::Tensor> hostile =
      DecodeTensor(DType::kUInt8, {(int64_t{1} << 31) + 1}, "");
  ASSERT_FALSE(hostile.ok());
  EXPECT_THAT(Message(hostile.status()), HasSubstr("more than the limit"));
}

std::string FloatBytes(DType dtype, const std::vector<double>& values) {
  return EncodeTensor(torch::tensor(values, torch::kFloat64).to(ToScalarType(dtype)))->data;
}

TEST(DecodeTensorTest, RejectsNonFiniteValuesWhenAsked) {
  const double inf = std::numeric_limits<double>::infinity();
  const double nan = std::numeric_limits<double>::quiet_NaN();
  DecodeOptions strict;
  strict.field = "actions";
  strict.require_finite = true;
  for (DType dtype : FloatDTypes()) {
    SCOPED_TRACE(std::string(DTypeName(dtype)));
    for (double bad : {nan, inf, -inf}) {
      const std::string bytes = FloatBytes(dtype, {1.0, bad, 2.0});
      const absl::StatusOr<torch::Tensor> result = DecodeTensor(dtype, {3}, bytes, strict);
      ASSERT_FALSE(result.ok());
      EXPECT_EQ(Message(result.status()), "field 'actions': contains 1 non-finite values");
      EXPECT_TRUE(DecodeTensor(dtype, {3}, bytes).ok());  // default: allowed
    }
    EXPECT_TRUE(DecodeTensor(dtype, {2}, FloatBytes(dtype, {1.0, -2.0}), strict).ok());
  }
  // Integer dtypes are finite by construction.
  EXPECT_TRUE(DecodeTensor(DType::kInt32, {1}, std::string(4, '\xff'), strict).ok());
}

TEST(DecodeTensorTest, RejectsBoolBytesOtherThanZeroOrOne) {
  EXPECT_TRUE(DecodeTensor(DType::kBool, {3}, std::string("\x00\x01\x00", 3)).ok());
  const absl::StatusOr<torch::Tensor> result =
      DecodeTensor(DType::kBool, {3}, std::string("\x00\x07\x01", 3));
  ASSERT_FALSE(result.ok());
  EXPECT_THAT(Message(result.status()), HasSubstr("byte value 7"));
}

// ---- zero-copy views ----------------------------------------------------------------------------

std::shared_ptr<std::string> MakeOwner(const torch::Tensor& tensor) {
  return std::make_shared<std::string>(EncodeTensor(tensor)->data);
}

TEST(DecodeTensorViewTest, AliasesTheBytes) {
  auto owner = MakeOwner(torch::arange(6, torch::kFloat32));
  const absl::StatusOr<torch::Tensor> view =
      DecodeTensorView(DType::kFloat32, {2, 3}, *owner, owner);
  ASSERT_TRUE(view.ok()) << view.status();
  EXPECT_EQ(view->data_ptr(), static_cast<void*>(owner->data()));
  EXPECT_TRUE(torch::equal(*view, torch::arange(6, torch::kFloat32).reshape({2, 3})));
  // Writing through the owner shows through the tensor: no copy was made.
  const float forty_two = 42.0f;
  std::memcpy(owner->data(), &forty_two, sizeof(float));
  EXPECT_EQ(view->index({0, 0}).item<float>(), 42.0f);
}

TEST(DecodeTensorViewTest, KeepsOwnerAliveAsLongAsAnyView) {
  auto owner = MakeOwner(torch::arange(8, torch::kInt64));
  std::weak_ptr<std::string> watch = owner;
  absl::StatusOr<torch::Tensor> tensor = DecodeTensorView(DType::kInt64, {8}, *owner, owner);
  ASSERT_TRUE(tensor.ok());
  owner.reset();
  EXPECT_FALSE(watch.expired());
  torch::Tensor slice = tensor->slice(0, 2, 5);
  *tensor = torch::Tensor();  // drop the original handle
  EXPECT_FALSE(watch.expired());
  EXPECT_TRUE(torch::equal(slice, torch::tensor({2, 3, 4}, torch::kInt64)));
  slice = torch::Tensor();
  EXPECT_TRUE(watch.expired());
}

TEST(DecodeTensorViewTest, CopiesWhenMisaligned) {
  const std::string payload = EncodeTensor(torch::tensor({1.5f, -2.5f, 3.0f}))->data;
  auto owner = std::make_shared<std::string>("x" + payload);  // 1-byte offset
  const absl::string_view bytes(owner->data() + 1, payload.size());
  ASSERT_NE(reinterpret_cast<uintptr_t>(bytes.data()) % alignof(float), 0u);
  std::weak_ptr<std::string> watch = owner;
  const absl::StatusOr<torch::Tensor> tensor = DecodeTensorView(DType::kFloat32, {3}, bytes, owner);
  ASSERT_TRUE(tensor.ok()) << tensor.status();
  EXPECT_NE(tensor->data_ptr(), static_cast<const void*>(bytes.data()));
  EXPECT_EQ(reinterpret_cast<uintptr_t>(tensor->data_ptr()) % alignof(float), 0u);
  EXPECT_TRUE(torch::equal(*tensor, torch::tensor({1.5f, -2.5f, 3.0f})));
  owner.reset();
  EXPECT_TRUE(watch.expired());  // a copy does not hold on to the owner
}

TEST(DecodeTensorViewTest, ValidatesLikeDecode) {
  auto owner = std::make_shared<std::string>(std::string(12, '\0'));
  DecodeOptions options;
  options.field = "view";
  const absl::StatusOr<torch::Tensor> result =
      DecodeTensorView(DType::kFloat32, {4}, *owner, owner, options);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(Message(result.status()),
            "field 'view': 12 bytes do not match float32 shape [4] (expected 16)");
  EXPECT_FALSE(DecodeTensorView(DType::kFloat32, {-3}, *owner, owner).ok());
  EXPECT_FALSE(DecodeTensorView(DType::kInvalid, {3}, *owner, owner).ok());

  options.require_finite = true;
  auto nan_owner = MakeOwner(torch::tensor({1.0f, NAN}));
  const absl::StatusOr<torch::Tensor> nan_result =
      DecodeTensorView(DType::kFloat32, {2}, *nan_owner, nan_owner, options);
  ASSERT_FALSE(nan_result.ok());
  EXPECT_THAT(Message(nan_result.status()), HasSubstr("non-finite"));
}

TEST(DecodeTensorViewTest, EmptyTensor) {
  auto owner = std::make_shared<std::string>();
  const absl::StatusOr<torch::Tensor> tensor = DecodeTensorView(DType::kFloat16, {3, 0}, "", owner);
  ASSERT_TRUE(tensor.ok());
  EXPECT_EQ(tensor->numel(), 0);
  EXPECT_EQ(tensor->scalar_type(), torch::kHalf);
}

// ---- CheckTensor ------------------------------------------------------------------------------

TEST(CheckTensorTest, AcceptsMatchingTensor) {
  TensorExpectation expected;
  expected.dtype = DType::kFloat32;
  expected.shape = {16, -1, 7};
  expected.min_value = -1.0;
  expected.max_value = 1.0;
  EXPECT_TRUE(CheckTensor("actions", torch::zeros({16, 8, 7}), expected).ok());
  EXPECT_TRUE(CheckTensor("actions", torch::zeros({16, 1, 7}), expected).ok());
  // Defaults accept any dtype and shape.
  EXPECT_TRUE(CheckTensor("anything", torch::ones({2, 2}, torch::kInt8), {}).ok());
}

TEST(CheckTensorTest, DTypeMismatch) {
  TensorExpectation expected;
  expected.dtype = DType::kUInt8;
  const absl::Status status = CheckTensor("frames", torch::zeros({2}), expected);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Message(status), "field 'frames': expected dtype uint8, got float32");
  EXPECT_THAT(Message(CheckTensor("frames", torch::zeros({2}, torch::kComplexFloat), expected)),
              HasSubstr("expected dtype uint8"));
}

TEST(CheckTensorTest, ShapeMismatch) {
  TensorExpectation expected;
  expected.shape = {16, -1, 7};
  EXPECT_EQ(Message(CheckTensor("actions", torch::zeros({16, 8, 6}), expected)),
            "field 'actions': expected shape [16, -1, 7], got [16, 8, 6]");
  EXPECT_EQ(Message(CheckTensor("actions", torch::zeros({16, 8}), expected)),
            "field 'actions': expected shape [16, -1, 7], got [16, 8] (rank 2 instead of 3)");
  EXPECT_FALSE(CheckTensor("actions", torch::zeros({16, 8, 7, 1}), expected).ok());
}

TEST(CheckTensorTest, NonFiniteValues) {
  const torch::Tensor frames = torch::tensor({1.0f, NAN, INFINITY, -INFINITY, 0.0f});
  TensorExpectation expected;
  EXPECT_EQ(Message(CheckTensor("frames", frames, expected)),
            "field 'frames': contains 3 non-finite values");
  expected.require_finite = false;
  EXPECT_TRUE(CheckTensor("frames", frames, expected).ok());
  EXPECT_FALSE(CheckTensor("half", frames.to(torch::kHalf), {}).ok());
  EXPECT_FALSE(CheckTensor("bf16", frames.to(torch::kBFloat16), {}).ok());
}

TEST(CheckTensorTest, ValueBounds) {
  TensorExpectation expected;
  expected.min_value = 0.0;
  expected.max_value = 1.0;
  EXPECT_TRUE(CheckTensor("pixels", torch::tensor({0.0f, 0.5f, 1.0f}), expected).ok());
  EXPECT_EQ(Message(CheckTensor("pixels", torch::tensor({-0.5f, 0.5f, -0.25f}), expected)),
            "field 'pixels': 2 values below the minimum 0 (smallest -0.5)");
  EXPECT_EQ(Message(CheckTensor("pixels", torch::tensor({0.5f, 3.0f}), expected)),
            "field 'pixels': 1 values above the maximum 1 (largest 3)");
  // Integer and bool tensors compare too.
  expected.max_value = 200.0;
  EXPECT_FALSE(CheckTensor("u8", torch::tensor({0, 255}, torch::kUInt8), expected).ok());
  expected.max_value = 0.0;
  EXPECT_FALSE(CheckTensor("mask", torch::tensor({false, true}), expected).ok());
  EXPECT_TRUE(CheckTensor("mask", torch::tensor({false, false}), expected).ok());
  EXPECT_TRUE(CheckTensor("empty", torch::empty({0}), expected).ok());
  // NaN is a finiteness problem, not a bounds one.
  expected.require_finite = false;
  expected.max_value = 1.0;
  EXPECT_TRUE(CheckTensor("nan", torch::tensor({NAN, 0.5f}), expected).ok());
}

TEST(CheckTensorTest, UndefinedTensor) {
  EXPECT_EQ(Message(CheckTensor("proprio", torch::Tensor(), {})),
            "field 'proprio': tensor is missing (undefined)");
}

TEST(ShapeStringTest, Formats) {
  EXPECT_EQ(ShapeString({}), "[]");
  EXPECT_EQ(ShapeString({16, 8, 7}), "[16, 8, 7]");
  // A hostile rank is cut short, so error messages stay far below gRPC's 8 KiB metadata limit.
  const std::vector<int64_t> many(5000, 1234567);
  EXPECT_EQ(ShapeString(many).substr(0, 16), "[1234567, 123456");
  EXPECT_NE(ShapeString(many).find("(5000 dims)]"), std::string::npos);
  EXPECT_LT(ShapeString(many).size(), 120u);
  EXPECT_EQ(ShapeString({-1}), "[-1]");
}

}  // namespace
}  // namespace vlarft::core
