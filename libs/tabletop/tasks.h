// The four benchmark suites, ten tasks each, mirroring LIBERO (docs/benchmark.md):
//   spatial  same two identical objects, layouts differ; the instruction names which by a relation
//   object   which object to put in the basket, among distractors
//   goal     the same layout every time; what to do with it differs
//   long     two chained sub-tasks
// Layouts are deterministic in (task, seed); perturbation.h moves them for the robustness table.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "libs/tabletop/perturbation.h"
#include "libs/tabletop/scene.h"

namespace vlarft::tabletop {

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
