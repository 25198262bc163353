// How far a subgoal-conditioned policy's estimate of where to go next lies from the simulator's
// answer (tabletop::NextSubgoalXy), per suite: the localisation half of the policy measured on its
// own trajectories. `vlarft eval` prints it for policies with policy.subgoal_conditioning.
#pragma once

#include <map>
#include <string>
#include <vector>

namespace vlarft::cli {

class SubgoalErrorTable {
 public:
  // One decision of an episode of task `task_index` (tabletop::AllTasks()); error in metres.
  void Add(int task_index, double error_m);
  bool empty() const { return errors_.empty(); }
  void Clear() { errors_.clear(); }
  // | suite | decisions | median cm | 90th percentile cm | within 3 cm % |, suites in benchmark order,
  // then all decisions together.
  std::string Markdown() const;

 private:
  std::map<std::string, std::vector<double>> errors_;  // suite -> errors (metres)
};

}  // namespace vlarft::cli
