#include "libs/core/tensor_codec.h"

#include <cstring>
#include <limits>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "libs/core/status.h"

namespace vlarft::core {

// The wire format is little-endian and we copy raw tensor memory onto it, so a big-endian host
// would silently produce garbage. Refuse to build there instead.
static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
              "vlarft tensor_codec supports little-endian hosts only");

namespace {

absl::Status FieldError(absl::string_view field, absl::string_view message) {
  return absl::InvalidArgumentError(absl::StrCat("field '", field, "': ", message));
}

bool IsFloating(DType dtype) {
  return dtype == DType::kFloat32 || dtype == DType::kFloat16 || dtype == DType::kBFloat16 ||
         dtype == DType::kFloat64;
}

// Validates dtype and shape against the byte count before anything is allocated; returns numel.
absl::StatusOr<int64_t> ValidateWireLayout(DType dtype, absl::Span<const int64_t> shape,
                                           size_t num_bytes, const DecodeOptions& options) {
  const size_t element_size = ElementSize(dtype);
  if (element_size == 0) {
    return FieldError(options.field,
                      absl::StrCat("invalid dtype (wire value ", static_cast<int>(dtype), ")"));
  }
  int64_t numel = 1;
  for (const int64_t dim : shape) {
    if (dim < 0) {
      return FieldError(options.field,
                        absl::StrCat("negative dimension ", dim, " in shape ", ShapeString(shape)));
    }
    if (__builtin_mul_overflow(numel, dim, &numel)) {
      return FieldError(options.field,
                        absl::StrCat("element count of shape ", ShapeString(shape), " overflows"));
    }
  }
  if (numel > options.max_elements) {
    return FieldError(options.field,
                      absl::StrCat("shape ", ShapeString(shape), " has ", numel,
                                   " elements, more than the limit of ", options.max_elements));
  }
  uint64_t expected_bytes = 0;
  if (__builtin_mul_overflow(static_cast<uint64_t>(numel), static_cast<uint64_t>(element_size),
                             &expected_bytes)) {
    return FieldError(options.field,
                      absl::StrCat("byte size of shape ", ShapeString(shape), " overflows"));
  }
  if (num_bytes != expected_bytes) {
    return FieldError(options.field,
                      absl::StrCat(num_bytes, " bytes do not match ", DTypeName(dtype), " shape ",
                                   ShapeString(shape), " (expected ", expected_bytes, ")"));
  }
  return numel;
}

// A torch bool must hold 0 or 1; any other byte is undefined behaviour in LibTorch kernels.
absl::Status CheckBoolBytes(absl::string_view bytes, const DecodeOptions& options) {
  for (size_t i = 0; i < bytes.size(); ++i) {
    const auto value = static_cast<uint8_t>(bytes[i]);
    if (value > 1) {
      return FieldError(options.field, absl::StrCat("bool element ", i, " has byte value ",
                                                    static_cast<int>(value), " (must be 0 or 1)"));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<int64_t> CountNonFinite(const torch::Tensor& tensor) {
  return CatchTorchErrors("counting non-finite values", [&tensor]() -> int64_t {
    return torch::logical_not(torch::isfinite(tensor)).sum().item<int64_t>();
  });
}

absl::Status CheckFinite(absl::string_view field, const torch::Tensor& tensor) {
  if (!tensor.is_floating_point() || tensor.numel() == 0) return absl::OkStatus();
  VLARFT_ASSIGN_OR_RETURN(const int64_t non_finite, CountNonFinite(tensor));
  if (non_finite > 0) {
    return FieldError(field, absl::StrCat("contains ", non_finite, " non-finite values"));
  }
  return absl::OkStatus();
}

// Checks everything about untrusted input that does not need a tensor yet.
absl::StatusOr<int64_t> ValidateInput(DType dtype, absl::Span<const int64_t> shape,
                                      absl::string_view bytes, const DecodeOptions& options) {
  VLARFT_ASSIGN_OR_RETURN(const int64_t numel,
                          ValidateWireLayout(dtype, shape, bytes.size(), options));
  if (dtype == DType::kBool) VLARFT_RETURN_IF_ERROR(CheckBoolBytes(bytes, options));
  return numel;
}

torch::TensorOptions CpuOptions(DType dtype) {
  return torch::TensorOptions().dtype(ToScalarType(dtype)).device(torch::kCPU);
}

absl::Status CheckShape(absl::string_view field, const torch::Tensor& tensor,
                        const std::vector<int64_t>& expected) {
  const auto actual = tensor.sizes();
  bool matches = actual.size() == expected.size();
  for (size_t i = 0; matches && i < expected.size(); ++i) {
    matches = expected[i] == -1 || expected[i] == actual[i];
  }
  if (matches) return absl::OkStatus();
  std::string message =
      absl::StrCat("expected shape ", ShapeString(expected), ", got ", ShapeString(actual.vec()));
  if (actual.size() != expected.size()) {
    absl::StrAppend(&message, " (rank ", actual.size(), " instead of ", expected.size(), ")");
  }
  return FieldError(field, message);
}

struct BoundViolation {
  int64_t count = 0;
  double extreme = 0.0;  // the smallest (for min) or largest (for max) value present
};

// NaNs compare false both ways, so they never count as out of bounds (finiteness is separate).
absl::StatusOr<BoundViolation> CountOutOfBounds(const torch::Tensor& tensor, double bound,
                                                bool below) {
  return CatchTorchErrors("checking value bounds", [&]() {
    // Bool has no ordering kernels everywhere; compare as uint8 (0/1).
    const torch::Tensor values =
        tensor.scalar_type() == torch::kBool ? tensor.to(torch::kUInt8) : tensor;
    const torch::Tensor mask = below ? values.lt(bound) : values.gt(bound);
    BoundViolation violation;
    violation.count = mask.sum().item<int64_t>();
    if (violation.count > 0) {
      const torch::Tensor outside = values.masked_select(mask).to(torch::kDouble);
      violation.extreme = (below ? outside.min() : outside.max()).item<double>();
    }
    return violation;
  });
}

absl::Status CheckBounds(absl::string_view field, const torch::Tensor& tensor,
                         const TensorExpectation& expected) {
  if (tensor.numel() == 0) return absl::OkStatus();
  if (expected.min_value.has_value()) {
    VLARFT_ASSIGN_OR_RETURN(const BoundViolation low,
                            CountOutOfBounds(tensor, *expected.min_value, /*below=*/true));
    if (low.count > 0) {
      return FieldError(field, absl::StrCat(low.count, " values below the minimum ",
                                            *expected.min_value, " (smallest ", low.extreme, ")"));
    }
  }
  if (expected.max_value.has_value()) {
    VLARFT_ASSIGN_OR_RETURN(const BoundViolation high,
                            CountOutOfBounds(tensor, *expected.max_value, /*below=*/false));
    if (high.count > 0) {
      return FieldError(field, absl::StrCat(high.count, " values above the maximum ",
                                            *expected.max_value, " (largest ", high.extreme, ")"));
    }
  }
  return absl::OkStatus();
}

}  // namespace

std::string ShapeString(absl::Span<const int64_t> shape) {
  // Bounded: a hostile shape of thousands of dims would make an error message too long for gRPC's
  // metadata limit (8 KiB), and the client would see "metadata size exceeds limit" instead of it.
  constexpr size_t kShown = 8;
  if (shape.size() <= kShown) return absl::StrCat("[", absl::StrJoin(shape, ", "), "]");
  return absl::StrCat("[", absl::StrJoin(shape.subspan(0, kShown), ", "), ", ... (", shape.size(), " dims)]");
}

absl::Status EncodeTensorInto(const torch::Tensor& tensor, DType* dtype,
                              std::vector<int64_t>* shape, std::string* out) {
  if (!tensor.defined()) return absl::InvalidArgumentError("cannot encode an undefined tensor");
  if (tensor.layout() != torch::kStrided) {
    return absl::InvalidArgumentError("cannot encode a sparse or otherwise non-strided tensor");
  }
  VLARFT_ASSIGN_OR_RETURN(const DType encoded_dtype, DTypeFromScalarType(tensor.scalar_type()));
  VLARFT_ASSIGN_OR_RETURN(const torch::Tensor host,
                          CatchTorchErrors("moving tensor to CPU for encoding", [&tensor]() {
                            return tensor.to(torch::kCPU).contiguous();
                          }));
  const size_t num_bytes = static_cast<size_t>(host.numel()) * ElementSize(encoded_dtype);
  // data_ptr() may be null for zero-element tensors; append nothing then.
  if (num_bytes > 0) out->append(static_cast<const char*>(host.data_ptr()), num_bytes);
  *dtype = encoded_dtype;
  *shape = host.sizes().vec();
  return absl::OkStatus();
}

absl::StatusOr<EncodedTensor> EncodeTensor(const torch::Tensor& tensor) {
  EncodedTensor encoded;
  VLARFT_RETURN_IF_ERROR(EncodeTensorInto(tensor, &encoded.dtype, &encoded.shape, &encoded.data));
  return encoded;
}

absl::StatusOr<torch::Tensor> DecodeTensor(DType dtype, absl::Span<const int64_t> shape,
                                           absl::string_view bytes, const DecodeOptions& options) {
  VLARFT_RETURN_IF_ERROR(ValidateInput(dtype, shape, bytes, options).status());
  VLARFT_ASSIGN_OR_RETURN(
      torch::Tensor tensor,
      CatchTorchErrors(absl::StrCat("field '", options.field, "': allocating"), [&]() {
        return torch::empty(c10::IntArrayRef(shape.data(), shape.size()), CpuOptions(dtype));
      }));
  if (!bytes.empty()) std::memcpy(tensor.data_ptr(), bytes.data(), bytes.size());
  if (options.require_finite && IsFloating(dtype)) {
    VLARFT_RETURN_IF_ERROR(CheckFinite(options.field, tensor));
  }
  return tensor;
}

absl::StatusOr<torch::Tensor> DecodeTensorView(DType dtype, absl::Span<const int64_t> shape,
                                               absl::string_view bytes,
                                               std::shared_ptr<const void> owner,
                                               const DecodeOptions& options) {
  VLARFT_RETURN_IF_ERROR(ValidateInput(dtype, shape, bytes, options).status());
  const auto address = reinterpret_cast<uintptr_t>(bytes.data());
  // Every supported element type's alignment equals its size. Zero-element tensors have nothing to
  // alias, so they take the (trivial) copying path as well.
  if (bytes.empty() || address % ElementSize(dtype) != 0) {
    return DecodeTensor(dtype, shape, bytes, options);
  }
  VLARFT_ASSIGN_OR_RETURN(
      torch::Tensor tensor,
      CatchTorchErrors(absl::StrCat("field '", options.field, "': wrapping bytes"), [&]() {
        // The deleter owns a reference to `owner`: the bytes live until the storage dies, however
        // many views of the tensor are made.
        return torch::from_blob(
            const_cast<char*>(bytes.data()), c10::IntArrayRef(shape.data(), shape.size()),
            [owner](void*) mutable { owner.reset(); }, CpuOptions(dtype));
      }));
  if (options.require_finite && IsFloating(dtype)) {
    VLARFT_RETURN_IF_ERROR(CheckFinite(options.field, tensor));
  }
  return tensor;
}

absl::Status CheckTensor(absl::string_view field, const torch::Tensor& tensor,
                         const TensorExpectation& expected) {
  if (!tensor.defined()) return FieldError(field, "tensor is missing (undefined)");
  if (expected.dtype != DType::kInvalid) {
    const absl::StatusOr<DType> actual = DTypeFromScalarType(tensor.scalar_type());
    if (!actual.ok() || *actual != expected.dtype) {
      return FieldError(field, absl::StrCat("expected dtype ", DTypeName(expected.dtype), ", got ",
                                            actual.ok() ? DTypeName(*actual)
                                                        : c10::toString(tensor.scalar_type())));
    }
  }
  if (!expected.shape.empty()) VLARFT_RETURN_IF_ERROR(CheckShape(field, tensor, expected.shape));
  if (expected.require_finite) VLARFT_RETURN_IF_ERROR(CheckFinite(field, tensor));
  return CheckBounds(field, tensor, expected);
}

}  // namespace vlarft::core
