// The element types that cross process and file boundaries, with their wire and safetensors names.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "c10/core/ScalarType.h"

namespace vlarft::core {

// Values match the `DType` enum of protos/vlarft/v1/tensor.proto; never renumber.
enum class DType : int {
  kInvalid = 0,
  kFloat32 = 1,
  kFloat16 = 2,
  kBFloat16 = 3,
  kFloat64 = 4,
  kInt64 = 5,
  kInt32 = 6,
  kInt16 = 7,
  kInt8 = 8,
  kUInt8 = 9,
  kBool = 10,
};

size_t ElementSize(DType dtype);                       // bytes per element; 0 for kInvalid
absl::string_view DTypeName(DType dtype);              // "float32", "uint8", ... for messages
absl::StatusOr<DType> DTypeFromInt(int wire_value);    // validates an untrusted enum value
absl::StatusOr<DType> DTypeFromScalarType(c10::ScalarType type);
c10::ScalarType ToScalarType(DType dtype);             // requires dtype != kInvalid
absl::string_view SafetensorsDTypeName(DType dtype);   // "F32", "U8", "BOOL", ...
absl::StatusOr<DType> DTypeFromSafetensorsName(absl::string_view name);

}  // namespace vlarft::core
