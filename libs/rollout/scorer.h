// What the rollout loop (group_producer.h) needs from a reward: one reward per sample of a group.
// Implementations: the verifier in process (verifier_scorer.h) or over gRPC (services/rollout), and
// the benchmark's ground truth (ground_truth_scorer.h).
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "libs/core/torch_compat.h"
#include "libs/rollout/imaginer.h"
#include "libs/rollout/prompt.h"

namespace vlarft::rollout {

struct ScoreInputs {
  std::string group_id;
  const Prompt* prompt = nullptr;
  torch::Tensor frames;             // uint8 [G, T, h, w, 3]: every chunk's frames, in order
  torch::Tensor reference_frames;   // uint8 [T, h, w, 3]: the simulator's frames of the expert's chunks
  torch::Tensor actions;            // float [G, T, A], environment units
  torch::Tensor reference_actions;  // float [T, A]
  ImaginationSession* session = nullptr;  // what imagined the frames (ground truth, if it has any)
};

// Reward type 2's reference: the real dataset frames that followed the prompt, one per scored
// frame. FAILED_PRECONDITION when the prompt has fewer.
absl::StatusOr<torch::Tensor> RealReferenceFrames(const ScoreInputs& inputs);

class Scorer {
 public:
  virtual ~Scorer() = default;
  virtual std::string name() const = 0;
  // float [G].
  virtual absl::StatusOr<torch::Tensor> Score(const ScoreInputs& inputs) = 0;
};

}  // namespace vlarft::rollout
