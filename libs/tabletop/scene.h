// The tabletop world: a gripper above a table with coloured objects (cubes, cylinders) and
// receptacles (plate, bowl, basket). Metres; x to the right, y away from the camera (up in the
// image), z up. The camera looks straight down on the table square [-kHalfExtent, kHalfExtent]².
#pragma once

#include <array>
#include <string>
#include <vector>

namespace vlarft::tabletop {

constexpr double kHalfExtent = 0.4;    // visible table half-size
constexpr double kWorkspace = 0.36;    // gripper x/y limit
constexpr double kMaxHeight = 0.3;     // gripper z limit
constexpr double kTravelHeight = 0.15; // expert carry height
constexpr double kStepMetres = 0.03;   // Δxyz of a unit action per step (LIBERO-like scaling)

enum class Shape { kCube, kCylinder };
enum class ReceptacleKind { kPlate, kBowl, kBasket };

struct Color {
  std::string name;
  std::array<unsigned char, 3> rgb;
};

struct Object {
  std::string name;  // "red cube"
  Shape shape = Shape::kCube;
  Color color;
  double x = 0, y = 0, z = 0;  // z of the bottom face
  double half_size = 0.035;    // half width (cube) or radius (cylinder)
  double height = 0.06;
  int resting_on = -1;         // index of the object it stands on, or -1
  int inside = -1;             // index of the receptacle it is in, or -1
};

struct Receptacle {
  std::string name;  // "plate"
  ReceptacleKind kind = ReceptacleKind::kPlate;
  Color color;
  double x = 0, y = 0;
  double radius = 0.075;  // inner radius (plate/bowl) or half size (basket)
  double height = 0.01;   // floor height objects rest at
};

struct Gripper {
  double x = 0, y = 0, z = kTravelHeight;
  bool closed = false;
  int holding = -1;  // object index
};

struct Scene {
  std::vector<Object> objects;
  std::vector<Receptacle> receptacles;
  Gripper gripper;

  int FindObject(const std::string& name) const;
  int FindReceptacle(const std::string& name) const;
};

// Goal predicates.
struct Goal {
  enum class Kind { kInReceptacle, kOnObject };
  Kind kind = Kind::kInReceptacle;
  std::string object;  // the object to move
  std::string target;  // receptacle or object name
};

bool GoalSatisfied(const Scene& scene, const Goal& goal);

}  // namespace vlarft::tabletop
