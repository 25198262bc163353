// Frames part way between two backends' for the same chunks: truth + w · (model − truth), pixel by
// pixel, for the group and the expert's reference alike. With the real benchmark through the
// tokenizer as the truth (tokenized_imaginer.h) and the world model as the model, w = 1 is the
// paper's imagination, w = 0 what a dynamics model that predicted every token right would imagine,
// and w in between a world model whose error on every chunk is w times today's, in today's
// direction. The RFT harness and the SDE reward study sweep w to measure how good a world model
// must be before its reward lifts the policy (docs/results.md, "How good must the world model be").
// The ground truth is the truth backend's.
#pragma once

#include <memory>
#include <string>

#include "libs/rollout/imaginer.h"

namespace vlarft::rollout {

// Whether `w` is a weight a blend takes: in [0, 1] (false for NaN). Options that carry a weight
// check it early with this, naming their own field.
inline bool IsBlendWeight(double w) { return w >= 0.0 && w <= 1.0; }

// truth + model_weight · (model − truth), rounded to uint8, for the frames and the reference.
// INVALID_ARGUMENT naming the weight outside [0, 1]; FAILED_PRECONDITION naming both shapes when the
// two chunks differ in shape or are not uint8 [G, C, h, w, 3] with a [C, h, w, 3] reference.
absl::StatusOr<ImaginedChunk> BlendChunks(const ImaginedChunk& truth, const ImaginedChunk& model, double model_weight);

class BlendedImaginer : public Imaginer {
 public:
  // `truth` and `model` are borrowed and must outlive this imaginer. Both receive the same prompt,
  // settings and actions; `model_weight` in [0, 1] (Start refuses others).
  BlendedImaginer(Imaginer* truth, Imaginer* model, double model_weight)
      : truth_(truth), model_(model), model_weight_(model_weight) {}
  std::string name() const override;
  absl::StatusOr<std::unique_ptr<ImaginationSession>> Start(const Prompt& prompt,
                                                            const ImagineSettings& settings) override;

 private:
  Imaginer* truth_;
  Imaginer* model_;
  double model_weight_;
};

}  // namespace vlarft::rollout
