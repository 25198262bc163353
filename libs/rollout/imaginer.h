// What the rollout loop (group_producer.h) needs from a simulator: the frames a group of action
// chunks produces from a prompt, plus those of the expert's chunk (the reward's reference), one
// chunk at a time so a closed-loop rollout (horizon H > 1) can decide chunk k+1 from the frames of
// chunk k. Implementations: the world model in process (world_model_imaginer.h), the world model
// over gRPC (services/rollout), and the real benchmark (tabletop_imaginer.h), which also knows the
// ground truth of what the chunks did.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "libs/core/torch_compat.h"
#include "libs/rollout/prompt.h"

namespace vlarft::rollout {

struct ImagineSettings {
  int64_t group_size = 16;  // G
  int64_t horizon = 1;      // chunks the session will be asked for
  uint64_t seed = 0;        // the world model's random streams (derive per chunk/row inside)
  double temperature = 1.0;
  int64_t top_k = 0;
  double top_p = 0.0;
  // The in-process world model: decode each imagined token as its expected code under the model's
  // distribution (models::GroupJob::expected_codes). The simulator service refuses it
  // (UNIMPLEMENTED); the real benchmark has no tokens and ignores it.
  bool expected_codes = false;
  std::string request_id;   // names the group's requests in a remote simulator's logs
};

struct ImaginedChunk {
  torch::Tensor frames;     // uint8 [G, C, h, w, 3]: the frame after each action of each sample
  torch::Tensor reference;  // uint8 [C, h, w, 3]: the same for the expert's chunk
};

// Ground truth after the chunks executed so far, from a backend that has it (the real simulator).
struct GroundTruth {
  torch::Tensor success;   // bool [G]: solved within the task's step budget
  torch::Tensor progress;  // float [G]: the chunk's value (tabletop_imaginer.h defines it); higher is better
};

class ImaginationSession {
 public:
  virtual ~ImaginationSession() = default;
  // The next chunk: actions [G, C, A] of the group and reference_actions [C, A] of the expert,
  // environment units. At most `horizon` calls.
  virtual absl::StatusOr<ImaginedChunk> Next(const torch::Tensor& actions, const torch::Tensor& reference_actions) = 0;
  // FAILED_PRECONDITION unless the backend executes actions for real.
  virtual absl::StatusOr<GroundTruth> Outcome() {
    return absl::FailedPreconditionError("this simulator backend imagines frames and has no ground truth");
  }
};

class Imaginer {
 public:
  virtual ~Imaginer() = default;
  virtual std::string name() const = 0;
  virtual absl::StatusOr<std::unique_ptr<ImaginationSession>> Start(const Prompt& prompt,
                                                                    const ImagineSettings& settings) = 0;
};

}  // namespace vlarft::rollout
