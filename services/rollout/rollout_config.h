// The `rollout:` section of the config document.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "libs/reward/reward_config.h"
#include "services/common/client.h"

namespace vlarft::services {

struct RolloutConfig {
  std::string worker_id;              // unique per worker; default: hostname-pid
  std::string policy_checkpoint;      // base policy (frozen parts + architecture); trainable tensors come from the learner
  std::string dataset;                // directory of LIBERO-layout HDF5 demonstrations (the RFT prompts)
  std::vector<std::string> suites;    // empty = every suite found
  double validation_fraction = 0.1;   // episodes held out from prompts (same split as training)
  // Read an episode's frames from its file when a prompt needs it (an LRU cache of
  // demo_cache_episodes), instead of loading every frame up front: a worker's memory no longer grows
  // with the dataset (2000 episodes at 256 px would be ~20 GiB).
  bool stream_demos = true;
  int64_t demo_cache_episodes = 32;
  int64_t group_size = 16;            // G
  int64_t horizon = 1;                // H action chunks per rollout (closed loop for H > 1)
  int64_t prompts_in_flight = 2;      // concurrent groups per worker
  uint64_t seed = 1;
  reward::RewardType reward_type = reward::RewardType::kImaginedVsImaginedExpert;
  double wm_temperature = 1.0;
  int64_t wm_top_k = 0;
  double wm_top_p = 0.0;
  std::string device = "cpu";         // where the policy samples: cpu | cuda | cuda:N
  int64_t torch_threads = 1;
  double rpc_timeout_s = 120;
  int64_t weight_poll_ms = 2000;
  ClientOptions learner;
  ClientOptions simulator;
  ClientOptions reward;

  template <typename V>
  void VisitFields(V& v) {
    v.Field("worker_id", worker_id, "unique worker name (default hostname-pid)");
    v.Field("policy_checkpoint", policy_checkpoint, "stem of the base policy checkpoint");
    v.Field("dataset", dataset, "directory with the RFT prompt demonstrations (HDF5)");
    v.Field("suites", suites, "benchmark suites to draw prompts from (empty = all)");
    v.Field("validation_fraction", validation_fraction, "episodes held out from prompts");
    v.Field("stream_demos", stream_demos,
            "read demonstration frames from the files when a prompt needs them (false: load all up front)");
    v.Field("demo_cache_episodes", demo_cache_episodes, "streamed episodes kept in memory (LRU)");
    v.Field("group_size", group_size, "G, samples per prompt");
    v.Field("horizon", horizon, "action chunks per rollout");
    v.Field("prompts_in_flight", prompts_in_flight, "groups produced concurrently");
    v.Field("seed", seed, "root seed of this worker's sampling");
    v.Field("reward_type", reward_type, "imagined_vs_imagined_expert | imagined_vs_real | action_l1 (or 3 | 2 | 1)");
    v.Field("wm_temperature", wm_temperature, "world-model sampling temperature");
    v.Field("wm_top_k", wm_top_k, "world-model top-k (0 = off)");
    v.Field("wm_top_p", wm_top_p, "world-model top-p (0 = off)");
    v.Field("device", device, "where the policy samples: cpu | cuda | cuda:N");
    v.Field("torch_threads", torch_threads, "intra-op threads per worker process");
    v.Field("rpc_timeout_s", rpc_timeout_s, "per-attempt deadline of simulator / reward calls");
    v.Field("weight_poll_ms", weight_poll_ms, "long-poll wait for a newer policy version");
    v.Field("learner", learner);
    v.Field("simulator", simulator);
    v.Field("reward", reward);
  }

  absl::Status Validate() const {
    if (policy_checkpoint.empty() || dataset.empty()) {
      return absl::InvalidArgumentError("policy_checkpoint and dataset are required");
    }
    if (stream_demos && demo_cache_episodes < 1) return absl::InvalidArgumentError("demo_cache_episodes must be >= 1");
    if (group_size < 2 || horizon < 1 || prompts_in_flight < 1) {
      return absl::InvalidArgumentError("need group_size >= 2, horizon >= 1, prompts_in_flight >= 1");
    }
    if (reward_type == reward::RewardType::kUnspecified) {
      return absl::InvalidArgumentError("reward_type must be one of " + core::EnumNameList<reward::RewardType>());
    }
    return absl::OkStatus();
  }
};

}  // namespace vlarft::services
