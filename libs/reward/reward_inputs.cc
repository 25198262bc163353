#include "libs/reward/reward_inputs.h"

#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "libs/core/status.h"

namespace vlarft::reward {
namespace {

std::string ShapeOf(const torch::Tensor& t) { return absl::StrCat("[", absl::StrJoin(t.sizes(), ", "), "]"); }

std::string LeadingNames(int64_t leading_dims) { return leading_dims == 2 ? "G, T" : "T"; }

absl::Status Invalid(const std::string& field, const std::string& message) {
  return absl::InvalidArgumentError(absl::StrCat(field, ": ", message));
}

// One pass for NaN/Inf, one for the range: the message tells the caller which problem it has.
absl::Status CheckFiniteAndRange(const torch::Tensor& x, const std::string& field, bool unit_range) {
  absl::StatusOr<bool> finite = core::CatchTorchErrors(field, [&]() { return torch::isfinite(x).all().item<bool>(); });
  if (!finite.ok()) return finite.status();
  if (!*finite) return Invalid(field, "contains NaN or Inf");
  if (!unit_range) return absl::OkStatus();
  absl::StatusOr<std::pair<double, double>> range = core::CatchTorchErrors(field, [&]() {
    return std::make_pair(x.min().item<double>(), x.max().item<double>());
  });
  if (!range.ok()) return range.status();
  if (range->first < 0 || range->second > 1) {
    return Invalid(field, absl::StrCat("float pixel values must be in [0, 1], found min ", range->first, " max ",
                                       range->second));
  }
  return absl::OkStatus();
}

// Leading dims of frames, H and W, independent of the layout.
struct FrameDims {
  std::vector<int64_t> leading;
  int64_t height = 0, width = 0;
};

FrameDims DimsOf(const torch::Tensor& canonical, int64_t leading_dims) {
  FrameDims dims;
  for (int64_t i = 0; i < leading_dims; ++i) dims.leading.push_back(canonical.size(i));
  dims.height = canonical.size(leading_dims + 1);
  dims.width = canonical.size(leading_dims + 2);
  return dims;
}

}  // namespace

absl::StatusOr<torch::Tensor> ToCanonicalFrames(const torch::Tensor& frames, int64_t leading_dims,
                                                const std::string& field, torch::Device device) {
  const std::string leading = LeadingNames(leading_dims);
  const std::string expected =
      absl::StrCat("expected uint8 [", leading, ", H, W, 3] or float [", leading, ", 3, H, W]");
  if (!frames.defined()) return Invalid(field, absl::StrCat("missing; ", expected));
  const int64_t rank = leading_dims + 3;
  const bool is_uint8 = frames.scalar_type() == torch::kUInt8;
  const bool is_float = frames.scalar_type() == torch::kFloat32 || frames.scalar_type() == torch::kFloat64;
  if (!is_uint8 && !is_float) {
    return Invalid(field, absl::StrCat(expected, ", got dtype ", c10::toString(frames.scalar_type())));
  }
  const int64_t channel_dim = is_uint8 ? rank - 1 : leading_dims;
  if (frames.dim() != rank || frames.size(channel_dim) != 3) {
    return Invalid(field, absl::StrCat(expected, ", got ", c10::toString(frames.scalar_type()), " ", ShapeOf(frames)));
  }
  for (int64_t d = 0; d < rank; ++d) {
    if (frames.size(d) < 1) return Invalid(field, absl::StrCat("has an empty dimension: ", ShapeOf(frames)));
  }
  absl::StatusOr<torch::Tensor> canonical = core::CatchTorchErrors(field, [&]() -> torch::Tensor {
    torch::NoGradGuard no_grad;
    // uint8 crosses to the device before widening: a quarter of the bytes.
    torch::Tensor x = frames.to(device);
    if (is_uint8) {
      std::vector<int64_t> order;
      for (int64_t i = 0; i < leading_dims; ++i) order.push_back(i);
      order.insert(order.end(), {rank - 1, rank - 3, rank - 2});
      return x.permute(order).to(torch::kFloat32).div(255.0).contiguous();
    }
    return x.to(torch::kFloat32).contiguous();
  });
  if (!canonical.ok()) return canonical.status();
  if (is_float) {
    // Checked on the float32 values the computation sees (a float64 1 + 1e-12 that rounds to 1 is fine).
    VLARFT_RETURN_IF_ERROR(CheckFiniteAndRange(*canonical, field, /*unit_range=*/true));
  }
  return canonical;
}

absl::StatusOr<FramePair> PrepareFramePair(const torch::Tensor& frames, const torch::Tensor& reference,
                                           const std::string& frames_field, const std::string& reference_field,
                                           torch::Device device, int64_t min_size) {
  FramePair pair;
  VLARFT_ASSIGN_OR_RETURN(pair.trajectories, ToCanonicalFrames(frames, 2, frames_field, device));
  const FrameDims f = DimsOf(pair.trajectories, 2);
  if (f.height < min_size || f.width < min_size) {
    return Invalid(frames_field, absl::StrCat("frames are ", f.height, "x", f.width,
                                              ", the configured perceptual distance needs at least ", min_size,
                                              "x", min_size));
  }
  if (reference.defined() && reference.dim() != 4 && reference.dim() != 5) {
    return Invalid(reference_field,
                   absl::StrCat("expected uint8 [T, H, W, 3] or [G, T, H, W, 3], or float [T, 3, H, W] or "
                                "[G, T, 3, H, W], got ",
                                c10::toString(reference.scalar_type()), " ", ShapeOf(reference)));
  }
  // A reference of rank 4 (uint8 [T, H, W, 3] / float [T, 3, H, W]) is shared by the group.
  const bool shared = !reference.defined() || reference.dim() == 4;
  VLARFT_ASSIGN_OR_RETURN(pair.reference, ToCanonicalFrames(reference, shared ? 1 : 2, reference_field, device));
  if (shared) pair.reference = pair.reference.unsqueeze(0);
  const FrameDims r = DimsOf(pair.reference, 2);
  if (!shared && r.leading[0] != f.leading[0]) {
    return Invalid(reference_field, absl::StrCat("has ", r.leading[0], " trajectories but ", frames_field, " has G = ",
                                                 f.leading[0], " (give one shared [T, ...] reference or exactly G)"));
  }
  if (r.leading[1] != f.leading[1]) {
    return Invalid(reference_field,
                   absl::StrCat("has T = ", r.leading[1], " frames but ", frames_field, " has T = ", f.leading[1]));
  }
  if (r.height != f.height || r.width != f.width) {
    return Invalid(reference_field, absl::StrCat("frames are ", r.height, "x", r.width, " but ", frames_field,
                                                 " frames are ", f.height, "x", f.width));
  }
  return pair;
}

absl::StatusOr<ActionPair> PrepareActionPair(const torch::Tensor& actions, const torch::Tensor& reference,
                                             const std::string& actions_field, const std::string& reference_field,
                                             torch::Device device) {
  if (!actions.defined()) return Invalid(actions_field, "missing; expected float [G, T, A]");
  if (!actions.is_floating_point() || actions.dim() != 3) {
    return Invalid(actions_field, absl::StrCat("expected float [G, T, A], got ", c10::toString(actions.scalar_type()),
                                               " ", ShapeOf(actions)));
  }
  if (actions.numel() == 0) return Invalid(actions_field, absl::StrCat("has an empty dimension: ", ShapeOf(actions)));
  if (!reference.defined()) return Invalid(reference_field, "missing; expected float [T, A] or [G, T, A]");
  if (!reference.is_floating_point() || (reference.dim() != 2 && reference.dim() != 3)) {
    return Invalid(reference_field, absl::StrCat("expected float [T, A] or [G, T, A], got ",
                                                 c10::toString(reference.scalar_type()), " ", ShapeOf(reference)));
  }
  const torch::Tensor ref3 = reference.dim() == 2 ? reference.unsqueeze(0) : reference;
  if (reference.dim() == 3 && ref3.size(0) != actions.size(0)) {
    return Invalid(reference_field, absl::StrCat("has ", ref3.size(0), " chunks but ", actions_field, " has G = ",
                                                 actions.size(0), " (give one shared [T, A] reference or exactly G)"));
  }
  if (ref3.size(1) != actions.size(1) || ref3.size(2) != actions.size(2)) {
    return Invalid(reference_field, absl::StrCat("[T, A] = [", ref3.size(1), ", ", ref3.size(2), "] but ",
                                                 actions_field, " has [", actions.size(1), ", ", actions.size(2), "]"));
  }
  ActionPair pair;
  absl::Status moved = core::CatchTorchErrorsVoid(actions_field, [&]() {
    pair.actions = actions.to(device, torch::kFloat32).contiguous();
    pair.reference = ref3.to(device, torch::kFloat32).contiguous();
  });
  VLARFT_RETURN_IF_ERROR(moved);
  VLARFT_RETURN_IF_ERROR(CheckFiniteAndRange(pair.actions, actions_field, /*unit_range=*/false));
  VLARFT_RETURN_IF_ERROR(CheckFiniteAndRange(pair.reference, reference_field, /*unit_range=*/false));
  return pair;
}

}  // namespace vlarft::reward
