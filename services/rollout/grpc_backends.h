// The simulator and reward services behind the rollout loop's Imaginer and Scorer interfaces
// (libs/rollout): the rollout worker's adapters. Calls go through the worker's retrying, cancellable
// call functions, so deadlines, backoff and shutdown behave as before.
#pragma once

#include <functional>
#include <string>

#include "absl/status/status.h"
#include "libs/rollout/imaginer.h"
#include "libs/rollout/scorer.h"
#include "vlarft/v1/reward.grpc.pb.h"
#include "vlarft/v1/simulator.grpc.pb.h"

namespace vlarft::services {

using ImagineCall = std::function<absl::Status(const v1::ImagineRequest&, v1::ImagineResponse*)>;
using ScoreCall = std::function<absl::Status(const v1::ScoreRequest&, v1::ScoreResponse*)>;

class GrpcImaginer : public rollout::Imaginer {
 public:
  // Request ids are the group id (ImagineSettings::request_id) and the chunk index.
  explicit GrpcImaginer(ImagineCall call) : call_(std::move(call)) {}
  std::string name() const override { return "simulator Imagine"; }
  absl::StatusOr<std::unique_ptr<rollout::ImaginationSession>> Start(const rollout::Prompt& prompt,
                                                                     const rollout::ImagineSettings& settings) override;

 private:
  ImagineCall call_;
};

class GrpcScorer : public rollout::Scorer {
 public:
  GrpcScorer(ScoreCall call, v1::RewardType type) : call_(std::move(call)), type_(type) {}
  std::string name() const override { return "reward Score"; }
  absl::StatusOr<torch::Tensor> Score(const rollout::ScoreInputs& inputs) override;

 private:
  ScoreCall call_;
  v1::RewardType type_;
};

}  // namespace vlarft::services
