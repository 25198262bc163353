// vlarft.v1.Tensor <-> torch::Tensor, on top of libs/core's codec (which knows nothing of protobuf,
// so libs/ stays free of RPC dependencies). Decoding validates everything and names the field.
#pragma once

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "libs/core/tensor_codec.h"
#include "vlarft/v1/tensor.pb.h"

namespace vlarft::services {

// Fills `out` (replacing its contents) with `tensor`'s dtype, shape and bytes.
absl::Status ToProto(const torch::Tensor& tensor, v1::Tensor* out);

// Decodes `proto` into a CPU tensor that owns its memory. INVALID_ARGUMENT names `field` on any
// problem: unset dtype, byte count mismatch, negative dimensions, non-finite values (if requested).
absl::StatusOr<torch::Tensor> FromProto(const v1::Tensor& proto, absl::string_view field,
                                        bool require_finite = true);

// FromProto followed by core::CheckTensor(field, tensor, expected). An empty proto (no dtype, no
// shape, no data) is reported as "field 'x' is required".
absl::StatusOr<torch::Tensor> DecodeField(const v1::Tensor& proto, absl::string_view field,
                                          const core::TensorExpectation& expected);

// True when the message carries no tensor at all (used for optional tensor fields).
bool IsEmpty(const v1::Tensor& proto);

}  // namespace vlarft::services
