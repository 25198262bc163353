// Where the gripper must next close or open, read from the simulator's state: the privileged
// answer to what the policy's subgoal head estimates from pixels (the demonstrations' subgoal
// labels are the expert's gripper position at its next open/close, which lands on the same point).
// Evaluation diagnostics use it to separate "cannot find the target" from "cannot reach it".
#pragma once

#include <array>

#include "libs/tabletop/env.h"

namespace vlarft::tabletop {

// (x, y) in metres: the object of the first unsatisfied goal while the gripper does not hold it,
// else the goal's target (receptacle centre, or the object to stack on). Once every goal holds:
// the gripper's own position (nothing left to do).
std::array<float, 2> NextSubgoalXy(const TabletopEnv& env);

}  // namespace vlarft::tabletop
