// Reference policies behind the evaluation harness's Policy interface: the scripted expert (an
// upper bound, and the harness's own test) and a seeded uniformly random policy (a lower bound).
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "libs/tabletop/env.h"
#include "libs/tabletop/evaluation.h"
#include "libs/tabletop/expert.h"

namespace vlarft::tabletop {

// The scripted expert, replanning every step (chunks of one action). It reads the true state:
// `envs` is the list Evaluate fills (every episode's environment, by episode index). Each episode
// gets a fresh expert at its step 0, seeded by the episode index, so the policy can be reused
// across evaluations.
std::unique_ptr<Policy> MakeExpertPolicy(const std::vector<const TabletopEnv*>* envs, ExpertOptions options = {});

// Chunks of 8 actions uniform in [-1, 1]^7 from one seeded stream (deterministic for a given
// sequence of batches).
std::unique_ptr<Policy> MakeRandomPolicy(uint64_t seed);

}  // namespace vlarft::tabletop
