// How far a subgoal-conditioned policy's estimate of where to go next lies from the simulator's
// answer (tabletop::NextSubgoalXy), per suite: the localisation half of the policy measured on its
// own trajectories. `vlarft eval` prints it for policies with a subgoal head (policy.subgoal_localiser).
#pragma once

#include <map>
#include <string>
#include <vector>

namespace vlarft::evaluation {

class SubgoalErrorTable {
 public:
  // One decision of an episode of task `task_index` (tabletop::AllTasks()) after `step` environment
  // steps; error in metres. First decisions (step 0) see the scene as the demonstrations start it;
  // later ones see the policy's own, possibly failed, states.
  void Add(int task_index, int step, double error_m);
  bool empty() const { return errors_.empty(); }
  void Clear() { errors_.clear(), first_errors_.clear(); }
  // Per suite (benchmark order), then all: first decisions (median cm, within 3 cm %) and all
  // decisions (count, median cm, 90th percentile cm, within 3 cm %).
  std::string Markdown() const;

 private:
  std::map<std::string, std::vector<double>> errors_, first_errors_;  // suite -> errors (metres)
};

}  // namespace vlarft::evaluation
