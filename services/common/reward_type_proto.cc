#include "services/common/reward_type_proto.h"

namespace vlarft::services {

static_assert(static_cast<int>(reward::RewardType::kUnspecified) == v1::REWARD_TYPE_UNSPECIFIED);
static_assert(static_cast<int>(reward::RewardType::kActionL1) == v1::REWARD_TYPE_ACTION_L1);
static_assert(static_cast<int>(reward::RewardType::kImaginedVsReal) == v1::REWARD_TYPE_IMAGINED_VS_REAL);
static_assert(static_cast<int>(reward::RewardType::kImaginedVsImaginedExpert) ==
              v1::REWARD_TYPE_IMAGINED_VS_IMAGINED_EXPERT);

v1::RewardType RewardTypeToProto(reward::RewardType type) { return static_cast<v1::RewardType>(static_cast<int>(type)); }

reward::RewardType RewardTypeFromProto(v1::RewardType type) {
  switch (type) {
    case v1::REWARD_TYPE_ACTION_L1:
      return reward::RewardType::kActionL1;
    case v1::REWARD_TYPE_IMAGINED_VS_REAL:
      return reward::RewardType::kImaginedVsReal;
    case v1::REWARD_TYPE_IMAGINED_VS_IMAGINED_EXPERT:
      return reward::RewardType::kImaginedVsImaginedExpert;
    default:
      return reward::RewardType::kUnspecified;
  }
}

}  // namespace vlarft::services
