#include "libs/tabletop/env.h"

#include <algorithm>
#include <cmath>

#include "libs/tabletop/render.h"

namespace vlarft::tabletop {

std::array<float, 8> Proprio::Flat() const {
  return {ee_states[0], ee_states[1], ee_states[2], ee_states[3], ee_states[4], ee_states[5], gripper_states[0],
          gripper_states[1]};
}

int Scene::FindObject(const std::string& name) const {
  for (size_t i = 0; i < objects.size(); ++i) {
    if (objects[i].name == name) return static_cast<int>(i);
  }
  return -1;
}

int Scene::FindReceptacle(const std::string& name) const {
  for (size_t i = 0; i < receptacles.size(); ++i) {
    if (receptacles[i].name == name) return static_cast<int>(i);
  }
  return -1;
}

bool GoalSatisfied(const Scene& scene, const Goal& goal) {
  const int o = scene.FindObject(goal.object);
  if (o < 0 || scene.gripper.holding == o) return false;
  if (goal.kind == Goal::Kind::kInReceptacle) return scene.objects[o].inside == scene.FindReceptacle(goal.target);
  return scene.objects[o].resting_on == scene.FindObject(goal.target);
}

TabletopEnv::TabletopEnv(const Task& task, uint64_t seed, const PerturbationSpec& perturbation)
    : task_(&task), scene_(MakeScene(task, seed, perturbation)) {}

Proprio TabletopEnv::proprio() const {
  Proprio p;
  const Gripper& g = scene_.gripper;
  p.ee_states = {static_cast<float>(g.x), static_cast<float>(g.y), static_cast<float>(g.z), 0.f, 0.f, 0.f};
  double finger = 0.04;
  if (g.closed) finger = g.holding >= 0 ? scene_.objects[g.holding].half_size : 0.0;
  p.gripper_states = {static_cast<float>(finger), static_cast<float>(-finger)};
  return p;
}

void TabletopEnv::Grasp() {
  Gripper& g = scene_.gripper;
  int best = -1;
  double best_top = -1;
  for (size_t i = 0; i < scene_.objects.size(); ++i) {
    const Object& o = scene_.objects[i];
    const double top = o.z + o.height;
    const bool aligned = std::hypot(o.x - g.x, o.y - g.y) < 0.03;
    const bool reachable = g.z > o.z && g.z < top + 0.01;
    // The topmost object of a stack is the one the fingers close on.
    if (aligned && reachable && top > best_top) best = static_cast<int>(i), best_top = top;
  }
  if (best < 0) return;
  for (const Object& o : scene_.objects) {
    if (o.resting_on == best) return;  // something stands on it: it cannot be pulled out
  }
  g.holding = best;
  Object& o = scene_.objects[best];
  o.resting_on = -1;
  o.inside = -1;
}

void TabletopEnv::Release() {
  Gripper& g = scene_.gripper;
  Object& o = scene_.objects[g.holding];
  const int held = g.holding;
  g.holding = -1;
  // Falls onto the highest support under its centre: another object, a receptacle, or the table.
  double floor = 0.0;
  o.resting_on = -1;
  o.inside = -1;
  for (size_t i = 0; i < scene_.objects.size(); ++i) {
    const Object& below = scene_.objects[i];
    if (static_cast<int>(i) == held) continue;
    const double top = below.z + below.height;
    if (std::hypot(below.x - o.x, below.y - o.y) < below.half_size + 0.01 && top <= o.z + 1e-6 && top > floor) {
      floor = top, o.resting_on = static_cast<int>(i);
    }
  }
  if (o.resting_on < 0) {
    for (size_t i = 0; i < scene_.receptacles.size(); ++i) {
      const Receptacle& r = scene_.receptacles[i];
      const bool over = r.kind == ReceptacleKind::kBasket
                            ? std::abs(o.x - r.x) < r.radius && std::abs(o.y - r.y) < r.radius
                            : std::hypot(o.x - r.x, o.y - r.y) < r.radius;
      if (over) floor = r.height, o.inside = static_cast<int>(i);
    }
  }
  o.z = floor;
}

bool TabletopEnv::Solved() const {
  for (const Goal& goal : task_->goals) {
    if (!GoalSatisfied(scene_, goal)) return false;
  }
  return true;
}

bool TabletopEnv::Step(const Action& action) {
  if (done()) return success_;
  ++steps_;
  Gripper& g = scene_.gripper;
  auto delta = [](float a) { return std::clamp(static_cast<double>(std::isfinite(a) ? a : 0.f), -1.0, 1.0) * kStepMetres; };
  // A held object keeps the gripper from pushing it through the table.
  const double min_z = g.holding >= 0 ? scene_.objects[g.holding].height * 0.5 : 0.01;
  g.x = std::clamp(g.x + delta(action[0]), -kWorkspace, kWorkspace);
  g.y = std::clamp(g.y + delta(action[1]), -kWorkspace, kWorkspace);
  g.z = std::clamp(g.z + delta(action[2]), min_z, kMaxHeight);
  const bool close = std::isfinite(action[6]) && action[6] > 0;
  if (close && !g.closed) {
    g.closed = true;
    Grasp();
  } else if (!close && g.closed) {
    g.closed = false;
    if (g.holding >= 0) Release();
  }
  if (g.holding >= 0) {
    Object& o = scene_.objects[g.holding];
    o.x = g.x, o.y = g.y, o.z = g.z - o.height * 0.5;
  }
  success_ = Solved();
  return success_;
}

std::vector<uint8_t> TabletopEnv::Render(int size) const { return RenderScene(scene_, size); }

void TabletopEnv::RenderInto(int size, uint8_t* out) const { RenderSceneInto(scene_, size, out); }

}  // namespace vlarft::tabletop
