#include "libs/rollout/tokenized_imaginer.h"

#include "absl/strings/str_cat.h"
#include "libs/core/status.h"
#include "libs/core/tensor_codec.h"

namespace vlarft::rollout {
namespace {

class TokenizedSession : public ImaginationSession {
 public:
  TokenizedSession(std::unique_ptr<ImaginationSession> inner, models::VideoTokenizer tokenizer, torch::Tensor context)
      : inner_(std::move(inner)), tokenizer_(std::move(tokenizer)), context_(std::move(context)) {}

  absl::StatusOr<ImaginedChunk> Next(const torch::Tensor& actions, const torch::Tensor& reference_actions) override {
    VLARFT_ASSIGN_OR_RETURN(ImaginedChunk chunk, inner_->Next(actions, reference_actions));
    return RoundTripChunk(tokenizer_, context_, chunk);
  }

  absl::StatusOr<GroundTruth> Outcome() override { return inner_->Outcome(); }

 private:
  std::unique_ptr<ImaginationSession> inner_;
  models::VideoTokenizer tokenizer_;
  torch::Tensor context_;  // uint8 [h, w, 3]: the prompt's frame, o_t of every chunk
};

}  // namespace

absl::StatusOr<ImaginedChunk> RoundTripChunk(models::VideoTokenizer& tokenizer, const torch::Tensor& context,
                                             const ImaginedChunk& chunk) {
  if (!chunk.frames.defined() || !chunk.reference.defined() || chunk.frames.dim() != 5 ||
      chunk.frames.size(2) != context.size(0) || chunk.frames.size(3) != context.size(1) ||
      chunk.reference.sizes() != chunk.frames.sizes().slice(1)) {
    return absl::FailedPreconditionError(
        absl::StrCat("the chunk's frames have shape ",
                     chunk.frames.defined() ? core::ShapeString(chunk.frames.sizes().vec()) : "none",
                     "; the tokenizer round trip needs [G, C, ", context.size(0), ", ", context.size(1), ", 3]"));
  }
  const int64_t group = chunk.frames.size(0);
  return core::CatchTorchErrors("tokenizer round trip", [&]() -> ImaginedChunk {
    const torch::Tensor all =
        models::RoundTripFutureFrames(*tokenizer, context, torch::cat({chunk.frames, chunk.reference.unsqueeze(0)}));
    return {all.narrow(0, 0, group).contiguous(), all[group].contiguous()};
  });
}

absl::StatusOr<std::unique_ptr<ImaginationSession>> TokenizedImaginer::Start(const Prompt& prompt,
                                                                             const ImagineSettings& settings) {
  const int64_t size = tokenizer_->config().image_size;
  if (prompt.frame.dim() != 3 || prompt.frame.size(0) != size || prompt.frame.size(1) != size) {
    return absl::InvalidArgumentError(absl::StrCat("the prompt's frame is ", core::ShapeString(prompt.frame.sizes().vec()),
                                                   "; the tokenizer takes [", size, ", ", size, ", 3]"));
  }
  VLARFT_ASSIGN_OR_RETURN(std::unique_ptr<ImaginationSession> inner, inner_->Start(prompt, settings));
  return std::unique_ptr<ImaginationSession>(new TokenizedSession(std::move(inner), tokenizer_, prompt.frame));
}

}  // namespace vlarft::rollout
