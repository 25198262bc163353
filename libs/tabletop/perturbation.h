// Perturbations of an episode's initial scene mirroring the paper's Table 1: object position, goal
// position (receptacles), robot initial state, and all three combined, each minor or major.
// Every moved item moves by exactly the stated distance (unless the table edge clamps it), in a
// direction chosen to keep it clear of the other items, so a perturbed scene stays solvable and
// unambiguous; the perturbation draws from its own random stream, so the unperturbed layout of a
// seed is the same with or without it.
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "libs/tabletop/random.h"
#include "libs/tabletop/scene.h"

namespace vlarft::tabletop {

enum class Perturbation { kNone, kObjectPosition, kGoalPosition, kRobotInit, kCombined };
enum class Magnitude { kMinor, kMajor };

struct PerturbationSpec {
  Perturbation mode = Perturbation::kNone;
  Magnitude magnitude = Magnitude::kMinor;

  // Objects and receptacles move this far in the table plane (metres).
  double Offset() const { return magnitude == Magnitude::kMinor ? 0.03 : 0.07; }
  // The gripper's start moves this far in the table plane, and half of it up or down.
  double RobotOffset() const { return magnitude == Magnitude::kMinor ? 0.05 : 0.12; }
  bool MovesObjects() const { return mode == Perturbation::kObjectPosition || mode == Perturbation::kCombined; }
  bool MovesGoals() const { return mode == Perturbation::kGoalPosition || mode == Perturbation::kCombined; }
  bool MovesRobot() const { return mode == Perturbation::kRobotInit || mode == Perturbation::kCombined; }
  // "none", or e.g. "object_position:major" (the syntax ParsePerturbation reads).
  std::string Name() const;
};

// "none", "<mode>" (minor) or "<mode>:<minor|major>", mode one of object_position, goal_position,
// robot_init, combined.
absl::StatusOr<PerturbationSpec> ParsePerturbation(const std::string& name);
// The 4 modes x 2 magnitudes of the perturbation table, in table order.
std::vector<PerturbationSpec> AllPerturbations();

// Applies `spec` to an initial scene.
void ApplyPerturbation(const PerturbationSpec& spec, Random& rng, Scene* scene);

}  // namespace vlarft::tabletop
