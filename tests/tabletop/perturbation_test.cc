#include "libs/tabletop/perturbation.h"

#include <cmath>

#include "gtest/gtest.h"
#include "libs/tabletop/env.h"
#include "libs/tabletop/expert.h"
#include "libs/tabletop/tasks.h"

namespace vlarft::tabletop {
namespace {

bool Clamped(double x, double y) { return std::abs(x) >= 0.3 - 1e-12 || std::abs(y) >= 0.3 - 1e-12; }

TEST(PerturbationTest, EveryMovedItemMovesExactlyTheStatedDistance) {
  int full = 0, clamped = 0;
  for (const PerturbationSpec& spec : AllPerturbations()) {
    for (const Task& task : AllTasks()) {
      for (uint64_t seed : {9, 10}) {
        const Scene base = MakeScene(task, seed);
        const Scene moved = MakeScene(task, seed, spec);
        for (size_t i = 0; i < base.objects.size(); ++i) {
          const double d = std::hypot(moved.objects[i].x - base.objects[i].x, moved.objects[i].y - base.objects[i].y);
          if (!spec.MovesObjects()) {
            EXPECT_EQ(d, 0.0);
          } else if (Clamped(moved.objects[i].x, moved.objects[i].y)) {
            EXPECT_LE(d, spec.Offset() + 1e-9);
            ++clamped;
          } else {
            EXPECT_NEAR(d, spec.Offset(), 1e-9) << spec.Name() << " " << task.name;
            ++full;
          }
        }
        for (size_t i = 0; i < base.receptacles.size(); ++i) {
          const Receptacle &b = base.receptacles[i], &m = moved.receptacles[i];
          const double d = std::hypot(m.x - b.x, m.y - b.y);
          if (!spec.MovesGoals()) {
            EXPECT_EQ(d, 0.0);
          } else if (!Clamped(m.x, m.y)) {
            EXPECT_NEAR(d, spec.Offset(), 1e-9) << spec.Name() << " " << task.name;
          }
        }
        const Gripper &gb = base.gripper, &gm = moved.gripper;
        if (spec.MovesRobot()) {
          EXPECT_NEAR(std::hypot(gm.x - gb.x, gm.y - gb.y), spec.RobotOffset(), 1e-9);
          EXPECT_NEAR(std::abs(gm.z - gb.z), spec.RobotOffset() / 2, 1e-9);
        } else {
          EXPECT_EQ(gm.x, gb.x);
          EXPECT_EQ(gm.y, gb.y);
          EXPECT_EQ(gm.z, gb.z);
        }
      }
    }
  }
  EXPECT_GT(full, 10 * clamped) << "the table edge should rarely shorten a move";
}

TEST(PerturbationTest, MajorMovesFurtherThanMinorAndLayoutsStaySeparated) {
  const PerturbationSpec minor{Perturbation::kCombined, Magnitude::kMinor}, major{Perturbation::kCombined, Magnitude::kMajor};
  EXPECT_LT(minor.Offset(), major.Offset());
  EXPECT_LT(minor.RobotOffset(), major.RobotOffset());
  int overlaps = 0, pairs = 0;
  const PerturbationSpec combined{Perturbation::kCombined, Magnitude::kMajor};
  for (const Task& task : AllTasks()) {
    for (uint64_t seed = 0; seed < 5; ++seed) {
      const Scene s = MakeScene(task, seed, combined);
      for (size_t i = 0; i < s.objects.size(); ++i) {
        for (size_t j = i + 1; j < s.objects.size(); ++j, ++pairs) {
          overlaps += std::hypot(s.objects[i].x - s.objects[j].x, s.objects[i].y - s.objects[j].y) <
                      s.objects[i].half_size + s.objects[j].half_size;
        }
      }
    }
  }
  EXPECT_LE(overlaps, pairs / 100) << overlaps << " of " << pairs << " object pairs overlap";
}

TEST(PerturbationTest, PerturbedTasksStaySolvable) {
  for (const PerturbationSpec& spec : AllPerturbations()) {
    int solved = 0, episodes = 0;
    for (const Task& task : AllTasks()) {
      for (int e = 0; e < 5; ++e, ++episodes) {
        TabletopEnv env(task, StreamSeed(7, task.index, e), spec);
        ScriptedExpert expert({}, e);
        while (!env.done()) env.Step(expert.Act(env));
        solved += env.success();
      }
    }
    EXPECT_GE(solved, episodes * 95 / 100) << spec.Name();
  }
}

TEST(PerturbationTest, ParseAndNameRoundTrip) {
  for (const PerturbationSpec& spec : AllPerturbations()) {
    auto parsed = ParsePerturbation(spec.Name());
    ASSERT_TRUE(parsed.ok()) << spec.Name();
    EXPECT_EQ(parsed->mode, spec.mode);
    EXPECT_EQ(parsed->magnitude, spec.magnitude);
  }
  EXPECT_EQ(AllPerturbations().size(), 8u);
  EXPECT_EQ(ParsePerturbation("none")->mode, Perturbation::kNone);
  EXPECT_EQ(ParsePerturbation("robot_init")->magnitude, Magnitude::kMinor);
  EXPECT_EQ(ParsePerturbation("gravity").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_FALSE(ParsePerturbation("combined:huge").ok());
  EXPECT_FALSE(ParsePerturbation("combined:major:x").ok());
}

}  // namespace
}  // namespace vlarft::tabletop
