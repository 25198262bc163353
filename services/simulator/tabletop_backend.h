// The real benchmark behind the simulator service (simulator.backend = tabletop): the same four
// processes then do RL against a real simulator, as RLinf or SimpleVLA-RL users do, instead of a
// learned world model. Each new group names its demonstration state (ImagineRequest.prompt); the
// backend rebuilds it bit for bit (libs/data/demo_replay.h), executes every sample's chunk and the
// expert reference there and returns the rendered frames (libs/rollout/tabletop_imaginer.h).
// Closed-loop sessions keep the executed environments.
#pragma once

#include <map>
#include <memory>
#include <string>

#include "absl/synchronization/mutex.h"
#include "libs/data/demo_dataset.h"
#include "libs/rollout/tabletop_imaginer.h"
#include "services/simulator/session_table.h"
#include "services/simulator/world_model_backend.h"

namespace vlarft::services {

class TabletopBackend : public WorldModelBackend {
 public:
  TabletopBackend(std::unique_ptr<data::DemoDataset> dataset, SimulatorFacts facts, absl::Duration session_timeout);

  const SimulatorFacts& Facts() const override { return facts_; }
  // Jobs run one after another, and so do batches (several scheduler lanes wait for each other here:
  // a session's real simulator is stepped by one chunk at a time); a job that cannot run (no prompt,
  // a state that is not the frame's) gets its own error naming the problem.
  absl::StatusOr<ImagineResults> ImagineBatch(const std::vector<const ImagineJob*>& jobs) override;
  absl::Status ReleaseSession(const std::string& session_id) override;
  bool HasSession(const std::string& session_id) const override;
  int64_t KvCacheBytes() const override { return 0; }

 private:
  absl::StatusOr<ImagineResult> Run(const ImagineJob& job);
  absl::Mutex run_mu_;  // one batch at a time
  std::unique_ptr<data::DemoDataset> dataset_;
  rollout::TabletopImaginer imaginer_;
  SimulatorFacts facts_;
  // Shared handles: a session released while its chunk runs stays alive until the chunk is done.
  SessionTable<std::shared_ptr<rollout::ImaginationSession>> sessions_;
};

// Loads the demonstrations the rollout workers draw prompts from (same directory, suites and frame
// size, so episode indices agree; a mismatch fails each request's frame check, never silently).
absl::StatusOr<std::unique_ptr<TabletopBackend>> LoadTabletopBackend(const std::string& dataset,
                                                                     const std::vector<std::string>& suites,
                                                                     int64_t image_size, int64_t max_group_size,
                                                                     int64_t max_horizon, absl::Duration session_timeout);

}  // namespace vlarft::services
