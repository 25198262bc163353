// A backend's frames after a round trip through the world model's tokenizer: every chunk the inner
// imaginer produces (the real benchmark, typically) is encoded against the prompt's frame — the
// world model's context o_t — quantised and decoded (models::RoundTripFutureFrames). With the real
// benchmark inside, these are the frames a dynamics model that predicts every future token right
// would imagine: the ceiling of the paper's reward through this tokenizer, for the RFT harness
// (docs/results.md, "The RFT harness"). The ground truth is the inner backend's.
#pragma once

#include <memory>
#include <string>

#include "libs/models/tokenizer.h"
#include "libs/rollout/imaginer.h"

namespace vlarft::rollout {

// `chunk`'s frames and reference after one round trip through `tokenizer` against `context` (the
// prompt's frame, uint8 [h, w, 3]), group and reference in one pass so the context is encoded once.
// FAILED_PRECONDITION naming the shape when the frames are not [G, C, h, w, 3] with a [C, h, w, 3]
// reference.
absl::StatusOr<ImaginedChunk> RoundTripChunk(models::VideoTokenizer& tokenizer, const torch::Tensor& context,
                                             const ImaginedChunk& chunk);

class TokenizedImaginer : public Imaginer {
 public:
  // `inner` is borrowed and must outlive this imaginer. The tokenizer is put in eval mode; sessions
  // of concurrent callers share it read-only.
  TokenizedImaginer(Imaginer* inner, models::VideoTokenizer tokenizer)
      : inner_(inner), tokenizer_(std::move(tokenizer)) {
    tokenizer_->eval();
  }
  std::string name() const override { return inner_->name() + " through the tokenizer"; }
  absl::StatusOr<std::unique_ptr<ImaginationSession>> Start(const Prompt& prompt,
                                                            const ImagineSettings& settings) override;

 private:
  Imaginer* inner_;
  models::VideoTokenizer tokenizer_;
};

}  // namespace vlarft::rollout
