// A tiny test policy (16x16 frames, tests/models/policy_test_util.h) whose instruction vocabulary
// covers every benchmark task, so it can be evaluated on the tabletop suites.
#pragma once

#include <string>
#include <vector>

#include "libs/models/policy.h"
#include "libs/tabletop/tasks.h"
#include "tests/models/policy_test_util.h"

namespace vlarft::evaluation::testing {

inline models::VlaPolicy MakeBenchmarkPolicy(const models::PolicyConfig& config = models::testing::TinyPolicyConfig()) {
  std::vector<std::string> instructions = {"pick up the red cube", "put the bowl on the plate"};
  for (const tabletop::Task& task : tabletop::AllTasks()) instructions.push_back(task.instruction);
  return models::VlaPolicy(config, models::InstructionTokenizer::Build(instructions),
                           models::testing::UnitNormalizer(config.action_dim),
                           models::testing::UnitNormalizer(config.proprio_dim));
}

}  // namespace vlarft::evaluation::testing
