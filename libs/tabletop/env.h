// One episode of the tabletop benchmark: 7-D actions in, physics-lite state update, success check,
// rendered observations and LIBERO-style proprio out. Deterministic; no rendering unless asked.
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include "libs/tabletop/scene.h"
#include "libs/tabletop/tasks.h"

namespace vlarft::tabletop {

using Action = std::array<float, 7>;  // Δx, Δy, Δz in [-1, 1] (x kStepMetres), Δroll/pitch/yaw (ignored), gripper (>0 close)

// LIBERO's proprio split: ee_states (x, y, z, and three orientation values, always 0 here) and
// gripper_states (two finger positions: ±0.04 open, ±(held width) or 0 closed).
struct Proprio {
  std::array<float, 6> ee_states{};
  std::array<float, 2> gripper_states{};
  std::array<float, 8> Flat() const;
};

class TabletopEnv {
 public:
  TabletopEnv(const Task& task, uint64_t seed, const PerturbationSpec& perturbation = {});

  // Applies one action; returns true once the task is solved (and stays solved).
  bool Step(const Action& action);
  bool success() const { return success_; }
  bool done() const { return success_ || steps_ >= task_->max_steps; }
  int steps() const { return steps_; }
  const Scene& scene() const { return scene_; }
  const Task& task() const { return *task_; }
  Proprio proprio() const;
  // RGB [size][size][3] (render.h).
  std::vector<uint8_t> Render(int size) const;
  void RenderInto(int size, uint8_t* out) const;

 private:
  void Grasp();
  void Release();
  bool Solved() const;

  const Task* task_;
  Scene scene_;
  int steps_ = 0;
  bool success_ = false;
};

}  // namespace vlarft::tabletop
