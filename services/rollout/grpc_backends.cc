#include "services/rollout/grpc_backends.h"

#include "absl/strings/str_cat.h"
#include "libs/core/rng.h"
#include "libs/core/status.h"
#include "services/common/tensor_proto.h"

namespace vlarft::services {
namespace {

class GrpcSession : public rollout::ImaginationSession {
 public:
  GrpcSession(const ImagineCall* call, const rollout::Prompt& prompt, rollout::ImagineSettings settings)
      : call_(call), prompt_(prompt), settings_(std::move(settings)) {}

  absl::StatusOr<rollout::ImaginedChunk> Next(const torch::Tensor& actions,
                                              const torch::Tensor& reference_actions) override {
    const int64_t h = chunks_++;
    v1::ImagineRequest request;
    request.set_request_id(absl::StrCat(settings_.request_id, "/", h));
    if (h == 0) {
      VLARFT_RETURN_IF_ERROR(ToProto(prompt_.frame, request.mutable_context_frame()));
      // Which demonstration state this is (a real-simulator backend executes the actions there).
      request.mutable_prompt()->set_dataset(prompt_.dataset);
      request.mutable_prompt()->set_task(prompt_.task);
      request.mutable_prompt()->set_episode(prompt_.episode);
      request.mutable_prompt()->set_step(prompt_.step);
    }
    VLARFT_RETURN_IF_ERROR(ToProto(actions.to(torch::kFloat32), request.mutable_actions()));
    VLARFT_RETURN_IF_ERROR(ToProto(reference_actions.to(torch::kFloat32), request.mutable_reference_actions()));
    request.set_horizon(1);
    request.mutable_sampling()->set_temperature(static_cast<float>(settings_.temperature));
    request.mutable_sampling()->set_top_k(static_cast<int32_t>(settings_.top_k));
    request.mutable_sampling()->set_top_p(static_cast<float>(settings_.top_p));
    request.mutable_sampling()->set_seed(core::SeedPath(settings_.seed).Child(static_cast<uint64_t>(h)).seed());
    request.set_keep_session(h + 1 < settings_.horizon);
    request.set_session_id(session_);
    v1::ImagineResponse response;
    VLARFT_RETURN_IF_ERROR((*call_)(request, &response));
    session_ = response.session_id();
    const int64_t g = actions.size(0), c = actions.size(1);
    core::TensorExpectation spec;
    spec.dtype = core::DType::kUInt8;
    spec.shape = {g, c, prompt_.frame.size(0), prompt_.frame.size(1), 3};
    rollout::ImaginedChunk chunk;
    VLARFT_ASSIGN_OR_RETURN(chunk.frames, DecodeField(response.frames(), "ImagineResponse.frames", spec));
    spec.shape = {c, prompt_.frame.size(0), prompt_.frame.size(1), 3};
    VLARFT_ASSIGN_OR_RETURN(chunk.reference,
                            DecodeField(response.reference_frames(), "ImagineResponse.reference_frames", spec));
    return chunk;
  }

 private:
  const ImagineCall* call_;
  const rollout::Prompt prompt_;  // a copy (its tensors share storage): no lifetime to keep in mind
  rollout::ImagineSettings settings_;
  std::string session_;
  int64_t chunks_ = 0;
};

}  // namespace

absl::StatusOr<std::unique_ptr<rollout::ImaginationSession>> GrpcImaginer::Start(const rollout::Prompt& prompt,
                                                                                 const rollout::ImagineSettings& settings) {
  if (settings.expected_codes) {
    // An in-process study option (docs/world_model.md, "Expected codes"); the service protocol
    // has no field for it, so refuse rather than imagine something else than asked.
    return absl::UnimplementedError("the simulator service does not decode expected codes (ImagineSettings::expected_codes)");
  }
  return std::unique_ptr<rollout::ImaginationSession>(
      new GrpcSession(&call_, prompt, settings));
}

absl::StatusOr<torch::Tensor> GrpcScorer::Score(const rollout::ScoreInputs& inputs) {
  v1::ScoreRequest score;
  score.set_request_id(inputs.group_id);
  score.set_type(type_);
  VLARFT_RETURN_IF_ERROR(ToProto(inputs.frames, score.mutable_frames()));
  torch::Tensor reference = inputs.reference_frames;
  if (type_ == v1::REWARD_TYPE_IMAGINED_VS_REAL) {
    VLARFT_ASSIGN_OR_RETURN(reference, rollout::RealReferenceFrames(inputs));
  }
  VLARFT_RETURN_IF_ERROR(ToProto(reference, score.mutable_reference_frames()));
  VLARFT_RETURN_IF_ERROR(ToProto(inputs.actions, score.mutable_actions()));
  VLARFT_RETURN_IF_ERROR(ToProto(inputs.reference_actions, score.mutable_reference_actions()));
  v1::ScoreResponse scored;
  VLARFT_RETURN_IF_ERROR(call_(score, &scored));
  return torch::tensor(std::vector<float>(scored.rewards().begin(), scored.rewards().end()));
}

}  // namespace vlarft::services
