#include "libs/tabletop/env.h"

#include <algorithm>
#include <cmath>
#include <set>

#include "gtest/gtest.h"
#include "libs/tabletop/expert.h"
#include "libs/tabletop/random.h"

namespace vlarft::tabletop {
namespace {

TEST(TasksTest, FourSuitesOfTenTasksWithUniqueNamesAndInstructions) {
  ASSERT_EQ(AllTasks().size(), 40u);
  std::set<std::string> names, instructions;
  for (const std::string& suite : SuiteNames()) EXPECT_EQ(TasksOfSuites({suite}).size(), 10u) << suite;
  for (size_t i = 0; i < AllTasks().size(); ++i) {
    const Task& t = AllTasks()[i];
    EXPECT_EQ(t.index, static_cast<int>(i));
    names.insert(t.name);
    instructions.insert(t.instruction);
    EXPECT_EQ(t.goals.size(), t.suite == "long" ? 2u : 1u) << t.name;
    EXPECT_EQ(t.name.find(' '), std::string::npos) << "task names are file names";
    EXPECT_EQ(t.max_steps, t.suite == "long" ? 160 : 80);
  }
  EXPECT_EQ(names.size(), 40u);
  EXPECT_EQ(instructions.size(), 40u);
  EXPECT_EQ((*FindTask(AllTasks()[7].name))->index, 7);
  EXPECT_EQ(FindTask("nope").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(TasksOfSuites({}).size(), 40u);
  EXPECT_EQ(TasksOfSuites({"goal", "long"}).size(), 20u);
}

// What each suite varies mirrors LIBERO: spatial keeps the objects and moves them, goal keeps the
// layout and changes the instruction, object changes which object is named.
TEST(TasksTest, SuitesVaryWhatLiberoVaries) {
  for (const Task* task : TasksOfSuites({"spatial"})) {
    const Scene s = MakeScene(*task, 1);
    ASSERT_EQ(s.objects.size(), 2u);
    EXPECT_EQ(s.objects[0].color.name, s.objects[1].color.name) << "two identical objects, told apart by a relation";
    EXPECT_EQ(s.objects[0].shape, s.objects[1].shape);
  }
  const Scene a = MakeScene(*TasksOfSuites({"goal"})[0], 3), b = MakeScene(*TasksOfSuites({"goal"})[7], 3);
  ASSERT_EQ(a.objects.size(), b.objects.size());
  for (size_t i = 0; i < a.objects.size(); ++i) {
    EXPECT_EQ(a.objects[i].name, b.objects[i].name);
    EXPECT_NEAR(a.objects[i].x, b.objects[i].x, 0.05) << "goal tasks share one layout";
  }
  std::set<std::string> targets;
  for (const Task* task : TasksOfSuites({"object"})) {
    targets.insert(task->goals[0].object);
    EXPECT_EQ(task->goals[0].target, "basket");
    const Scene s = MakeScene(*task, 2);
    EXPECT_GE(s.FindObject(task->goals[0].object), 0);
    EXPECT_GE(s.objects.size(), 4u) << "distractors";
  }
  EXPECT_EQ(targets.size(), 10u);
}

TEST(EnvTest, SameSeedSameEpisodeBitForBit) {
  for (int task_index : {3, 17, 25, 35}) {
    const Task& task = AllTasks()[task_index];
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
    EXPECT_EQ(run(5), run(5)) << task.name;
    EXPECT_NE(run(5).second, run(6).second) << task.name;
  }
}

// Acceptance: the noise-free expert solves every task in >= 95% of layouts, within the expected
// episode lengths (max_steps leaves ~1.5-2x headroom for policies).
TEST(EnvTest, NoiseFreeExpertSolvesEveryTask) {
  constexpr int kEpisodes = 50;
  for (const Task& task : AllTasks()) {
    int solved = 0, longest = 0;
    for (int e = 0; e < kEpisodes; ++e) {
      TabletopEnv env(task, StreamSeed(123, task.index, e));
      ScriptedExpert expert({}, e);
      while (!env.done()) env.Step(expert.Act(env));
      solved += env.success();
      longest = std::max(longest, env.steps());
    }
    EXPECT_GE(solved, 48) << task.name << " solved " << solved << "/" << kEpisodes;
    EXPECT_LE(longest, task.suite == "long" ? 120 : 60) << task.name;
  }
}

TEST(EnvTest, GraspCarryAndReleaseIntoAReceptacle) {
  const Task& task = *FindTask("goal_put_the_red_cube_in_the_bowl").value();
  TabletopEnv env(task, 1);
  const int cube = env.scene().FindObject("red cube");
  const double cx = env.scene().objects[cube].x, cy = env.scene().objects[cube].y;
  ScriptedExpert expert({}, 1);
  bool lifted = false, carried = false;
  while (!env.done()) {
    env.Step(expert.Act(env));
    const Object& now = env.scene().objects[cube];
    const Gripper& g = env.scene().gripper;
    lifted |= now.z > 0.05;
    if (g.holding == cube) {
      carried = true;
      EXPECT_DOUBLE_EQ(now.x, g.x);  // carried objects follow the gripper
      EXPECT_DOUBLE_EQ(now.y, g.y);
      EXPECT_FLOAT_EQ(env.proprio().gripper_states[0], static_cast<float>(now.half_size));
    }
  }
  EXPECT_TRUE(lifted && carried);
  ASSERT_TRUE(env.success());
  const Object& end = env.scene().objects[cube];
  EXPECT_GT(std::hypot(end.x - cx, end.y - cy), 0.05);
  EXPECT_EQ(end.inside, env.scene().FindReceptacle("bowl"));
  EXPECT_DOUBLE_EQ(end.z, env.scene().receptacles[end.inside].height);
  EXPECT_EQ(env.scene().gripper.holding, -1);
  // A solved episode is over: further steps change nothing.
  const Scene before = env.scene();
  env.Step({1, 1, 1, 0, 0, 0, 1});
  EXPECT_EQ(env.scene().gripper.x, before.gripper.x);
}

// Steps towards (x, y, z) at full speed with the gripper `closed` until there.
void DriveTo(TabletopEnv& env, double x, double y, double z, bool closed) {
  for (int i = 0; i < 40; ++i) {
    const Gripper& g = env.scene().gripper;
    auto unit = [](double d) { return static_cast<float>(std::clamp(d / kStepMetres, -1.0, 1.0)); };
    env.Step({unit(x - g.x), unit(y - g.y), unit(z - g.z), 0, 0, 0, closed ? 1.f : -1.f});
    if (std::abs(g.x - x) < 1e-9 && std::abs(g.y - y) < 1e-9 && std::abs(g.z - z) < 1e-9) return;
  }
}

TEST(EnvTest, StackingRestsOnTheObjectBelowAndOnlyTheTopCanBeTaken) {
  const Task* task = nullptr;
  for (const Task* t : TasksOfSuites({"long"})) {
    if (t->goals[0].kind == Goal::Kind::kOnObject && t->goals[0].object == "red cube" && t->goals[0].target == "blue cube") task = t;
  }
  ASSERT_NE(task, nullptr);
  TabletopEnv env(*task, 4);
  ScriptedExpert expert({}, 4);
  while (!env.done() && !(GoalSatisfied(env.scene(), task->goals[0]) && !env.scene().gripper.closed)) {
    env.Step(expert.Act(env));
  }
  ASSERT_FALSE(env.done());
  const Scene& s = env.scene();
  const int red = s.FindObject("red cube"), blue = s.FindObject("blue cube");
  ASSERT_EQ(s.objects[red].resting_on, blue);
  EXPECT_DOUBLE_EQ(s.objects[red].z, s.objects[blue].z + s.objects[blue].height);
  EXPECT_DOUBLE_EQ(s.objects[red].x, s.objects[blue].x) << "placed where the expert aimed";
  // Closing around the bottom cube grasps nothing: the red one stands on it.
  const double x = s.objects[blue].x, y = s.objects[blue].y;
  DriveTo(env, x, y, kTravelHeight, false);
  DriveTo(env, x, y, s.objects[blue].z + s.objects[blue].height / 2, false);
  DriveTo(env, x, y, s.gripper.z, true);
  EXPECT_EQ(s.gripper.holding, -1);
  // Opening, rising to the top cube and closing takes it off the stack.
  DriveTo(env, x, y, s.gripper.z, false);
  DriveTo(env, x, y, s.objects[red].z + s.objects[red].height / 2, false);
  DriveTo(env, x, y, s.gripper.z, true);
  EXPECT_EQ(s.gripper.holding, red);
  EXPECT_EQ(s.objects[red].resting_on, -1);
  EXPECT_FALSE(GoalSatisfied(s, task->goals[0])) << "a held object satisfies no placement goal";
}

TEST(EnvTest, ActionsAreClampedScaledAndSanitised) {
  const Task& task = AllTasks()[0];
  TabletopEnv env(task, 2);
  const Gripper start = env.scene().gripper;
  env.Step({0.5f, -0.5f, 0, 0.3f, 0.3f, 0.3f, -1});
  EXPECT_NEAR(env.scene().gripper.x - start.x, 0.5 * kStepMetres, 1e-12);
  EXPECT_NEAR(env.scene().gripper.y - start.y, -0.5 * kStepMetres, 1e-12);
  env.Step({7, 0, 0, 0, 0, 0, -1});  // beyond [-1, 1]: one full step
  EXPECT_NEAR(env.scene().gripper.x - start.x, 1.5 * kStepMetres, 1e-12);
  for (int i = 0; i < 40; ++i) env.Step({1, 1, 1, 0, 0, 0, -1});
  EXPECT_DOUBLE_EQ(env.scene().gripper.x, kWorkspace);
  EXPECT_DOUBLE_EQ(env.scene().gripper.z, kMaxHeight);
  env.Step({NAN, INFINITY, NAN, 0, 0, 0, NAN});
  EXPECT_DOUBLE_EQ(env.scene().gripper.x, kWorkspace);
  EXPECT_FALSE(env.scene().gripper.closed);
  // Closing in mid-air grasps nothing; fingers read closed.
  env.Step({0, 0, 0, 0, 0, 0, 1});
  EXPECT_TRUE(env.scene().gripper.closed);
  EXPECT_EQ(env.scene().gripper.holding, -1);
  EXPECT_EQ(env.proprio().gripper_states[0], 0.f);
  EXPECT_EQ(env.proprio().ee_states[2], static_cast<float>(kMaxHeight));
  EXPECT_EQ(env.steps(), 44);
  EXPECT_FALSE(env.success());
}

TEST(EnvTest, EpisodesEndAtMaxSteps) {
  const Task& task = AllTasks()[12];
  TabletopEnv env(task, 3);
  int steps = 0;
  while (!env.done()) env.Step({0, 0, 0, 0, 0, 0, -1}), ++steps;
  EXPECT_EQ(steps, task.max_steps);
  EXPECT_FALSE(env.success());
}

}  // namespace
}  // namespace vlarft::tabletop
