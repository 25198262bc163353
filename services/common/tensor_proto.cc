#include "services/common/tensor_proto.h"

#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "libs/core/status.h"

namespace vlarft::services {

absl::Status ToProto(const torch::Tensor& tensor, v1::Tensor* out) {
  core::DType dtype = core::DType::kInvalid;
  std::vector<int64_t> shape;
  out->Clear();
  VLARFT_RETURN_IF_ERROR(core::EncodeTensorInto(tensor, &dtype, &shape, out->mutable_data()));
  out->set_dtype(static_cast<v1::DType>(static_cast<int>(dtype)));
  out->mutable_shape()->Assign(shape.begin(), shape.end());
  return absl::OkStatus();
}

absl::StatusOr<torch::Tensor> FromProto(const v1::Tensor& proto, absl::string_view field,
                                        bool require_finite) {
  absl::StatusOr<core::DType> dtype = core::DTypeFromInt(static_cast<int>(proto.dtype()));
  if (!dtype.ok() || *dtype == core::DType::kInvalid) {
    return absl::InvalidArgumentError(
        absl::StrCat("field '", field, "': dtype ", static_cast<int>(proto.dtype()), " is not a valid dtype"));
  }
  core::DecodeOptions options;
  options.field = std::string(field);
  options.require_finite = require_finite;
  const std::vector<int64_t> shape(proto.shape().begin(), proto.shape().end());
  return core::DecodeTensor(*dtype, shape, proto.data(), options);
}

bool IsEmpty(const v1::Tensor& proto) {
  return proto.dtype() == v1::DTYPE_UNSPECIFIED && proto.shape_size() == 0 && proto.data().empty();
}

absl::StatusOr<torch::Tensor> DecodeField(const v1::Tensor& proto, absl::string_view field,
                                          const core::TensorExpectation& expected) {
  if (IsEmpty(proto)) return absl::InvalidArgumentError(absl::StrCat("field '", field, "' is required"));
  VLARFT_ASSIGN_OR_RETURN(torch::Tensor tensor, FromProto(proto, field, expected.require_finite));
  VLARFT_RETURN_IF_ERROR(core::CheckTensor(field, tensor, expected));
  return tensor;
}

}  // namespace vlarft::services
