// NextSubgoalXy, the privileged subgoal, against what the demonstrations label: the gripper's
// position where the expert next closes or opens it.
#include "libs/tabletop/subgoal.h"

#include <cmath>

#include "gtest/gtest.h"
#include "libs/tabletop/expert.h"
#include "libs/tabletop/tasks.h"

namespace vlarft::tabletop {
namespace {

TEST(SubgoalTest, PointsWhereTheExpertNextClosesOrOpensThroughBothGoalsOfALongTask) {
  const Task& task = *FindTask("long_put_the_red_cube_in_the_bowl_then_put_the_blue_cube_on_the_plate").value();
  for (uint64_t seed : {1, 2, 3}) {
    TabletopEnv env(task, seed);
    const Object& first = env.scene().objects[env.scene().FindObject("red cube")];
    std::array<float, 2> subgoal = NextSubgoalXy(env);
    EXPECT_FLOAT_EQ(subgoal[0], static_cast<float>(first.x));  // first: the first goal's object
    EXPECT_FLOAT_EQ(subgoal[1], static_cast<float>(first.y));
    ScriptedExpert expert({}, seed);
    int flips = 0;
    bool closed = env.scene().gripper.closed;
    while (!env.done()) {
      env.Step(expert.Act(env));
      const Gripper& g = env.scene().gripper;
      if (g.closed != closed) {  // the subgoal before this step is where the flip happened
        ++flips;
        EXPECT_LT(std::hypot(g.x - subgoal[0], g.y - subgoal[1]), 0.03) << "flip " << flips << ", seed " << seed;
        closed = g.closed;
      }
      subgoal = NextSubgoalXy(env);
    }
    ASSERT_TRUE(env.success()) << seed;
    EXPECT_EQ(flips, 4) << "grasp, release, grasp, release";
    // Done: nothing left to reach, so the subgoal is the gripper itself.
    EXPECT_FLOAT_EQ(subgoal[0], static_cast<float>(env.scene().gripper.x));
    EXPECT_FLOAT_EQ(subgoal[1], static_cast<float>(env.scene().gripper.y));
  }
}

TEST(SubgoalTest, WhileHoldingItIsTheTargetReceptacleOrTheObjectBelow) {
  for (const char* name : {"goal_put_the_red_cube_in_the_bowl", "goal_stack_the_red_cube_on_the_blue_cube"}) {
    const Task& task = *FindTask(name).value();
    TabletopEnv env(task, 4);
    ScriptedExpert expert({}, 4);
    const Scene& scene = env.scene();
    bool checked = false;
    while (!env.done()) {
      env.Step(expert.Act(env));
      if (scene.gripper.holding < 0 || checked) continue;
      const Goal& goal = task.goals[0];
      const std::array<float, 2> subgoal = NextSubgoalXy(env);
      double x, y;
      if (goal.kind == Goal::Kind::kOnObject) {
        const Object& below = scene.objects[scene.FindObject(goal.target)];
        x = below.x, y = below.y;
      } else {
        const Receptacle& r = scene.receptacles[scene.FindReceptacle(goal.target)];
        x = r.x, y = r.y;
      }
      EXPECT_FLOAT_EQ(subgoal[0], static_cast<float>(x)) << name;
      EXPECT_FLOAT_EQ(subgoal[1], static_cast<float>(y)) << name;
      checked = true;
    }
    EXPECT_TRUE(checked && env.success()) << name;
  }
}

}  // namespace
}  // namespace vlarft::tabletop
