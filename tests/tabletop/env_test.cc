#include "libs/tabletop/env.h"

#include <cmath>
#include <set>

#include "gtest/gtest.h"
#include "libs/tabletop/expert.h"

namespace vlarft::tabletop {
namespace {

TEST(TasksTest, FourSuitesOfTenTasksWithUniqueNamesAndInstructions) {
  ASSERT_EQ(AllTasks().size(), 40u);
  std::set<std::string> names, instructions;
  for (const std::string& suite : SuiteNames()) EXPECT_EQ(TasksOfSuites({suite}).size(), 10u) << suite;
  for (const Task& t : AllTasks()) {
    names.insert(t.name);
    instructions.insert(t.instruction);
    EXPECT_EQ(t.goals.size(), t.suite == "long" ? 2u : 1u) << t.name;
  }
  EXPECT_EQ(names.size(), 40u);
  EXPECT_EQ(instructions.size(), 40u);
  EXPECT_TRUE(FindTask(AllTasks()[7].name).ok());
  EXPECT_FALSE(FindTask("nope").ok());
}

TEST(EnvTest, SameSeedSameEpisodeBitForBit) {
  const Task& task = AllTasks()[35];
  auto run = [&](uint64_t seed) {
    TabletopEnv env(task, seed);
    ScriptedExpert expert({0.2, 0.05}, seed);
    std::vector<uint8_t> frames;
    std::vector<float> actions;
    while (!env.done()) {
      const Action a = expert.Act(env);
      actions.insert(actions.end(), a.begin(), a.end());
      env.Step(a);
      const std::vector<uint8_t> f = env.Render(32);
      frames.insert(frames.end(), f.begin(), f.end());
    }
    return std::make_pair(frames, actions);
  };
  EXPECT_EQ(run(5), run(5));
  EXPECT_NE(run(5).second, run(6).second);
}

// Acceptance: the noise-free expert solves every task (>= 95% of seeds).
TEST(EnvTest, NoiseFreeExpertSolvesEveryTask) {
  for (const Task& task : AllTasks()) {
    int solved = 0;
    constexpr int kEpisodes = 20;
    for (int seed = 0; seed < kEpisodes; ++seed) {
      TabletopEnv env(task, StreamSeed(123, task.index, seed));
      ScriptedExpert expert({}, seed);
      while (!env.done()) env.Step(expert.Act(env));
      solved += env.success();
    }
    EXPECT_GE(solved, 19) << task.name << " solved " << solved << "/" << kEpisodes;
  }
}

TEST(EnvTest, GraspCarryReleasePhysics) {
  const Task& task = **FindTask(AllTasks()[20].name);  // goal: red cube in the bowl
  TabletopEnv env(task, 1);
  const Object& cube = env.scene().objects[env.scene().FindObject("red cube")];
  const double cx = cube.x, cy = cube.y;
  ScriptedExpert expert({}, 1);
  bool lifted = false;
  while (!env.done()) {
    env.Step(expert.Act(env));
    const Object& now = env.scene().objects[env.scene().FindObject("red cube")];
    if (now.z > 0.05) lifted = true;
  }
  EXPECT_TRUE(lifted);
  EXPECT_TRUE(env.success());
  const Object& end = env.scene().objects[env.scene().FindObject("red cube")];
  EXPECT_GT(std::hypot(end.x - cx, end.y - cy), 0.05);
  EXPECT_EQ(end.inside, env.scene().FindReceptacle("bowl"));
  // Closing away from any object grasps nothing; NaN actions do not corrupt the state.
  TabletopEnv idle(task, 2);
  idle.Step({0, 0, 1, 0, 0, 0, 1});
  EXPECT_EQ(idle.scene().gripper.holding, -1);
  idle.Step({NAN, NAN, NAN, 0, 0, 0, NAN});
  EXPECT_TRUE(std::isfinite(idle.scene().gripper.x));
  EXPECT_EQ(idle.proprio().gripper_states[0], 0.04f);
}

TEST(PerturbationTest, MagnitudesAreHonoured) {
  for (const PerturbationSpec& spec : AllPerturbations()) {
    for (const Task* task : TasksOfSuites({"object"})) {
      const Scene base = MakeScene(*task, 9);
      const Scene moved = MakeScene(*task, 9, spec);
      const bool objects = spec.mode == Perturbation::kObjectPosition || spec.mode == Perturbation::kCombined;
      const bool goals = spec.mode == Perturbation::kGoalPosition || spec.mode == Perturbation::kCombined;
      for (size_t i = 0; i < base.objects.size(); ++i) {
        const double d = std::hypot(moved.objects[i].x - base.objects[i].x, moved.objects[i].y - base.objects[i].y);
        if (objects) EXPECT_LE(d, spec.Offset() + 1e-9); else EXPECT_EQ(d, 0.0);
        if (objects && std::abs(base.objects[i].x) < 0.2 && std::abs(base.objects[i].y) < 0.2) {
          EXPECT_NEAR(d, spec.Offset(), 1e-9) << "away from the border the full offset applies";
        }
      }
      for (size_t i = 0; i < base.receptacles.size(); ++i) {
        const double d = std::hypot(moved.receptacles[i].x - base.receptacles[i].x,
                                    moved.receptacles[i].y - base.receptacles[i].y);
        if (goals) EXPECT_LE(d, spec.Offset() + 1e-9); else EXPECT_EQ(d, 0.0);
      }
      const double robot = std::hypot(moved.gripper.x - base.gripper.x, moved.gripper.y - base.gripper.y);
      if (spec.mode == Perturbation::kRobotInit || spec.mode == Perturbation::kCombined) {
        EXPECT_LE(robot, spec.RobotOffset() * std::sqrt(2.0) + 1e-9);
      } else {
        EXPECT_EQ(robot, 0.0);
      }
    }
  }
  EXPECT_EQ(ParsePerturbation("combined:major")->Name(), "combined:major");
  EXPECT_FALSE(ParsePerturbation("gravity").ok());
}

}  // namespace
}  // namespace vlarft::tabletop
