// The `simulator:` section of the config document.
#pragma once

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "services/common/batch_scheduler.h"

namespace vlarft::services {

struct SimulatorConfig {
  // world_model: imagine with the learned world model (the paper's method). tabletop: execute the
  // actions in the built-in benchmark from the prompt's exact state (RL against a real simulator).
  std::string backend = "world_model";
  std::string dataset;                 // tabletop: the rollout workers' prompt demonstrations
  std::vector<std::string> suites;     // tabletop: the workers' rollout.suites (episode indices must agree)
  int64_t image_size = 64;             // tabletop: frame size (the policy's encoder.image_size)
  std::string tokenizer_checkpoint;    // stem of the tokenizer checkpoint
  std::string world_model_checkpoint;  // stem of the world-model checkpoint
  std::string device = "cpu";
  std::string world_model_dtype = "float32";  // float32 | bfloat16 (models::EngineLimits::world_model_dtype)
  int64_t torch_threads = 0;
  int64_t max_group_size = 32;         // largest G accepted (16 policy samples + slack)
  int64_t max_horizon = 8;
  double session_idle_timeout_s = 120;
  BatchSchedulerOptions batching{64, 5.0, 1024};

  template <typename V>
  void VisitFields(V& v) {
    v.Field("backend", backend, "world_model (learned world model) | tabletop (the real benchmark)");
    v.Field("dataset", dataset, "tabletop backend: directory of the rollout workers' prompt demonstrations");
    v.Field("suites", suites, "tabletop backend: the rollout workers' suites (empty = all)");
    v.Field("image_size", image_size, "tabletop backend: rendered frame size");
    v.Field("tokenizer_checkpoint", tokenizer_checkpoint, "stem of the tokenizer checkpoint");
    v.Field("world_model_checkpoint", world_model_checkpoint, "stem of the world-model checkpoint");
    v.Field("device", device, "cpu | cuda | cuda:N");
    v.Field("world_model_dtype", world_model_dtype,
            "float32 | bfloat16: the world model's weights and KV caches in the engine (bf16 halves the bytes a "
            "decode step reads, for GPUs; logits and sampling stay float32)");
    v.Field("torch_threads", torch_threads, "intra-op threads (0 = default)");
    v.Field("max_group_size", max_group_size, "largest group accepted per request");
    v.Field("max_horizon", max_horizon, "largest horizon (action chunks) accepted per request");
    v.Field("session_idle_timeout_s", session_idle_timeout_s, "closed-loop sessions expire after this idle time");
    v.Field("batching", batching);
  }
  absl::Status Validate() const {
    if (backend != "world_model" && backend != "tabletop") {
      return absl::InvalidArgumentError("backend must be world_model or tabletop, got '" + backend + "'");
    }
    if (backend == "world_model" && (tokenizer_checkpoint.empty() || world_model_checkpoint.empty())) {
      return absl::InvalidArgumentError("tokenizer_checkpoint and world_model_checkpoint are required");
    }
    if (backend == "tabletop" && (dataset.empty() || image_size < 8)) {
      return absl::InvalidArgumentError("backend tabletop needs dataset and image_size >= 8");
    }
    if (world_model_dtype != "float32" && world_model_dtype != "bfloat16") {
      return absl::InvalidArgumentError("world_model_dtype must be float32 or bfloat16, got '" + world_model_dtype + "'");
    }
    if (max_group_size < 1 || max_horizon < 1) return absl::InvalidArgumentError("max_group_size and max_horizon must be >= 1");
    if (max_group_size + 1 > batching.max_batch_units) {
      return absl::InvalidArgumentError("batching.max_batch_units must hold a full group plus its reference");
    }
    return batching.Validate();
  }
};

}  // namespace vlarft::services
