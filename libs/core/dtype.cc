#include "libs/core/dtype.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "absl/types/span.h"

namespace vlarft::core {
namespace {

struct DTypeInfo {
  DType dtype;
  size_t size;
  c10::ScalarType scalar_type;
  absl::string_view name;
  absl::string_view safetensors_name;
};

// One row per supported dtype; every mapping below is a lookup in this table so they cannot drift.
absl::Span<const DTypeInfo> AllDTypes() {
  static const DTypeInfo kTable[] = {
      {DType::kFloat32, 4, c10::ScalarType::Float, "float32", "F32"},
      {DType::kFloat16, 2, c10::ScalarType::Half, "float16", "F16"},
      {DType::kBFloat16, 2, c10::ScalarType::BFloat16, "bfloat16", "BF16"},
      {DType::kFloat64, 8, c10::ScalarType::Double, "float64", "F64"},
      {DType::kInt64, 8, c10::ScalarType::Long, "int64", "I64"},
      {DType::kInt32, 4, c10::ScalarType::Int, "int32", "I32"},
      {DType::kInt16, 2, c10::ScalarType::Short, "int16", "I16"},
      {DType::kInt8, 1, c10::ScalarType::Char, "int8", "I8"},
      {DType::kUInt8, 1, c10::ScalarType::Byte, "uint8", "U8"},
      {DType::kBool, 1, c10::ScalarType::Bool, "bool", "BOOL"},
  };
  return kTable;
}

template <typename Pred>
const DTypeInfo* FindInfoIf(Pred pred) {
  for (const DTypeInfo& info : AllDTypes()) {
    if (pred(info)) return &info;
  }
  return nullptr;
}

const DTypeInfo* FindInfo(DType dtype) {
  return FindInfoIf([dtype](const DTypeInfo& info) { return info.dtype == dtype; });
}

}  // namespace

size_t ElementSize(DType dtype) {
  const DTypeInfo* info = FindInfo(dtype);
  return info == nullptr ? 0 : info->size;
}

absl::string_view DTypeName(DType dtype) {
  const DTypeInfo* info = FindInfo(dtype);
  return info == nullptr ? "invalid" : info->name;
}

absl::StatusOr<DType> DTypeFromInt(int wire_value) {
  const DTypeInfo* info = FindInfo(static_cast<DType>(wire_value));
  if (info == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat("invalid dtype value ", wire_value));
  }
  return info->dtype;
}

absl::StatusOr<DType> DTypeFromScalarType(c10::ScalarType type) {
  const DTypeInfo* info = FindInfoIf([type](const DTypeInfo& i) { return i.scalar_type == type; });
  if (info == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("unsupported tensor dtype ", c10::toString(type)));
  }
  return info->dtype;
}

c10::ScalarType ToScalarType(DType dtype) {
  const DTypeInfo* info = FindInfo(dtype);
  // Contract violation (callers validate first); Undefined makes any later torch call fail loudly.
  return info == nullptr ? c10::ScalarType::Undefined : info->scalar_type;
}

absl::string_view SafetensorsDTypeName(DType dtype) {
  const DTypeInfo* info = FindInfo(dtype);
  return info == nullptr ? "" : info->safetensors_name;
}

absl::StatusOr<DType> DTypeFromSafetensorsName(absl::string_view name) {
  const DTypeInfo* info =
      FindInfoIf([name](const DTypeInfo& i) { return i.safetensors_name == name; });
  if (info == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat("unsupported safetensors dtype '", name, "'"));
  }
  return info->dtype;
}

}  // namespace vlarft::core
