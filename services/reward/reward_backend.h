// What the reward-verifier service needs from the reward library: its facts and batched scoring of
// several callers' groups. The production backend wraps libs/rl's reward functions and perceptual
// distances (reward_backend_impl.h).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "libs/core/torch_compat.h"
#include "vlarft/v1/reward.pb.h"

namespace vlarft::services {

struct VerifierFacts {
  v1::RewardType default_type = v1::REWARD_TYPE_IMAGINED_VS_IMAGINED_EXPERT;
  std::string perceptual_distance = "tokenizer";
  std::string aggregation = "mean";
  double w_l1 = 1.0;
  double w_perceptual = 1.0;
  int64_t frame_height = 64;
  int64_t frame_width = 64;
  int64_t action_dim = 7;
  int64_t max_group_size = 32;
  int64_t max_frames = 64;  // T per trajectory
};

struct ScoreJob {
  v1::RewardType type = v1::REWARD_TYPE_IMAGINED_VS_IMAGINED_EXPERT;
  torch::Tensor frames;             // uint8 [G, T, H, W, 3] (types 2, 3)
  torch::Tensor reference_frames;   // uint8 [T, H, W, 3]    (types 2, 3)
  torch::Tensor actions;            // float [G, T, A]       (type 1)
  torch::Tensor reference_actions;  // float [T, A]          (type 1)
  int64_t group_size() const { return frames.defined() ? frames.size(0) : actions.size(0); }
};

struct ScoreResult {
  torch::Tensor rewards;     // float [G]
  torch::Tensor l1;          // float [G]
  torch::Tensor perceptual;  // float [G] (zeros for type 1)
  torch::Tensor per_frame;   // float [G, T]
};

// One result or error per job of a batch, in the jobs' order.
using ScoreResults = std::vector<absl::StatusOr<ScoreResult>>;

class RewardBackend {
 public:
  virtual ~RewardBackend() = default;
  virtual const VerifierFacts& Facts() const = 0;
  // Scores every job. A batch-level error the scorer raises for one bad job (INVALID_ARGUMENT) is
  // isolated by the BatchScheduler, which scores that batch's jobs again one by one.
  virtual absl::StatusOr<ScoreResults> ScoreBatch(const std::vector<const ScoreJob*>& jobs) = 0;
};

}  // namespace vlarft::services
