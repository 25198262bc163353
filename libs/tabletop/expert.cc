#include "libs/tabletop/expert.h"

#include <algorithm>
#include <cmath>

namespace vlarft::tabletop {
namespace {

// Unit actions that move the gripper towards (x, y, z), saturating at full speed.
Action MoveTowards(const Gripper& g, double x, double y, double z, bool close) {
  auto unit = [](double d) { return static_cast<float>(std::clamp(d / kStepMetres, -1.0, 1.0)); };
  return {unit(x - g.x), unit(y - g.y), unit(z - g.z), 0.f, 0.f, 0.f, close ? 1.f : -1.f};
}

// A waypoint counts as reached within 1 cm on each axis: a third of the grasp tolerance, and loose
// enough that a noisy expert (noise moves it ~noise * 3 cm per step) does not circle a point it
// can never hit exactly. Noise-free, the proportional steps land exactly on each waypoint.
constexpr double kReached = 0.01;

bool Near(const Gripper& g, double x, double y, double z, double tol = kReached) {
  return std::abs(g.x - x) < tol && std::abs(g.y - y) < tol && std::abs(g.z - z) < tol;
}

}  // namespace

Action ScriptedExpert::Act(const TabletopEnv& env) {
  const Scene& s = env.scene();
  const Gripper& g = s.gripper;
  const std::vector<Goal>& goals = env.task().goals;
  // Skip goals that already hold (e.g. a long task's first part).
  while (goal_ < goals.size() && GoalSatisfied(s, goals[goal_]) && phase_ == Phase::kAbove) ++goal_;
  if (goal_ >= goals.size()) return MoveTowards(g, g.x, g.y, kTravelHeight, false);
  const Goal& goal = goals[goal_];
  const int oi = s.FindObject(goal.object);
  const Object& o = s.objects[oi];
  double tx = 0, ty = 0, place_z = 0;
  if (goal.kind == Goal::Kind::kInReceptacle) {
    const Receptacle& r = s.receptacles[s.FindReceptacle(goal.target)];
    tx = r.x, ty = r.y, place_z = r.height + o.height * 0.5 + 0.01;
  } else {
    const Object& below = s.objects[s.FindObject(goal.target)];
    tx = below.x, ty = below.y, place_z = below.z + below.height + o.height * 0.5 + 0.01;
  }
  const double grasp_z = o.z + o.height * 0.5;

  Action a{};
  switch (phase_) {
    case Phase::kAbove:
      a = MoveTowards(g, o.x, o.y, kTravelHeight, false);
      if (Near(g, o.x, o.y, kTravelHeight)) phase_ = Phase::kDescend;
      break;
    case Phase::kDescend:
      a = MoveTowards(g, o.x, o.y, grasp_z, false);
      if (Near(g, o.x, o.y, grasp_z)) phase_ = Phase::kClose;
      break;
    case Phase::kClose:
      a = MoveTowards(g, o.x, o.y, grasp_z, true);
      if (g.holding == oi) phase_ = Phase::kLift;
      else if (g.closed) phase_ = Phase::kAbove;  // missed: open and retry
      break;
    case Phase::kLift:
      a = MoveTowards(g, g.x, g.y, kTravelHeight, true);
      if (std::abs(g.z - kTravelHeight) < kReached) phase_ = Phase::kCarry;
      break;
    case Phase::kCarry:
      a = MoveTowards(g, tx, ty, kTravelHeight, true);
      if (Near(g, tx, ty, kTravelHeight)) phase_ = Phase::kLower;
      break;
    case Phase::kLower:
      a = MoveTowards(g, tx, ty, place_z, true);
      if (Near(g, tx, ty, place_z)) phase_ = Phase::kOpen;
      break;
    case Phase::kOpen:
      a = MoveTowards(g, g.x, g.y, g.z, false);
      phase_ = Phase::kRetreat;
      break;
    case Phase::kRetreat:
      a = MoveTowards(g, g.x, g.y, kTravelHeight, false);
      if (std::abs(g.z - kTravelHeight) < kReached) {
        phase_ = Phase::kAbove;
        if (GoalSatisfied(s, goal)) ++goal_;
      }
      break;
  }
  if (g.holding >= 0 && g.holding != oi) a[6] = -1.f;  // holding the wrong object: let go
  if (options_.pause_prob > 0 && rng_.Uniform() < options_.pause_prob) {
    a[0] = a[1] = a[2] = 0.f;
  } else if (options_.noise > 0) {
    for (int d = 0; d < 3; ++d) a[d] = static_cast<float>(std::clamp(a[d] + options_.noise * rng_.Normal(), -1.0, 1.0));
  }
  return a;
}

}  // namespace vlarft::tabletop
