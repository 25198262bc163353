// The client side of Learner.GetPolicyWeights, shared by every process that follows the learner's
// policy (rollout workers, the evaluator): one long-poll for a version at least `min_version`,
// assembled and checksum-verified chunk by chunk.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "grpcpp/grpcpp.h"
#include "torch/torch.h"
#include "vlarft/v1/learner.grpc.pb.h"

namespace vlarft::services {

struct FetchedWeights {
  int64_t version = -1;
  std::map<std::string, torch::Tensor> tensors;  // the policy's trainable tensors, by parameter name
};

// Waits up to `wait` on the learner (the caller's `context` carries the deadline, a little longer
// than `wait`, and can be cancelled from another thread). nullopt: nothing at least `min_version`
// was published in time. Errors: the call's status, DATA_LOSS for a corrupt or truncated stream.
absl::StatusOr<std::optional<FetchedWeights>> FetchPolicyWeights(v1::Learner::StubInterface& learner,
                                                                grpc::ClientContext* context, int64_t min_version,
                                                                absl::Duration wait);

}  // namespace vlarft::services
