// The `learner:` section of the config document (configs/*.yaml).
#pragma once

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "libs/rl/data_parallel.h"
#include "libs/rl/grpo.h"
#include "libs/rl/grpo_learner.h"

namespace vlarft::services {

struct LearnerConfig {
  std::string policy_checkpoint;     // stem of the SFT policy the run starts from
  std::string reference_checkpoint;  // stem of the KL reference (defaults to policy_checkpoint)
  std::string checkpoint_dir = "out/learner";
  int64_t checkpoint_every = 25;     // optimiser steps between checkpoints (0 = only at the end)
  int64_t max_steps = 400;
  int64_t prompts_per_step = 16;     // groups per optimiser step (across all ranks)
  int64_t max_staleness = 1;         // drop groups sampled more than this many versions ago
  int64_t intake_capacity = 64;      // groups held before SubmitGroups answers RESOURCE_EXHAUSTED
  int64_t weight_chunk_bytes = 1 << 20;
  std::string device = "cpu";        // "cpu", "cuda", "cuda:N"
  int64_t torch_threads = 0;         // 0 = LibTorch default
  bool exit_when_finished = true;    // after max_steps: linger, then exit 0 (a k8s Job completes)
  double finish_linger_s = 10;       // keep answering GetStatus(finished) this long before exiting
  rl::GrpoConfig grpo;
  rl::LearnerOptimConfig optim;
  rl::DistributedConfig distributed;

  template <typename V>
  void VisitFields(V& v) {
    v.Field("policy_checkpoint", policy_checkpoint, "stem of the SFT policy checkpoint to fine-tune");
    v.Field("reference_checkpoint", reference_checkpoint, "stem of the KL reference policy (default: policy)");
    v.Field("checkpoint_dir", checkpoint_dir, "where training checkpoints go (resumed from on restart)");
    v.Field("checkpoint_every", checkpoint_every, "optimiser steps between checkpoints");
    v.Field("max_steps", max_steps, "stop after this many optimiser steps");
    v.Field("prompts_per_step", prompts_per_step, "rollout groups per optimiser step");
    v.Field("max_staleness", max_staleness, "oldest policy version lag accepted");
    v.Field("intake_capacity", intake_capacity, "groups buffered before backpressure");
    v.Field("weight_chunk_bytes", weight_chunk_bytes, "bytes per streamed weight chunk");
    v.Field("device", device, "cpu | cuda | cuda:N");
    v.Field("torch_threads", torch_threads, "intra-op threads (0 = default)");
    v.Field("exit_when_finished", exit_when_finished, "exit after max_steps (else serve until SIGTERM)");
    v.Field("finish_linger_s", finish_linger_s, "seconds to keep serving status after finishing");
    v.Field("grpo", grpo);
    v.Field("optim", optim);
    v.Field("distributed", distributed);
  }

  absl::Status Validate() const {
    if (policy_checkpoint.empty()) return absl::InvalidArgumentError("policy_checkpoint is required");
    if (max_steps < 1 || prompts_per_step < 1 || intake_capacity < prompts_per_step) {
      return absl::InvalidArgumentError("need max_steps >= 1, prompts_per_step >= 1, intake_capacity >= prompts_per_step");
    }
    if (max_staleness < 0 || checkpoint_every < 0 || weight_chunk_bytes < 1024) {
      return absl::InvalidArgumentError("max_staleness and checkpoint_every must be >= 0, weight_chunk_bytes >= 1024");
    }
    if (prompts_per_step % distributed.world_size != 0) {
      return absl::InvalidArgumentError("prompts_per_step must be a multiple of distributed.world_size");
    }
    return absl::OkStatus();
  }
};

}  // namespace vlarft::services
