#include "libs/tabletop/render.h"

#include <array>
#include <cmath>

#include "gtest/gtest.h"
#include "libs/tabletop/env.h"
#include "libs/tabletop/expert.h"

namespace vlarft::tabletop {
namespace {

std::array<int, 3> Pixel(const std::vector<uint8_t>& f, int size, double x, double y) {
  const int col = static_cast<int>((x + kHalfExtent) / (2 * kHalfExtent) * size);
  const int row = static_cast<int>((kHalfExtent - y) / (2 * kHalfExtent) * size);
  const uint8_t* p = &f[(static_cast<size_t>(row) * size + col) * 3];
  return {p[0], p[1], p[2]};
}

uint64_t Fnv1a(const std::vector<uint8_t>& bytes) {
  uint64_t hash = 1469598103934665603ull;
  for (uint8_t v : bytes) hash = (hash ^ v) * 1099511628211ull;
  return hash;
}

// Pixels within `radius` metres of (x, y) whose colour is close to `rgb`.
int CountNear(const std::vector<uint8_t>& f, int size, double x, double y, double radius, std::array<int, 3> rgb, int tolerance) {
  int n = 0;
  for (int row = 0; row < size; ++row) {
    for (int col = 0; col < size; ++col) {
      const double px = -kHalfExtent + (col + 0.5) * 2 * kHalfExtent / size, py = kHalfExtent - (row + 0.5) * 2 * kHalfExtent / size;
      if (std::hypot(px - x, py - y) > radius) continue;
      const uint8_t* p = &f[(static_cast<size_t>(row) * size + col) * 3];
      n += std::abs(p[0] - rgb[0]) <= tolerance && std::abs(p[1] - rgb[1]) <= tolerance && std::abs(p[2] - rgb[2]) <= tolerance;
    }
  }
  return n;
}

// Golden probes: object centres show their colour (its dominant channel clearly on top), the
// table shows table colour, at every size.
TEST(RenderTest, ObjectsAreWhereTheSceneSaysAtAnySize) {
  for (const Task* task : TasksOfSuites({"object", "goal"})) {
    TabletopEnv env(*task, 3);
    for (int size : {64, 128, 256}) {
      const std::vector<uint8_t> frame = env.Render(size);
      ASSERT_EQ(frame.size(), static_cast<size_t>(size * size * 3));
      for (const Object& o : env.scene().objects) {
        // Slightly off-centre: cylinders have a highlight in the middle-left.
        const auto p = Pixel(frame, size, o.x + 0.005, o.y - 0.005);
        const auto& c = o.color.rgb;
        const int dominant = c[0] >= c[1] && c[0] >= c[2] ? 0 : (c[1] >= c[2] ? 1 : 2);
        for (int k = 0; k < 3; ++k) {
          if (k != dominant && c[k] + 60 < c[dominant]) {
            EXPECT_GT(p[dominant], p[k] + 30) << o.name << " at size " << size << " in " << task->name;
          }
        }
      }
      const auto table = Pixel(frame, size, -0.39, 0.39);
      EXPECT_GT(table[0], 150);
      EXPECT_GT(table[0], table[2] + 20);
    }
  }
}

// Pins the renderer's output (update these deliberately when the look changes). Only +, -, *, /
// and sqrt are used, so the values are the same on every IEEE-754 machine and compiler.
TEST(RenderTest, GoldenHashes) {
  TabletopEnv spatial(AllTasks()[0], 1), goal(AllTasks()[20], 2);
  EXPECT_EQ(Fnv1a(spatial.Render(32)), 8584452340166882702ull) << "spatial 32";
  EXPECT_EQ(Fnv1a(goal.Render(64)), 13832663422402127164ull) << "goal 64";
  goal.Step({1, -1, -1, 0, 0, 0, 1});
  EXPECT_EQ(Fnv1a(goal.Render(48)), 11226520135239318845ull) << "goal 48 after a step";
}

TEST(RenderTest, DeterministicAndRenderIntoMatches) {
  const Task& task = AllTasks()[30];
  TabletopEnv a(task, 1), b(task, 1);
  EXPECT_EQ(a.Render(64), b.Render(64));
  std::vector<uint8_t> into(100 * 100 * 3);
  a.RenderInto(100, into.data());
  EXPECT_EQ(into, a.Render(100));
}

TEST(RenderTest, GripperHeightAndOpeningAreVisible) {
  const Task& task = AllTasks()[10];
  TabletopEnv low(task, 5), high(task, 5);
  for (int i = 0; i < 10; ++i) {
    low.Step({0, 0, -1, 0, 0, 0, -1});
    high.Step({0, 0, 1, 0, 0, 0, -1});
  }
  ASSERT_LT(low.scene().gripper.z, 0.05);
  ASSERT_GT(high.scene().gripper.z, 0.25);
  const int size = 128;
  const Gripper& gl = low.scene().gripper;
  const Gripper& gh = high.scene().gripper;
  // The gripper's metal grows with height (perspective) ...
  const std::array<int, 3> metal_low = {static_cast<int>(70 * (0.8 + 1.5 * gl.z)), static_cast<int>(72 * (0.8 + 1.5 * gl.z)),
                                        static_cast<int>(84 * (0.8 + 1.5 * gl.z))};
  const std::array<int, 3> metal_high = {static_cast<int>(70 * (0.8 + 1.5 * gh.z)), static_cast<int>(72 * (0.8 + 1.5 * gh.z)),
                                         static_cast<int>(84 * (0.8 + 1.5 * gh.z))};
  const int n_low = CountNear(low.Render(size), size, gl.x, gl.y, 0.12, metal_low, 3);
  const int n_high = CountNear(high.Render(size), size, gh.x, gh.y, 0.12, metal_high, 3);
  EXPECT_GT(n_high, n_low * 1.3) << n_low << " vs " << n_high;
  // ... and its shadow falls further away down-right.
  const auto shadow_high = Pixel(high.Render(size), size, gh.x + 0.35 * gh.z, gh.y - 0.35 * gh.z);
  const auto table_high = Pixel(low.Render(size), size, gh.x + 0.35 * gh.z, gh.y - 0.35 * gh.z);
  EXPECT_LT(shadow_high[0], table_high[0] - 20);
  // Closing the fingers changes the picture around the gripper only.
  TabletopEnv closed(task, 5);
  for (int i = 0; i < 10; ++i) closed.Step({0, 0, 1, 0, 0, 0, 1});
  const std::vector<uint8_t> open_frame = high.Render(size), closed_frame = closed.Render(size);
  int changed = 0, changed_far = 0;
  for (int row = 0; row < size; ++row) {
    for (int col = 0; col < size; ++col) {
      const size_t i = (static_cast<size_t>(row) * size + col) * 3;
      const bool differs = open_frame[i] != closed_frame[i] || open_frame[i + 1] != closed_frame[i + 1];
      const double px = -kHalfExtent + (col + 0.5) * 2 * kHalfExtent / size, py = kHalfExtent - (row + 0.5) * 2 * kHalfExtent / size;
      changed += differs;
      changed_far += differs && std::hypot(px - gh.x, py - gh.y) > 0.12;
    }
  }
  EXPECT_GT(changed, 20);
  EXPECT_EQ(changed_far, 0);
}

TEST(RenderTest, HeldObjectsLookBiggerThanResting) {
  const Task& task = *FindTask("goal_put_the_blue_cube_in_the_bowl").value();
  TabletopEnv env(task, 6);
  const int blue = env.scene().FindObject("blue cube");
  // Blue pixels along the image row through the cube's centre: its apparent width (the gripper
  // drawn over a held cube covers parts of it, but not that row).
  auto blue_width = [&](const TabletopEnv& e) {
    constexpr int kSize = 256;
    const std::vector<uint8_t> f = e.Render(kSize);
    const int row = static_cast<int>((kHalfExtent - e.scene().objects[blue].y) / (2 * kHalfExtent) * kSize);
    int n = 0;
    for (int col = 0; col < kSize; ++col) {
      const uint8_t* p = &f[(static_cast<size_t>(row) * kSize + col) * 3];
      n += p[2] > p[0] + 60 && p[2] > p[1] + 60;
    }
    return n;
  };
  const int resting = blue_width(env);
  // Grab it and lift it to travel height.
  ScriptedExpert expert({}, 6);
  while (!env.done() && !(env.scene().gripper.holding == blue && env.scene().gripper.z >= kTravelHeight - 1e-9)) {
    env.Step(expert.Act(env));
  }
  ASSERT_EQ(env.scene().gripper.holding, blue);
  EXPECT_GE(blue_width(env), resting + 2);
}

}  // namespace
}  // namespace vlarft::tabletop
