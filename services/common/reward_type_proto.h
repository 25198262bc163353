// The one conversion between the library's reward type (reward::RewardType, the config's enum) and the
// wire's (vlarft.v1.RewardType). The numbers are the same by design; this file says so once and
// checks it at compile time, so no other file casts between them.
#pragma once

#include "libs/reward/reward_config.h"
#include "vlarft/v1/reward.pb.h"

namespace vlarft::services {

v1::RewardType RewardTypeToProto(reward::RewardType type);
// An unknown wire value (a newer client) maps to kUnspecified; callers that accept requests check
// v1::RewardType_IsValid first and say which field was wrong.
reward::RewardType RewardTypeFromProto(v1::RewardType type);

}  // namespace vlarft::services
