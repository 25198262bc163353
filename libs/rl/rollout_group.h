// One prompt's group of G rollouts in library form (the learner service converts the protobuf
// vlarft.v1.RolloutGroup into this after validating it). Tensors are CPU tensors.
#pragma once

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "libs/core/torch_compat.h"
#include "libs/models/policy.h"

namespace vlarft::rl {

struct RolloutGroupData {
  std::string group_id;
  std::string worker_id;
  int64_t policy_version = 0;
  // uint8 [G or 1, H, h, w, 3]: what the policy saw before each chunk (index 0 = dataset frame).
  torch::Tensor observations;
  std::string instruction;
  torch::Tensor proprio;         // float [P], environment units
  torch::Tensor expert_actions;  // float [H * C, A], environment units
  torch::Tensor chains;          // float [G, H, K + 1, C, A], normalised action space
  torch::Tensor old_log_probs;   // float [G, H, K, C, A]
  torch::Tensor rewards;         // float [G]

  int64_t group_size() const { return chains.size(0); }
  int64_t horizon() const { return chains.size(1); }
};

// INVALID_ARGUMENT naming the field when the group does not fit the policy (K, chunk length,
// action/proprio dims, frame size), shapes disagree, G < 2, or values are not finite.
absl::Status ValidateRolloutGroup(const RolloutGroupData& group, const models::PolicyConfig& config);

}  // namespace vlarft::rl
