#include "libs/rollout/scorers.h"

#include "absl/strings/str_cat.h"
#include "libs/core/status.h"

namespace vlarft::rollout {

absl::StatusOr<torch::Tensor> RealReferenceFrames(const ScoreInputs& inputs) {
  const int64_t steps = inputs.frames.size(1);
  if (inputs.prompt == nullptr || !inputs.prompt->expert_frames.defined() ||
      inputs.prompt->expert_frames.size(0) < steps) {
    return absl::FailedPreconditionError(absl::StrCat("reward type 2 needs the prompt's ", steps, " real frames"));
  }
  return inputs.prompt->expert_frames.narrow(0, 0, steps);
}

absl::StatusOr<torch::Tensor> VerifierScorer::Score(const ScoreInputs& inputs) {
  reward::RewardRequest request;
  request.type = type_;
  const reward::RewardType type =
      type_ == reward::RewardType::kUnspecified ? static_cast<reward::RewardType>(scorer_->config().type) : type_;
  switch (type) {
    case reward::RewardType::kActionL1:
      request.actions = inputs.actions;
      request.reference_actions = inputs.reference_actions;
      break;
    case reward::RewardType::kImaginedVsReal: {
      request.frames = inputs.frames;
      VLARFT_ASSIGN_OR_RETURN(request.reference_frames, RealReferenceFrames(inputs));
      break;
    }
    default:
      request.frames = inputs.frames;
      request.reference_frames = inputs.reference_frames;
      break;
  }
  VLARFT_ASSIGN_OR_RETURN(reward::RewardBreakdown breakdown, scorer_->Score(request));
  return breakdown.rewards;
}

absl::StatusOr<torch::Tensor> GroundTruthScorer::Score(const ScoreInputs& inputs) {
  if (inputs.session == nullptr) return absl::FailedPreconditionError("ground truth needs the simulator session");
  VLARFT_ASSIGN_OR_RETURN(GroundTruth truth, inputs.session->Outcome());
  return measure_ == Measure::kSuccess ? truth.success.to(torch::kFloat32) : truth.progress;
}

}  // namespace vlarft::rollout
