#include "services/common/rollout_proto.h"

#include "absl/strings/str_cat.h"
#include "libs/core/status.h"
#include "services/common/tensor_proto.h"

namespace vlarft::services {

absl::Status RolloutGroupToProto(const rl::RolloutGroupData& group, v1::RolloutGroup* out) {
  out->Clear();
  out->set_group_id(group.group_id);
  out->set_worker_id(group.worker_id);
  out->set_policy_version(group.policy_version);
  out->set_instruction(group.instruction);
  VLARFT_RETURN_IF_ERROR(ToProto(group.observations, out->mutable_observations()));
  VLARFT_RETURN_IF_ERROR(ToProto(group.proprio, out->mutable_proprio()));
  VLARFT_RETURN_IF_ERROR(ToProto(group.expert_actions, out->mutable_expert_actions()));
  VLARFT_RETURN_IF_ERROR(ToProto(group.chains, out->mutable_chains()));
  VLARFT_RETURN_IF_ERROR(ToProto(group.old_log_probs, out->mutable_old_log_probs()));
  const torch::Tensor rewards = group.rewards.to(torch::kFloat32).contiguous();
  out->mutable_rewards()->Assign(rewards.data_ptr<float>(), rewards.data_ptr<float>() + rewards.numel());
  return absl::OkStatus();
}

absl::StatusOr<rl::RolloutGroupData> RolloutGroupFromProto(const v1::RolloutGroup& proto) {
  rl::RolloutGroupData group;
  group.group_id = proto.group_id();
  group.worker_id = proto.worker_id();
  group.policy_version = proto.policy_version();
  group.instruction = proto.instruction();
  const core::TensorExpectation any;
  VLARFT_ASSIGN_OR_RETURN(group.observations, DecodeField(proto.observations(), "RolloutGroup.observations", any));
  VLARFT_ASSIGN_OR_RETURN(group.proprio, DecodeField(proto.proprio(), "RolloutGroup.proprio", any));
  VLARFT_ASSIGN_OR_RETURN(group.expert_actions, DecodeField(proto.expert_actions(), "RolloutGroup.expert_actions", any));
  VLARFT_ASSIGN_OR_RETURN(group.chains, DecodeField(proto.chains(), "RolloutGroup.chains", any));
  VLARFT_ASSIGN_OR_RETURN(group.old_log_probs, DecodeField(proto.old_log_probs(), "RolloutGroup.old_log_probs", any));
  // Finiteness and bounds of every field are rl::ValidateRolloutGroup's (the learner's admission).
  group.rewards = torch::tensor(std::vector<float>(proto.rewards().begin(), proto.rewards().end()), torch::kFloat32);
  return group;
}

}  // namespace vlarft::services
