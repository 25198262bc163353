// What the policy is told about its own state before chunk k+1 of a multi-chunk rollout (horizon
// H > 1, docs/architecture.md, "The rollout loop"). A world model imagines frames, not proprioception, so the proprio after a
// chunk is dead-reckoned from the chunk's actions with the benchmark's action convention
// (docs/architecture.md, "The rollout loop"): Δxyz clamped to [-1, 1] times the metres per unit step,
// gripper fingers at ±0.04 m while the command is open (<= 0) and closed (0) otherwise (a held
// object's width cannot be known from actions; a closed gripper that was closed keeps its width).
//
// The rollout loop (sampling) and the GRPO learner (recomputing log-probs) both call this, so the
// learner conditions every chunk on exactly the proprio the sampler used.
#pragma once

#include "libs/core/torch_compat.h"

namespace vlarft::rl {

constexpr double kProprioStepMetres = 0.03;  // one unit of Δxyz (the benchmark's kStepMetres)

// proprio [B, 8] (ee x, y, z, 3 orientation values, 2 finger positions; environment units) and the
// chunk that followed [B, C, 7] (environment units) -> proprio after the chunk [B, 8].
torch::Tensor RollProprioForward(const torch::Tensor& proprio, const torch::Tensor& chunk);

}  // namespace vlarft::rl
