#include "libs/reward/perceptual_distance.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "libs/core/status.h"

namespace vlarft::reward {
namespace {

std::string ShapeOf(const torch::Tensor& t) { return absl::StrCat("[", absl::StrJoin(t.sizes(), ", "), "]"); }

}  // namespace

absl::Status CheckUnitImages(const torch::Tensor& images, const std::string& field, int64_t min_size) {
  if (!images.defined()) return absl::InvalidArgumentError(absl::StrCat(field, ": tensor is undefined"));
  if (!images.is_floating_point()) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ": expected a floating-point tensor, got ", c10::toString(images.scalar_type())));
  }
  if (images.dim() != 4 || images.size(1) != 3) {
    return absl::InvalidArgumentError(absl::StrCat(field, ": expected [N, 3, H, W], got ", ShapeOf(images)));
  }
  if (images.size(0) < 1) return absl::InvalidArgumentError(absl::StrCat(field, ": N must be >= 1"));
  if (images.size(2) < min_size || images.size(3) < min_size) {
    return absl::InvalidArgumentError(absl::StrCat(field, ": images are ", images.size(2), "x", images.size(3),
                                                   ", this distance needs at least ", min_size, "x",
                                                   min_size));
  }
  return core::CatchTorchErrorsVoid(field, [&]() {
    torch::NoGradGuard no_grad;
    TORCH_CHECK(torch::isfinite(images).all().item<bool>(), "contains NaN or Inf");
    TORCH_CHECK(images.ge(0).logical_and(images.le(1)).all().item<bool>(), "pixel values must be in [0, 1]");
  });
}

absl::StatusOr<torch::Tensor> PerceptualDistance::Distance(const torch::Tensor& a, const torch::Tensor& b) {
  if (!a.defined()) return absl::InvalidArgumentError("a: tensor is undefined");
  if (!b.defined()) return absl::InvalidArgumentError("b: tensor is undefined");
  if (a.sizes() != b.sizes()) {
    return absl::InvalidArgumentError(absl::StrCat("b: shape ", ShapeOf(b), " differs from a's ", ShapeOf(a)));
  }
  const int64_t n = a.dim() > 0 ? a.size(0) : 0;
  return Run(a, b, torch::arange(n, torch::TensorOptions().dtype(torch::kInt64).device(a.device())), "a", "b");
}

absl::StatusOr<torch::Tensor> PerceptualDistance::DistanceToReferences(const torch::Tensor& images,
                                                                       const torch::Tensor& references,
                                                                       const torch::Tensor& reference_index) {
  return Run(images, references, reference_index, "images", "references");
}

absl::StatusOr<torch::Tensor> PerceptualDistance::Run(const torch::Tensor& images, const torch::Tensor& references,
                                                      const torch::Tensor& reference_index, const char* images_field,
                                                      const char* references_field) {
  const int64_t min_size = min_image_size();
  absl::Status status = CheckUnitImages(images, images_field, min_size);
  if (!status.ok()) return status;
  status = CheckUnitImages(references, references_field, min_size);
  if (!status.ok()) return status;
  if (references.size(2) != images.size(2) || references.size(3) != images.size(3)) {
    return absl::InvalidArgumentError(absl::StrCat(references_field, ": shape ", ShapeOf(references),
                                                   " has a different image size than ", images_field, " ",
                                                   ShapeOf(images)));
  }
  if (!reference_index.defined() || reference_index.scalar_type() != torch::kInt64 ||
      reference_index.dim() != 1 || reference_index.size(0) != images.size(0)) {
    return absl::InvalidArgumentError(
        absl::StrCat("reference_index: expected int64 [", images.size(0), "]",
                     reference_index.defined() ? absl::StrCat(", got ", c10::toString(reference_index.scalar_type()),
                                                              " ", ShapeOf(reference_index))
                                               : ""));
  }
  const std::string what = absl::StrCat("perceptual distance '", name(), "'");
  absl::StatusOr<torch::Tensor> result = core::CatchTorchErrors(what, [&]() {
    torch::NoGradGuard no_grad;
    const torch::Tensor index = reference_index.to(images.device());
    TORCH_CHECK(index.ge(0).logical_and(index.lt(references.size(0))).all().item<bool>(),
                "reference_index values must be in [0, ", references.size(0), ")");
    const torch::Tensor x = images.to(torch::kFloat32).contiguous();
    const torch::Tensor refs = references.to(torch::kFloat32).contiguous();
    torch::Tensor distance = Compute(x, refs, index).to(torch::kFloat32).reshape({-1});
    TORCH_CHECK(distance.size(0) == x.size(0), "distance returned ", distance.size(0), " values for ",
                x.size(0), " images");
    // D(x, x) = 0 by definition; see the class comment for why this is enforced explicitly.
    const torch::Tensor identical = x.eq(refs.index_select(0, index)).flatten(1).all(1);
    return torch::where(identical, torch::zeros_like(distance), distance);
  });
  if (!result.ok()) return result;
  // Valid images in, NaN out is a bug in a network or its weights, not the caller's input; a NaN
  // reward would silently poison a whole GRPO group, so stop here.
  if (!torch::isfinite(*result).all().item<bool>()) {
    return absl::InternalError(absl::StrCat(what, ": produced NaN or Inf for valid images"));
  }
  return result;
}

}  // namespace vlarft::reward
