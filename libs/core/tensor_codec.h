// torch::Tensor <-> (dtype, shape, little-endian bytes), the representation every proto and file
// format of the project uses. Decoding treats its input as untrusted: every mismatch between the
// declared dtype/shape and the byte count, a negative dimension, an element-count overflow, or (when
// asked) a non-finite value is an INVALID_ARGUMENT naming the field.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "libs/core/dtype.h"
#include "libs/core/torch_compat.h"

namespace vlarft::core {

// A tensor in wire form. `data` holds product(shape) * ElementSize(dtype) little-endian bytes,
// row-major (C order).
struct EncodedTensor {
  DType dtype = DType::kInvalid;
  std::vector<int64_t> shape;
  std::string data;
};

// Encodes any tensor (any device, any strides) as contiguous little-endian bytes.
// Fails for dtypes outside DType.
absl::StatusOr<EncodedTensor> EncodeTensor(const torch::Tensor& tensor);

// Appends the tensor's bytes to `out` (used to fill protobuf `bytes` fields without a temporary).
absl::Status EncodeTensorInto(const torch::Tensor& tensor, DType* dtype, std::vector<int64_t>* shape,
                              std::string* out);

struct DecodeOptions {
  // Name used in error messages, e.g. "ImagineRequest.actions".
  std::string field = "tensor";
  // Reject NaN/Inf for floating-point dtypes.
  bool require_finite = false;
  // Upper bound on elements, so a hostile shape cannot make us allocate terabytes.
  int64_t max_elements = int64_t{1} << 31;
};

// Decodes into a freshly allocated CPU tensor that owns its memory (copies `bytes`).
absl::StatusOr<torch::Tensor> DecodeTensor(DType dtype, absl::Span<const int64_t> shape,
                                           absl::string_view bytes, const DecodeOptions& options = {});

// Zero-copy variant: the returned tensor aliases `bytes` and keeps `owner` alive for as long as the
// tensor (or any view of it) lives. Falls back to a copy when `bytes` is not aligned for the dtype.
// The tensor must be treated as read-only.
absl::StatusOr<torch::Tensor> DecodeTensorView(DType dtype, absl::Span<const int64_t> shape,
                                               absl::string_view bytes,
                                               std::shared_ptr<const void> owner,
                                               const DecodeOptions& options = {});

// What a validated input must look like. `shape` entries of -1 match any size.
struct TensorExpectation {
  DType dtype = DType::kInvalid;  // kInvalid: any dtype
  std::vector<int64_t> shape;     // empty: any shape
  bool require_finite = true;
  // Inclusive bounds on values (checked when set), e.g. pixels in [0, 1].
  std::optional<double> min_value;
  std::optional<double> max_value;
};

// INVALID_ARGUMENT like "field 'actions': expected shape [16, -1, 7], got [16, 8, 6]" or
// "field 'frames': contains 3 non-finite values".
absl::Status CheckTensor(absl::string_view field, const torch::Tensor& tensor,
                         const TensorExpectation& expected);

// "[16, 8, 7]"
std::string ShapeString(absl::Span<const int64_t> shape);

}  // namespace vlarft::core
