// vlarft.v1.RolloutGroup <-> rl::RolloutGroupData. Decoding validates every tensor (dtype, shape,
// finite values) and names the offending field; the learner then checks the group against its policy.
#pragma once

#include "absl/status/statusor.h"
#include "libs/rl/rollout_group.h"
#include "vlarft/v1/learner.pb.h"

namespace vlarft::services {

absl::Status RolloutGroupToProto(const rl::RolloutGroupData& group, v1::RolloutGroup* out);
absl::StatusOr<rl::RolloutGroupData> RolloutGroupFromProto(const v1::RolloutGroup& proto);

}  // namespace vlarft::services
