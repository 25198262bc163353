// The scripted expert that makes demonstrations: for each goal in order, a waypoint plan (above the
// object, down, close, lift, above the target, down, open, lift) followed by a proportional
// controller, with optional Gaussian action noise and occasional pauses so demonstrations are not
// all identical.
#pragma once

#include <cstdint>

#include "libs/tabletop/env.h"
#include "libs/tabletop/random.h"

namespace vlarft::tabletop {

struct ExpertOptions {
  double noise = 0.0;        // std of Gaussian noise added to Δxyz (in action units)
  double pause_prob = 0.0;   // chance per step to idle (zero motion) for one step
};

class ScriptedExpert {
 public:
  ScriptedExpert(ExpertOptions options, uint64_t seed) : options_(options), rng_(seed) {}
  Action Act(const TabletopEnv& env);

 private:
  enum class Phase { kAbove, kDescend, kClose, kLift, kCarry, kLower, kOpen, kRetreat };
  ExpertOptions options_;
  Random rng_;
  size_t goal_ = 0;
  Phase phase_ = Phase::kAbove;
  int wait_ = 0;
};

}  // namespace vlarft::tabletop
