#include "libs/tabletop/tasks.h"

#include <algorithm>
#include <cmath>
#include <functional>

#include "absl/strings/str_cat.h"
#include "libs/tabletop/random.h"

namespace vlarft::tabletop {
namespace {

Color ColorNamed(const std::string& name) {
  static const std::vector<Color> kColors = {
      {"red", {220, 40, 40}},     {"green", {40, 170, 60}},   {"blue", {40, 80, 220}},
      {"yellow", {235, 200, 30}}, {"purple", {150, 60, 190}}, {"orange", {245, 130, 20}},
      {"white", {235, 235, 230}}, {"brown", {130, 80, 40}},   {"gray", {120, 120, 125}}};
  for (const Color& c : kColors) {
    if (c.name == name) return c;
  }
  return kColors[0];
}

Object MakeObject(const std::string& color, Shape shape) {
  Object o;
  o.color = ColorNamed(color);
  o.shape = shape;
  o.name = absl::StrCat(color, shape == Shape::kCube ? " cube" : " cylinder");
  o.half_size = shape == Shape::kCube ? 0.032 : 0.03;
  o.height = shape == Shape::kCube ? 0.06 : 0.07;
  return o;
}

Receptacle MakeReceptacle(ReceptacleKind kind) {
  Receptacle r;
  r.kind = kind;
  switch (kind) {
    case ReceptacleKind::kPlate:
      r.name = "plate", r.color = ColorNamed("white"), r.radius = 0.07, r.height = 0.01;
      break;
    case ReceptacleKind::kBowl:
      r.name = "bowl", r.color = ColorNamed("brown"), r.radius = 0.065, r.height = 0.02;
      break;
    case ReceptacleKind::kBasket:
      r.name = "basket", r.color = ColorNamed("gray"), r.radius = 0.08, r.height = 0.02;
      break;
  }
  return r;
}

struct Point {
  double x, y;
};

double Distance(Point a, Point b) { return std::hypot(a.x - b.x, a.y - b.y); }

// Rejection-samples a point in the box that keeps `clearance` from every point in `taken`.
Point FreePoint(Random& rng, const std::vector<Point>& taken, double clearance, double xlo = -0.28, double xhi = 0.28,
                double ylo = -0.28, double yhi = 0.28) {
  Point best{0, 0};
  double best_gap = -1;
  for (int attempt = 0; attempt < 200; ++attempt) {
    const Point p{rng.Uniform(xlo, xhi), rng.Uniform(ylo, yhi)};
    double gap = 1e9;
    for (const Point& t : taken) gap = std::min(gap, Distance(p, t));
    if (gap >= clearance) return p;
    if (gap > best_gap) best_gap = gap, best = p;
  }
  return best;  // most spacious candidate; layouts stay valid even when crowded
}

constexpr double kClearance = 0.15;

// --- layout families ---------------------------------------------------------------------------

using Layout = std::function<Scene(Random&)>;

// spatial: two identical red cubes; the first one (the target, named "red cube") satisfies the
// relation, the second ("other red cube") does not.
Layout SpatialLayout(const std::string& relation) {
  return [relation](Random& rng) {
    Scene s;
    Object target = MakeObject("red", Shape::kCube), other = MakeObject("red", Shape::kCube);
    other.name = "other red cube";
    Receptacle plate = MakeReceptacle(ReceptacleKind::kPlate), bowl = MakeReceptacle(ReceptacleKind::kBowl);
    std::vector<Point> taken;
    Point t, o;
    if (relation == "left" || relation == "right") {
      const double sign = relation == "left" ? -1 : 1;
      t = {sign * rng.Uniform(0.14, 0.28), rng.Uniform(-0.25, 0.25)};
      o = {-sign * rng.Uniform(0.14, 0.28), rng.Uniform(-0.25, 0.25)};
      taken = std::vector<Point>{t, o};
      const Point p = FreePoint(rng, taken, kClearance, -0.1, 0.1);
      taken.push_back(p);
      const Point b = FreePoint(rng, taken, kClearance, -0.1, 0.1);
      plate.x = p.x, plate.y = p.y, bowl.x = b.x, bowl.y = b.y;
    } else if (relation == "top" || relation == "bottom") {
      const double sign = relation == "top" ? 1 : -1;
      t = {rng.Uniform(-0.25, 0.25), sign * rng.Uniform(0.14, 0.28)};
      o = {rng.Uniform(-0.25, 0.25), -sign * rng.Uniform(0.14, 0.28)};
      taken = std::vector<Point>{t, o};
      const Point p = FreePoint(rng, taken, kClearance, -0.28, 0.28, -0.08, 0.08);
      taken.push_back(p);
      const Point b = FreePoint(rng, taken, kClearance, -0.28, 0.28, -0.08, 0.08);
      plate.x = p.x, plate.y = p.y, bowl.x = b.x, bowl.y = b.y;
    } else {  // "plate" / "bowl": the target stands next to that landmark, the other cube far away
      Receptacle& landmark = relation == "plate" ? plate : bowl;
      Receptacle& second = relation == "plate" ? bowl : plate;
      const Point l = FreePoint(rng, {}, 0, -0.2, 0.2, -0.2, 0.2);
      const double angle = rng.Uniform(0, 6.283185307179586);
      t = {l.x + 0.15 * std::cos(angle), l.y + 0.15 * std::sin(angle)};
      t.x = std::clamp(t.x, -0.3, 0.3), t.y = std::clamp(t.y, -0.3, 0.3);
      taken = std::vector<Point>{l, t};
      o = FreePoint(rng, taken, 0.3);
      taken.push_back(o);
      const Point s2 = FreePoint(rng, taken, 0.22);
      landmark.x = l.x, landmark.y = l.y, second.x = s2.x, second.y = s2.y;
    }
    target.x = t.x, target.y = t.y, other.x = o.x, other.y = o.y;
    s.objects = {target, other};
    s.receptacles = {plate, bowl};
    return s;
  };
}

struct ObjectKind {
  const char* color;
  Shape shape;
};
constexpr ObjectKind kObjectPool[] = {{"red", Shape::kCube},       {"green", Shape::kCube},
                                      {"blue", Shape::kCube},      {"yellow", Shape::kCube},
                                      {"purple", Shape::kCube},    {"red", Shape::kCylinder},
                                      {"green", Shape::kCylinder}, {"blue", Shape::kCylinder},
                                      {"yellow", Shape::kCylinder}, {"orange", Shape::kCylinder}};

// object: the target plus three distinct distractors from the pool, and a basket.
Layout ObjectLayout(int target) {
  return [target](Random& rng) {
    Scene s;
    std::vector<int> kinds = {target};
    while (kinds.size() < 4) {
      const int k = rng.UniformInt(10);
      if (std::find(kinds.begin(), kinds.end(), k) == kinds.end()) kinds.push_back(k);
    }
    std::vector<Point> taken;
    Receptacle basket = MakeReceptacle(ReceptacleKind::kBasket);
    const Point b = FreePoint(rng, taken, 0);
    basket.x = b.x, basket.y = b.y;
    taken.push_back(b);
    for (int k : kinds) {
      Object o = MakeObject(kObjectPool[k].color, kObjectPool[k].shape);
      const Point p = FreePoint(rng, taken, kClearance);
      o.x = p.x, o.y = p.y;
      taken.push_back(p);
      s.objects.push_back(o);
    }
    s.receptacles = {basket};
    return s;
  };
}

// goal: one fixed layout (small jitter) shared by all goal tasks.
Scene GoalLayout(Random& rng) {
  Scene s;
  auto jitter = [&](double v) { return v + rng.Uniform(-0.02, 0.02); };
  Object red = MakeObject("red", Shape::kCube), blue = MakeObject("blue", Shape::kCube),
         green = MakeObject("green", Shape::kCylinder);
  red.x = jitter(-0.2), red.y = jitter(0.12);
  blue.x = jitter(0.02), blue.y = jitter(-0.02);
  green.x = jitter(0.22), green.y = jitter(0.14);
  Receptacle plate = MakeReceptacle(ReceptacleKind::kPlate), bowl = MakeReceptacle(ReceptacleKind::kBowl);
  plate.x = jitter(-0.18), plate.y = jitter(-0.2);
  bowl.x = jitter(0.2), bowl.y = jitter(-0.18);
  s.objects = {red, blue, green};
  s.receptacles = {plate, bowl};
  return s;
}

// long: four objects and three receptacles at random non-overlapping places.
Scene LongLayout(Random& rng) {
  Scene s;
  std::vector<Point> taken;
  for (ReceptacleKind kind : {ReceptacleKind::kPlate, ReceptacleKind::kBowl, ReceptacleKind::kBasket}) {
    Receptacle r = MakeReceptacle(kind);
    const Point p = FreePoint(rng, taken, 0.18);
    r.x = p.x, r.y = p.y;
    taken.push_back(p);
    s.receptacles.push_back(r);
  }
  for (ObjectKind k : {ObjectKind{"red", Shape::kCube}, ObjectKind{"blue", Shape::kCube},
                       ObjectKind{"green", Shape::kCylinder}, ObjectKind{"yellow", Shape::kCube}}) {
    Object o = MakeObject(k.color, k.shape);
    const Point p = FreePoint(rng, taken, kClearance);
    o.x = p.x, o.y = p.y;
    taken.push_back(p);
    s.objects.push_back(o);
  }
  return s;
}

struct TaskSpec {
  Task task;
  Layout layout;
};

Goal In(const std::string& object, const std::string& receptacle) {
  return {Goal::Kind::kInReceptacle, object, receptacle};
}
Goal On(const std::string& object, const std::string& below) { return {Goal::Kind::kOnObject, object, below}; }

std::string Slug(std::string text) {
  for (char& c : text) c = c == ' ' ? '_' : c;
  return text;
}

std::string Placement(const Goal& g) {
  if (g.kind == Goal::Kind::kOnObject) return absl::StrCat("on the ", g.target);
  return g.target == "plate" ? "on the plate" : absl::StrCat("in the ", g.target);
}

const std::vector<TaskSpec>& Specs() {
  static const std::vector<TaskSpec>* specs = [] {
    auto* out = new std::vector<TaskSpec>();
    auto add = [&](const std::string& suite, const std::string& name, const std::string& instruction,
                   std::vector<Goal> goals, Layout layout, int max_steps) {
      Task t;
      t.suite = suite, t.name = name, t.instruction = instruction, t.goals = std::move(goals), t.max_steps = max_steps;
      t.index = static_cast<int>(out->size());
      out->push_back({t, std::move(layout)});
    };
    const std::vector<std::pair<std::string, std::string>> spatial = {
        {"left", "plate"}, {"right", "plate"}, {"top", "bowl"},  {"bottom", "bowl"}, {"plate", "bowl"},
        {"bowl", "plate"}, {"left", "bowl"},   {"right", "bowl"}, {"top", "plate"},  {"bottom", "plate"}};
    for (const auto& [relation, destination] : spatial) {
      const std::string where = relation == "plate" || relation == "bowl" ? absl::StrCat("next to the ", relation)
                                : relation == "left" || relation == "right" ? absl::StrCat("on the ", relation)
                                                                           : absl::StrCat("at the ", relation);
      const Goal goal = In("red cube", destination);
      add("spatial", Slug(absl::StrCat("spatial red cube ", where, " to ", destination)),
          absl::StrCat("pick up the red cube ", where, " and place it ", Placement(goal)), {goal},
          SpatialLayout(relation), 80);
    }
    for (int k = 0; k < 10; ++k) {
      const std::string name = MakeObject(kObjectPool[k].color, kObjectPool[k].shape).name;
      add("object", Slug(absl::StrCat("object ", name, " to basket")),
          absl::StrCat("pick up the ", name, " and place it in the basket"), {In(name, "basket")}, ObjectLayout(k), 80);
    }
    const std::vector<Goal> goals = {In("red cube", "bowl"),        In("red cube", "plate"),
                                     In("blue cube", "bowl"),       In("blue cube", "plate"),
                                     In("green cylinder", "bowl"),  In("green cylinder", "plate"),
                                     On("red cube", "blue cube"),   On("blue cube", "red cube"),
                                     On("green cylinder", "red cube"), On("red cube", "green cylinder")};
    for (const Goal& g : goals) {
      const std::string instruction = g.kind == Goal::Kind::kOnObject
                                          ? absl::StrCat("stack the ", g.object, " on the ", g.target)
                                          : absl::StrCat("put the ", g.object, " ", Placement(g));
      add("goal", Slug(absl::StrCat("goal ", instruction)), instruction, {g}, GoalLayout, 80);
    }
    const std::vector<std::pair<Goal, Goal>> pairs = {
        {In("red cube", "bowl"), In("blue cube", "plate")},        {In("blue cube", "bowl"), In("red cube", "plate")},
        {In("green cylinder", "basket"), In("red cube", "bowl")},  {In("yellow cube", "plate"), In("green cylinder", "bowl")},
        {On("red cube", "blue cube"), In("yellow cube", "basket")}, {In("red cube", "basket"), In("blue cube", "basket")},
        {In("green cylinder", "plate"), In("yellow cube", "bowl")}, {On("blue cube", "yellow cube"), In("red cube", "bowl")},
        {In("yellow cube", "basket"), In("green cylinder", "plate")}, {On("green cylinder", "red cube"), In("blue cube", "bowl")}};
    for (const auto& [first, second] : pairs) {
      auto phrase = [](const Goal& g) {
        return g.kind == Goal::Kind::kOnObject ? absl::StrCat("stack the ", g.object, " on the ", g.target)
                                               : absl::StrCat("put the ", g.object, " ", Placement(g));
      };
      const std::string instruction = absl::StrCat(phrase(first), " and then ", phrase(second));
      add("long", Slug(absl::StrCat("long ", phrase(first), " then ", phrase(second))), instruction, {first, second},
          LongLayout, 160);
    }
    return out;
  }();
  return *specs;
}

}  // namespace

const std::vector<std::string>& SuiteNames() {
  static const std::vector<std::string> kSuites = {"spatial", "object", "goal", "long"};
  return kSuites;
}

const std::vector<Task>& AllTasks() {
  static const std::vector<Task>* tasks = [] {
    auto* out = new std::vector<Task>();
    for (const TaskSpec& s : Specs()) out->push_back(s.task);
    return out;
  }();
  return *tasks;
}

std::vector<const Task*> TasksOfSuites(const std::vector<std::string>& suites) {
  std::vector<const Task*> out;
  for (const Task& t : AllTasks()) {
    if (suites.empty() || std::find(suites.begin(), suites.end(), t.suite) != suites.end()) out.push_back(&t);
  }
  return out;
}

absl::StatusOr<const Task*> FindTask(const std::string& name) {
  for (const Task& t : AllTasks()) {
    if (t.name == name) return &t;
  }
  return absl::NotFoundError(absl::StrCat("no benchmark task named '", name, "'"));
}

Scene MakeScene(const Task& task, uint64_t seed, const PerturbationSpec& perturbation) {
  Random rng(StreamSeed(seed, static_cast<uint64_t>(task.index) + 1));
  Scene scene = Specs()[task.index].layout(rng);
  scene.gripper.x = rng.Uniform(-0.05, 0.05);
  scene.gripper.y = rng.Uniform(-0.32, -0.26);
  scene.gripper.z = kTravelHeight + rng.Uniform(-0.01, 0.01);
  // Perturbations draw from their own stream so the unperturbed layout is unchanged by them.
  Random prng(StreamSeed(seed, static_cast<uint64_t>(task.index) + 1, 77));
  ApplyPerturbation(perturbation, prng, &scene);
  return scene;
}

}  // namespace vlarft::tabletop
