#include "libs/tabletop/perturbation.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace vlarft::tabletop {
namespace {

constexpr double kPi = 3.141592653589793;
constexpr double kTableLimit = 0.3;  // items stay this far from the table centre on each axis
constexpr int kDirections = 24;

struct Disc {
  double x, y, radius;  // footprint on the table
};

std::vector<Disc> Footprints(const Scene& scene) {
  std::vector<Disc> out;
  for (const Object& o : scene.objects) out.push_back({o.x, o.y, o.half_size * 1.2});
  for (const Receptacle& r : scene.receptacles) out.push_back({r.x, r.y, r.radius * 1.2 + 0.015});
  return out;
}

// Moves footprint `self` of `items` by `distance`: among kDirections random directions, the first
// that stays on the table and clear of every other footprint, else the one with the most room.
void Displace(Random& rng, double distance, size_t self, std::vector<Disc>& items, double* x, double* y) {
  double best_x = *x, best_y = *y, best_score = -1e9;
  for (int k = 0; k < kDirections; ++k) {
    const double angle = rng.Uniform(0, 2 * kPi);
    const double nx = *x + distance * std::cos(angle), ny = *y + distance * std::sin(angle);
    double room = 1e9;
    for (size_t i = 0; i < items.size(); ++i) {
      if (i != self) room = std::min(room, std::hypot(nx - items[i].x, ny - items[i].y) - items[i].radius - items[self].radius);
    }
    const bool on_table = std::abs(nx) <= kTableLimit && std::abs(ny) <= kTableLimit;
    const double score = (on_table ? 0.0 : -1.0) + std::min(room, 0.0);
    if (score > best_score) best_score = score, best_x = nx, best_y = ny;
    if (on_table && room >= 0) break;
  }
  *x = std::clamp(best_x, -kTableLimit, kTableLimit);
  *y = std::clamp(best_y, -kTableLimit, kTableLimit);
  items[self].x = *x, items[self].y = *y;
}

}  // namespace

std::string PerturbationSpec::Name() const {
  static const char* kModes[] = {"none", "object_position", "goal_position", "robot_init", "combined"};
  if (mode == Perturbation::kNone) return "none";
  return absl::StrCat(kModes[static_cast<int>(mode)], ":", magnitude == Magnitude::kMinor ? "minor" : "major");
}

absl::StatusOr<PerturbationSpec> ParsePerturbation(const std::string& name) {
  if (name.empty() || name == "none") return PerturbationSpec{};
  const std::vector<std::string> parts = absl::StrSplit(name, ':');
  static const std::pair<const char*, Perturbation> kModes[] = {{"object_position", Perturbation::kObjectPosition},
                                                                {"goal_position", Perturbation::kGoalPosition},
                                                                {"robot_init", Perturbation::kRobotInit},
                                                                {"combined", Perturbation::kCombined}};
  PerturbationSpec spec;
  bool found = false;
  for (const auto& [n, m] : kModes) {
    if (parts[0] == n) spec.mode = m, found = true;
  }
  if (!found || parts.size() > 2 || (parts.size() == 2 && parts[1] != "minor" && parts[1] != "major")) {
    return absl::InvalidArgumentError(absl::StrCat(
        "unknown perturbation '", name, "' (none | object_position|goal_position|robot_init|combined[:minor|:major])"));
  }
  spec.magnitude = parts.size() == 2 && parts[1] == "major" ? Magnitude::kMajor : Magnitude::kMinor;
  return spec;
}

std::vector<PerturbationSpec> AllPerturbations() {
  std::vector<PerturbationSpec> out;
  for (Perturbation p : {Perturbation::kObjectPosition, Perturbation::kGoalPosition, Perturbation::kRobotInit,
                         Perturbation::kCombined}) {
    for (Magnitude m : {Magnitude::kMinor, Magnitude::kMajor}) out.push_back({p, m});
  }
  return out;
}

void ApplyPerturbation(const PerturbationSpec& spec, Random& rng, Scene* scene) {
  std::vector<Disc> items = Footprints(*scene);
  const size_t first_receptacle = scene->objects.size();
  if (spec.MovesObjects()) {
    for (size_t i = 0; i < scene->objects.size(); ++i) {
      Object& o = scene->objects[i];
      Displace(rng, spec.Offset(), i, items, &o.x, &o.y);
    }
  }
  if (spec.MovesGoals()) {
    for (size_t i = 0; i < scene->receptacles.size(); ++i) {
      Receptacle& r = scene->receptacles[i];
      Displace(rng, spec.Offset(), first_receptacle + i, items, &r.x, &r.y);
    }
  }
  if (spec.MovesRobot()) {
    // Towards the table (the gripper starts at its near edge), then up or down.
    Gripper& g = scene->gripper;
    const double angle = rng.Uniform(0, kPi);
    g.x = std::clamp(g.x + spec.RobotOffset() * std::cos(angle), -kWorkspace, kWorkspace);
    g.y = std::clamp(g.y + spec.RobotOffset() * std::sin(angle), -kWorkspace, kWorkspace);
    g.z = std::clamp(g.z + (rng.Uniform() < 0.5 ? -0.5 : 0.5) * spec.RobotOffset(), 0.05, kMaxHeight);
  }
}

}  // namespace vlarft::tabletop
