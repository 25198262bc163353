// The rollout loop's copy of the policy (a worker's replica, or the learner's own module in a
// single-process study). Sampling threads hold a shared lock while they sample;
// applying a new weight version takes the exclusive lock, so a group is always sampled with exactly
// one version, which it records.
#pragma once

#include <cstdint>
#include <map>
#include <shared_mutex>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "libs/models/policy.h"
#include "libs/rl/flow_sampling.h"

namespace vlarft::rollout {

class PolicyReplica {
 public:
  explicit PolicyReplica(models::VlaPolicy policy);

  // Copies `tensors` (the learner's trainable tensors, by name) into the policy. Every name must be
  // a parameter of the policy with the same shape, and every trainable parameter must be present;
  // otherwise nothing is changed.
  absl::Status Apply(int64_t version, const std::map<std::string, torch::Tensor>& tensors);
  int64_t version() const;
  // For a replica that shares its module with an in-process learner: the weights changed in place
  // and are now `version`.
  void MarkVersion(int64_t version);

  struct Sampled {
    int64_t version = -1;
    rl::SdeSample sample;   // chains in normalised space
    torch::Tensor actions;  // [G, C, A] environment units (de-normalised x_K)
  };
  // Encodes one observation and draws G SDE chains from noise seeded by `seed`.
  absl::StatusOr<Sampled> SampleGroup(const models::PolicyObservation& observation, int64_t group_size, uint64_t seed);
  // Same for G observations (closed-loop chunk h >= 1): one chain per observation.
  absl::StatusOr<Sampled> SamplePerObservation(const models::PolicyObservation& observations, uint64_t seed);

  const models::PolicyConfig& config() const { return policy_->config(); }

 private:
  absl::StatusOr<Sampled> Sample(const models::PolicyContext& context, int64_t rows, uint64_t seed);

  mutable std::shared_mutex mu_;
  models::VlaPolicy policy_;
  int64_t version_ = -1;
};

}  // namespace vlarft::rollout
