#include "libs/models/vision_stem.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "libs/models/conv_blocks.h"

namespace vlarft::models {

absl::Status VisionStemOptions::Validate(int64_t patch_size) const {
  if (channels < 0 || keypoints < 0) {
    return absl::InvalidArgumentError("encoder.stem.channels and encoder.stem.keypoints must be >= 0");
  }
  if ((film || keypoints > 0) && channels == 0) {
    return absl::InvalidArgumentError("encoder.stem.film / encoder.stem.keypoints need encoder.stem.channels > 0");
  }
  if (channels > 0 && (patch_size < 2 || (patch_size & (patch_size - 1)) != 0)) {
    return absl::InvalidArgumentError(
        absl::StrCat("encoder.stem.channels > 0 needs a power-of-two patch_size >= 2, got ", patch_size));
  }
  return absl::OkStatus();
}

VisionStemImpl::VisionStemImpl(const VisionStemOptions& options, int64_t patch_size, int64_t dim)
    : options_(options) {
  if (options_.channels == 0) {
    patch_embed = register_module(
        "patch_embed", torch::nn::Conv2d(torch::nn::Conv2dOptions(3, dim, patch_size).stride(patch_size)));
    return;
  }
  // Construction order is part of the contract: the seeded initialisation of every module after the
  // stem depends on how many random numbers the stem drew.
  convs = register_module("convs", torch::nn::ModuleList());
  if (options_.film) film = register_module("film", torch::nn::ModuleList());
  int64_t channels = 3;
  for (int64_t stride = 1; stride < patch_size; stride *= 2) {
    const int64_t out = std::min(dim, options_.channels * stride);
    convs->push_back(torch::nn::Conv2d(torch::nn::Conv2dOptions(channels, out, 3).stride(2).padding(1)));
    if (film) {
      // Zero-initialised: training starts from the unconditioned stem.
      torch::nn::Linear stage_film(dim, 2 * out);
      torch::NoGradGuard no_grad;
      stage_film->weight.zero_();
      stage_film->bias.zero_();
      film->push_back(stage_film);
    }
    channels = out;
  }
  convs->push_back(torch::nn::Conv2d(torch::nn::Conv2dOptions(channels, dim, 1)));
  if (options_.keypoints > 0) {
    // The stride-4 features (or the only stage): fine enough for sub-pixel expected coordinates.
    const size_t stages = convs->size() - 1;
    keypoint_stage_ = stages >= 2 ? 1 : 0;
    const int64_t stage_channels = std::min(dim, options_.channels << keypoint_stage_);
    keypoint_maps = register_module(
        "keypoint_maps", torch::nn::Conv2d(torch::nn::Conv2dOptions(stage_channels, options_.keypoints, 1)));
    keypoint_proj = register_module("keypoint_proj", torch::nn::Linear(2 * options_.keypoints, dim));
  }
}

VisionStemOutput VisionStemImpl::forward(const torch::Tensor& frames, const torch::Tensor& instruction) {
  if (patch_embed) return {patch_embed(frames), {}};
  torch::Tensor x = frames, keypoint_xy;
  const size_t stages = convs->size() - 1;
  for (size_t i = 0; i < stages; ++i) {
    x = convs[i]->as<torch::nn::Conv2d>()->forward(x);
    if (film) {
      const torch::Tensor gamma_beta = film[i]->as<torch::nn::Linear>()->forward(instruction);
      const auto parts = gamma_beta.unsqueeze(-1).unsqueeze(-1).chunk(2, 1);
      x = x * (1 + parts[0]) + parts[1];
    }
    x = torch::silu(x);
    if (keypoint_maps && i == keypoint_stage_) {
      keypoint_xy = SpatialSoftmaxCoordinates(keypoint_maps(x).to(torch::kFloat32));
    }
  }
  VisionStemOutput out;
  out.grid = convs[stages]->as<torch::nn::Conv2d>()->forward(x);
  // In the grid's dtype (bf16 under autocast), as the tokens it joins.
  if (keypoint_xy.defined()) out.keypoint_token = keypoint_proj(keypoint_xy.to(out.grid.scalar_type())).unsqueeze(1);
  return out;
}

}  // namespace vlarft::models
