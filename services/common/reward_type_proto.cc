#include "services/common/reward_type_proto.h"

namespace vlarft::services {

static_assert(static_cast<int>(rl::RewardType::kUnspecified) == v1::REWARD_TYPE_UNSPECIFIED);
static_assert(static_cast<int>(rl::RewardType::kActionL1) == v1::REWARD_TYPE_ACTION_L1);
static_assert(static_cast<int>(rl::RewardType::kImaginedVsReal) == v1::REWARD_TYPE_IMAGINED_VS_REAL);
static_assert(static_cast<int>(rl::RewardType::kImaginedVsImaginedExpert) ==
              v1::REWARD_TYPE_IMAGINED_VS_IMAGINED_EXPERT);

v1::RewardType RewardTypeToProto(rl::RewardType type) { return static_cast<v1::RewardType>(static_cast<int>(type)); }

rl::RewardType RewardTypeFromProto(v1::RewardType type) {
  switch (type) {
    case v1::REWARD_TYPE_ACTION_L1:
      return rl::RewardType::kActionL1;
    case v1::REWARD_TYPE_IMAGINED_VS_REAL:
      return rl::RewardType::kImaginedVsReal;
    case v1::REWARD_TYPE_IMAGINED_VS_IMAGINED_EXPERT:
      return rl::RewardType::kImaginedVsImaginedExpert;
    default:
      return rl::RewardType::kUnspecified;
  }
}

}  // namespace vlarft::services
