// The `reward:` section of the config document.
#pragma once

#include <string>

#include "absl/status/status.h"
#include "libs/reward/reward_config.h"
#include "services/common/batch_scheduler.h"

namespace vlarft::services {

struct RewardServiceConfig {
  reward::RewardConfig scoring;           // type, weights, aggregation, perceptual distance, device
  std::string tokenizer_checkpoint;   // for perceptual = tokenizer
  int64_t frame_size = 64;            // for distances without a tokenizer
  int64_t max_group_size = 32;
  int64_t max_frames = 64;
  int64_t torch_threads = 0;
  BatchSchedulerOptions batching{256, 5.0, 2048};

  template <typename V>
  void VisitFields(V& v) {
    v.Field("scoring", scoring);
    v.Field("tokenizer_checkpoint", tokenizer_checkpoint, "tokenizer stem for the tokenizer perceptual distance");
    v.Field("frame_size", frame_size, "frame size accepted when no tokenizer fixes it");
    v.Field("max_group_size", max_group_size, "largest group per request");
    v.Field("max_frames", max_frames, "longest trajectory per request");
    v.Field("torch_threads", torch_threads, "intra-op threads (0 = default)");
    v.Field("batching", batching);
  }
  absl::Status Validate() const {
    if (max_group_size < 1 || max_frames < 1 || frame_size < 8) {
      return absl::InvalidArgumentError("max_group_size, max_frames >= 1 and frame_size >= 8 required");
    }
    if (scoring.perceptual == "tokenizer" && tokenizer_checkpoint.empty()) {
      return absl::InvalidArgumentError(
          "scoring.perceptual is 'tokenizer' but tokenizer_checkpoint is empty; set it or choose lpips/ssim");
    }
    if (batching.max_batch_units < max_group_size) {
      return absl::InvalidArgumentError("batching.max_batch_units must hold a whole group");
    }
    return batching.Validate();
  }
};

}  // namespace vlarft::services
