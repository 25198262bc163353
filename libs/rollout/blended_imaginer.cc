#include "libs/rollout/blended_imaginer.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "libs/core/status.h"
#include "libs/core/tensor_codec.h"

namespace vlarft::rollout {
namespace {

absl::Status CheckWeight(double model_weight) {
  if (!IsBlendWeight(model_weight)) {
    return absl::InvalidArgumentError(absl::StrCat("the world model's weight in the blend is ", model_weight,
                                                   "; it must lie in [0, 1] (0: the truth, 1: the model)"));
  }
  return absl::OkStatus();
}

std::string Shapes(const ImaginedChunk& c) {
  auto shape = [](const torch::Tensor& t) { return t.defined() ? core::ShapeString(t.sizes().vec()) : "none"; };
  return absl::StrCat("frames ", shape(c.frames), ", reference ", shape(c.reference));
}

bool WellFormed(const ImaginedChunk& c) {
  return c.frames.defined() && c.reference.defined() && c.frames.dim() == 5 && c.frames.size(4) == 3 &&
         c.frames.scalar_type() == torch::kUInt8 && c.reference.scalar_type() == torch::kUInt8 &&
         c.reference.sizes() == c.frames.sizes().slice(1);
}

torch::Tensor Blend(const torch::Tensor& truth, const torch::Tensor& model, double w) {
  const torch::Tensor t = truth.to(torch::kFloat32);
  return (t + (model.to(torch::kFloat32) - t) * w).round().clamp(0, 255).to(torch::kUInt8);
}

class BlendedSession : public ImaginationSession {
 public:
  BlendedSession(std::unique_ptr<ImaginationSession> truth, std::unique_ptr<ImaginationSession> model, double w)
      : truth_(std::move(truth)), model_(std::move(model)), w_(w) {}

  absl::StatusOr<ImaginedChunk> Next(const torch::Tensor& actions, const torch::Tensor& reference_actions) override {
    VLARFT_ASSIGN_OR_RETURN(ImaginedChunk truth, truth_->Next(actions, reference_actions));
    VLARFT_ASSIGN_OR_RETURN(ImaginedChunk model, model_->Next(actions, reference_actions));
    return BlendChunks(truth, model, w_);
  }

  absl::StatusOr<GroundTruth> Outcome() override { return truth_->Outcome(); }

 private:
  std::unique_ptr<ImaginationSession> truth_, model_;
  double w_;
};

}  // namespace

absl::StatusOr<ImaginedChunk> BlendChunks(const ImaginedChunk& truth, const ImaginedChunk& model, double model_weight) {
  VLARFT_RETURN_IF_ERROR(CheckWeight(model_weight));
  if (!WellFormed(truth) || !WellFormed(model) || truth.frames.sizes() != model.frames.sizes()) {
    return absl::FailedPreconditionError(absl::StrCat("cannot blend the truth's chunk (", Shapes(truth),
                                                      ") with the model's (", Shapes(model),
                                                      "): both must be uint8 [G, C, h, w, 3] with a [C, h, w, 3] "
                                                      "reference, of one shape"));
  }
  return core::CatchTorchErrors("blending two chunks' frames", [&]() -> ImaginedChunk {
    return {Blend(truth.frames, model.frames, model_weight), Blend(truth.reference, model.reference, model_weight)};
  });
}

std::string BlendedImaginer::name() const {
  return absl::StrFormat("%s + %.2f x (%s - it)", truth_->name(), model_weight_, model_->name());
}

absl::StatusOr<std::unique_ptr<ImaginationSession>> BlendedImaginer::Start(const Prompt& prompt,
                                                                           const ImagineSettings& settings) {
  VLARFT_RETURN_IF_ERROR(CheckWeight(model_weight_));
  VLARFT_ASSIGN_OR_RETURN(std::unique_ptr<ImaginationSession> truth, truth_->Start(prompt, settings));
  VLARFT_ASSIGN_OR_RETURN(std::unique_ptr<ImaginationSession> model, model_->Start(prompt, settings));
  return std::unique_ptr<ImaginationSession>(new BlendedSession(std::move(truth), std::move(model), model_weight_));
}

}  // namespace vlarft::rollout
