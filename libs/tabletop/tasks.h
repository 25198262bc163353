// The four benchmark suites, ten tasks each, mirroring LIBERO (DESIGN.md §7):
//   spatial  same two identical objects, layouts differ; the instruction names which by a relation
//   object   which object to put in the basket, among distractors
//   goal     the same layout every time; what to do with it differs
//   long     two chained sub-tasks
// plus the perturbation modes of the paper's Table 1.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "libs/tabletop/scene.h"

namespace vlarft::tabletop {

enum class Perturbation { kNone, kObjectPosition, kGoalPosition, kRobotInit, kCombined };
enum class Magnitude { kMinor, kMajor };

struct PerturbationSpec {
  Perturbation mode = Perturbation::kNone;
  Magnitude magnitude = Magnitude::kMinor;
  // Displacement sizes in metres: objects/receptacles are moved by exactly this distance in a
  // random direction (then kept on the table), the gripper start by robot_offset.
  double Offset() const { return magnitude == Magnitude::kMinor ? 0.03 : 0.07; }
  double RobotOffset() const { return magnitude == Magnitude::kMinor ? 0.05 : 0.12; }
  std::string Name() const;
};

absl::StatusOr<PerturbationSpec> ParsePerturbation(const std::string& name);  // e.g. "object_position:major"
std::vector<PerturbationSpec> AllPerturbations();                              // 4 modes x 2 magnitudes

struct Task {
  std::string suite;  // spatial | object | goal | long
  std::string name;   // file-name friendly, unique across suites
  std::string instruction;
  std::vector<Goal> goals;  // all must hold at once (two for long tasks)
  int max_steps = 80;
  int index = 0;            // position in AllTasks()
};

const std::vector<std::string>& SuiteNames();
// The 40 tasks, in a fixed order.
const std::vector<Task>& AllTasks();
std::vector<const Task*> TasksOfSuites(const std::vector<std::string>& suites);  // empty = all
absl::StatusOr<const Task*> FindTask(const std::string& name);

// The initial scene of an episode: deterministic in (task, seed, perturbation).
Scene MakeScene(const Task& task, uint64_t seed, const PerturbationSpec& perturbation = {});

}  // namespace vlarft::tabletop
