// Validation of reward inputs and their conversion, once, to the canonical layout every reward
// computation works in: float32 [..., 3, H, W] with pixels in [0, 1] on the scoring device
// (channels-first because every perceptual network is a conv net).
//
// Accepted frame layouts:
//   uint8 [..., H, W, 3]            what the simulator returns (0..255, divided by 255)
//   float32/64 [..., 3, H, W]       already in [0, 1] (finite; checked)
// Every error is INVALID_ARGUMENT and starts with the field name ("frames: ...",
// "requests[2].reference_frames: ...").
#pragma once

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "libs/core/torch_compat.h"

namespace vlarft::reward {

// `leading_dims` is how many dimensions come before the image ones (2 for [G, T, ...]).
absl::StatusOr<torch::Tensor> ToCanonicalFrames(const torch::Tensor& frames, int64_t leading_dims,
                                                const std::string& field, torch::Device device);

struct FramePair {
  torch::Tensor trajectories;  // float32 [G, T, 3, H, W]
  torch::Tensor reference;     // float32 [R, T, 3, H, W]; R = 1 (shared by the group) or R = G
};

// frames: [G, T, ...]; reference: [T, ...] (one reference for the whole group, the usual case) or
// [G, T, ...] (one per trajectory). T and H, W must agree; a [G', T, ...] reference needs G' = G.
// Frames smaller than min_size x min_size are rejected (the perceptual distance's limit).
absl::StatusOr<FramePair> PrepareFramePair(const torch::Tensor& frames, const torch::Tensor& reference,
                                           const std::string& frames_field, const std::string& reference_field,
                                           torch::Device device, int64_t min_size = 1);

struct ActionPair {
  torch::Tensor actions;    // float32 [G, T, A]
  torch::Tensor reference;  // float32 [R, T, A]; R = 1 or G
};

// actions: floating [G, T, A]; reference: [T, A] or [G, T, A]; all finite.
absl::StatusOr<ActionPair> PrepareActionPair(const torch::Tensor& actions, const torch::Tensor& reference,
                                             const std::string& actions_field, const std::string& reference_field,
                                             torch::Device device);

}  // namespace vlarft::reward
