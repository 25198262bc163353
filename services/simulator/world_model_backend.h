// What the simulator service needs from a world model: static facts to validate requests against,
// and batched imagination of several callers' groups at once. The production backend wraps the
// tokenizer + transformer of libs/models (world_model_backend_impl.h); keeping the service on this
// interface keeps gRPC concerns out of the model code.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "libs/core/torch_compat.h"

namespace vlarft::services {

struct SimulatorFacts {
  std::string model_name = "world_model";
  std::string fingerprint;
  int64_t frame_height = 64;
  int64_t frame_width = 64;
  int64_t action_dim = 7;
  int64_t chunk_length = 8;
  int64_t max_group_size = 32;
  int64_t max_horizon = 8;
  int64_t tokens_per_frame = 16;
  std::string device = "cpu";
};

struct WorldModelSampling {
  double temperature = 1.0;
  int64_t top_k = 0;
  double top_p = 0.0;
  uint64_t seed = 0;
};

// One validated request. Either context_frame is set (new group) or session_id (continuation).
struct ImagineJob {
  torch::Tensor context_frame;      // uint8 [H, W, 3] or undefined
  torch::Tensor actions;            // float [G, T, A], environment units
  torch::Tensor reference_actions;  // float [T, A] or undefined
  WorldModelSampling sampling;
  std::string session_id;
  bool keep_session = false;
  bool return_tokens = false;
  int64_t prompt_episode = -1;  // ImagineRequest.prompt (new groups; -1 = not given)
  int64_t prompt_step = -1;
};

struct ImagineResult {
  torch::Tensor frames;            // uint8 [G, T, H, W, 3]
  torch::Tensor reference_frames;  // uint8 [T, H, W, 3] or undefined
  torch::Tensor tokens;            // int32 [G, T, tokens_per_frame] if requested
  torch::Tensor reference_tokens;
  std::string session_id;          // set when the session was kept
  int64_t generated_tokens = 0;    // for tokens/s metrics
};

// One result or error per job of a batch, in the jobs' order.
using ImagineResults = std::vector<absl::StatusOr<ImagineResult>>;

class WorldModelBackend {
 public:
  virtual ~WorldModelBackend() = default;
  virtual const SimulatorFacts& Facts() const = 0;
  // Imagines every job. A job that cannot run (an expired session, a continuation past the model's
  // frame limit) gets its own error and the others still run; a batch-level error is for failures
  // that are no job's fault (BatchScheduler isolates a batch-level validation error, see there).
  virtual absl::StatusOr<ImagineResults> ImagineBatch(const std::vector<const ImagineJob*>& jobs) = 0;
  // NOT_FOUND for an unknown or expired session.
  virtual absl::Status ReleaseSession(const std::string& session_id) = 0;
  virtual bool HasSession(const std::string& session_id) const = 0;
  virtual int64_t KvCacheBytes() const = 0;
};

}  // namespace vlarft::services
