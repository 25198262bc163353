// The `simulator:` section of the config document.
#pragma once

#include <string>

#include "absl/status/status.h"
#include "services/common/batch_scheduler.h"

namespace vlarft::services {

struct SimulatorConfig {
  std::string tokenizer_checkpoint;    // stem of the tokenizer checkpoint
  std::string world_model_checkpoint;  // stem of the world-model checkpoint
  std::string device = "cpu";
  int64_t torch_threads = 0;
  int64_t max_group_size = 32;         // largest G accepted (16 policy samples + slack)
  int64_t max_horizon = 8;
  double session_idle_timeout_s = 120;
  BatchSchedulerOptions batching{64, 5.0, 1024};

  template <typename V>
  void VisitFields(V& v) {
    v.Field("tokenizer_checkpoint", tokenizer_checkpoint, "stem of the tokenizer checkpoint");
    v.Field("world_model_checkpoint", world_model_checkpoint, "stem of the world-model checkpoint");
    v.Field("device", device, "cpu | cuda | cuda:N");
    v.Field("torch_threads", torch_threads, "intra-op threads (0 = default)");
    v.Field("max_group_size", max_group_size, "largest group accepted per request");
    v.Field("max_horizon", max_horizon, "largest horizon (action chunks) accepted per request");
    v.Field("session_idle_timeout_s", session_idle_timeout_s, "closed-loop sessions expire after this idle time");
    v.Field("batching", batching);
  }
  absl::Status Validate() const {
    if (tokenizer_checkpoint.empty() || world_model_checkpoint.empty()) {
      return absl::InvalidArgumentError("tokenizer_checkpoint and world_model_checkpoint are required");
    }
    if (max_group_size < 1 || max_horizon < 1) return absl::InvalidArgumentError("max_group_size and max_horizon must be >= 1");
    if (max_group_size + 1 > batching.max_batch_units) {
      return absl::InvalidArgumentError("batching.max_batch_units must hold a full group plus its reference");
    }
    return batching.Validate();
  }
};

}  // namespace vlarft::services
