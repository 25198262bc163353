// Perturbations of an action chunk (a short sequence of 7-D actions), for studies of how rewards
// rank good and bad chunks (studies/reward_study.h). Unlike perturbation.h (which moves the
// initial scene), these corrupt what a policy would do:
//
//   none               the chunk unchanged
//   gauss:σ            Δxyz += σ·N(0, 1) per step and axis, clipped to [-1, 1]   (imprecision)
//   scale:s            Δxyz ← s·Δxyz: 0.5 slow, 0 freeze, −1 wrong direction   (timing/direction)
//   drift:m            Δxyz += m·u for one random unit vector u, clipped          (systematic bias)
//   gripper_flip:k     the gripper command of the last k steps inverted           (grasp errors)
//   rotation:σ         Δroll/pitch/yaw += σ·N(0, 1): the simulator ignores these dimensions, so
//                      this changes the numbers and nothing else
// Names read "kind:magnitude"; "none" has no magnitude.
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "libs/tabletop/env.h"
#include "libs/tabletop/random.h"

namespace vlarft::tabletop {

enum class ChunkPerturbationKind { kNone, kGauss, kScale, kDrift, kGripperFlip, kRotation };

struct ChunkPerturbation {
  ChunkPerturbationKind kind = ChunkPerturbationKind::kNone;
  double magnitude = 0;
  std::string Name() const;  // the syntax ParseChunkPerturbation reads, e.g. "gauss:0.25"
  // The family without the magnitude ("gauss").
  std::string KindName() const;
};

// INVALID_ARGUMENT naming the bad part: unknown kind, missing/non-numeric magnitude, negative σ,
// gripper_flip steps that are not a positive integer.
absl::StatusOr<ChunkPerturbation> ParseChunkPerturbation(const std::string& name);

// The default set of a study group (16 chunks, like a GRPO group): none; gauss 0.1 / 0.25 / 0.5 /
// 1; scale 0.5 / 0 / −0.5 / −1; drift 0.25 / 0.5 / 1; gripper_flip 4 / 8; rotation 0.5 / 1.
std::vector<std::string> DefaultChunkPerturbationNames();

// The perturbed copy of `chunk`; random draws come from `rng` (none of the deterministic kinds
// draw). gripper_flip with k larger than the chunk flips every step.
std::vector<Action> PerturbChunk(const std::vector<Action>& chunk, const ChunkPerturbation& perturbation, Random& rng);

}  // namespace vlarft::tabletop
