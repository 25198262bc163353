// `vlarft eval --record_dir`: a Policy decorator that keeps the frames a policy decided on for the
// first episodes of every task and writes them as captioned PNG strips, with the gripper's and the
// goal object's true positions printed per decision. Looking at what a policy did is the quickest
// way to tell "never finds the object" from "misses the grasp by a pixel" from "wrong object".
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "libs/tabletop/evaluation.h"
#include "libs/viz/image.h"

namespace vlarft::cli {

class RecordingPolicy : public tabletop::Policy {
 public:
  // Records episodes whose index within their task is < `episodes_per_task_recorded`; `envs` is the
  // vector Evaluate() fills (true state for the captions).
  RecordingPolicy(tabletop::Policy* inner, const std::vector<const tabletop::TabletopEnv*>* envs,
                  int episodes_per_task, int episodes_per_task_recorded);

  std::string name() const override { return inner_->name(); }
  absl::StatusOr<std::vector<tabletop::ActionChunk>> ActBatch(const std::vector<tabletop::Observation>& observations) override;

  // One PNG per recorded episode: <dir>/<task>_ep<e>.png. Clears what was recorded.
  absl::Status WriteStrips(const std::string& dir, const std::string& prefix);

 private:
  struct Recorded {
    std::string task;
    int episode_in_task = 0;
    std::vector<viz::Image> frames;
  };
  tabletop::Policy* inner_;
  const std::vector<const tabletop::TabletopEnv*>* envs_;
  int episodes_per_task_;
  int recorded_per_task_;
  std::map<int, Recorded> episodes_;  // by evaluation episode index
};

}  // namespace vlarft::cli
