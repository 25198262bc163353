// The rollout loop as a library (docs/architecture.md, "The rollout loop"): from one prompt,
// sample G SDE action chunks with their denoising chains and old log-probs, have the simulator
// imagine them and the expert's chunk, score the group, and return it as the learner's input. The
// gRPC rollout worker, `vlarft study rft` and the tests all run this code; only the Imaginer and
// the Scorer differ.
//
// Closed loop (horizon H > 1): chunk k+1 of sample i is sampled from sample i's last frame of
// chunk k, with the proprio rolled forward through sample i's earlier chunks
// (rl/proprio_rollforward.h; the learner applies the same rule when it recomputes log-probs).
#pragma once

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "libs/core/rng.h"
#include "libs/rl/rollout_group.h"
#include "libs/rollout/imaginer.h"
#include "libs/rollout/policy_replica.h"
#include "libs/rollout/prompt.h"
#include "libs/rollout/scorer.h"

namespace vlarft::rollout {

struct GroupProducerOptions {
  int64_t group_size = 16;
  int64_t horizon = 1;
  double wm_temperature = 1.0;
  int64_t wm_top_k = 0;
  double wm_top_p = 0.0;
  absl::Status Validate() const;
};

struct StageSeconds {
  double policy = 0, simulator = 0, reward = 0, total = 0;
};

struct ProducedGroup {
  rl::RolloutGroupData data;
  StageSeconds seconds;
};

class GroupProducer {
 public:
  // Borrowed pointers; they must outlive the producer. Thread-safe if the imaginer and scorer are.
  GroupProducer(GroupProducerOptions options, PolicyReplica* policy, Imaginer* imaginer, Scorer* scorer)
      : options_(options), policy_(policy), imaginer_(imaginer), scorer_(scorer) {}

  // `seeds` roots every random draw of the group (policy noise under "policy", the world model's
  // under "world_model"), so a group is reproducible from it.
  absl::StatusOr<ProducedGroup> Produce(const Prompt& prompt, const core::SeedPath& seeds, std::string group_id) const;

  const GroupProducerOptions& options() const { return options_; }

 private:
  GroupProducerOptions options_;
  PolicyReplica* policy_;
  Imaginer* imaginer_;
  Scorer* scorer_;
};

}  // namespace vlarft::rollout
