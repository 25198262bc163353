#include "libs/tabletop/subgoal.h"

namespace vlarft::tabletop {

std::array<float, 2> NextSubgoalXy(const TabletopEnv& env) {
  const Scene& scene = env.scene();
  for (const Goal& goal : env.task().goals) {
    if (GoalSatisfied(scene, goal)) continue;
    const int object = scene.FindObject(goal.object);
    if (object < 0) break;
    if (scene.gripper.holding != object) {
      return {static_cast<float>(scene.objects[object].x), static_cast<float>(scene.objects[object].y)};
    }
    if (goal.kind == Goal::Kind::kOnObject) {
      const int below = scene.FindObject(goal.target);
      if (below < 0) break;
      return {static_cast<float>(scene.objects[below].x), static_cast<float>(scene.objects[below].y)};
    }
    const int receptacle = scene.FindReceptacle(goal.target);
    if (receptacle < 0) break;
    return {static_cast<float>(scene.receptacles[receptacle].x), static_cast<float>(scene.receptacles[receptacle].y)};
  }
  return {static_cast<float>(scene.gripper.x), static_cast<float>(scene.gripper.y)};
}

}  // namespace vlarft::tabletop
