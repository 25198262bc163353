// Where must the gripper go next? An instruction-conditioned heat-map localiser: a small fully
// convolutional trunk scores every position of the frame against a query computed from the
// instruction and the proprio state, and the estimate is the expected position under the softmax
// of those scores (soft-argmax), mapped to the table plane by a learned 2x2 affine calibration.
//
// Why this shape (docs/results.md, "localisation"): a pooled-context or keypoint-MLP head has to
// learn the binding "this word -> that pixel" through a global bottleneck and, on random layouts,
// settles on the table centre. Here the binding is a dot product at each pixel, so a feature that
// means "blue cylinder" only has to meet a query that means "blue cylinder", and the answer is read
// where that happens; translation-equivariant convolutions learn it once for every place.
//
// Pieces:
//   * instruction: word embeddings plus learned positions, a per-token MLP, masked mean — the
//     nonlinearity before pooling keeps word order ("stack the red cube on the blue cube" is not
//     its reverse), which a mean of embeddings would lose;
//   * query: MLP([instruction, proprio]) -> FiLM (scale, shift) of the local features and the
//     heat-map query; the proprio state carries the gripper's closed/holding state, i.e. whether
//     the next target is an object or a place;
//   * trunk: 3x3 convolutions at full and half resolution (local appearance: colour and shape of a
//     5-pixel object), then a quarter-resolution branch with dilated convolutions (relations such
//     as "next to the plate", ~15 cm away) brought back to half resolution; CoordConv channels
//     let the scores use absolute position ("the cube on the left");
//   * scene summary (scene_channels > 0): the query alone cannot tell which part of a two-step
//     instruction is next ("put the red cube in the bowl and then the blue cube on the plate"):
//     the instruction is the same before and after the first part is done, and the proprio state
//     differs only by where the gripper happens to be, so the map learns to split between both
//     objects first and the estimate lands between them (a 13.7 cm first-decision error in the
//     long suite after 4000 SFT steps). Max- and mean-pooled instruction-conditioned scene
//     features ("is the first object already in its bowl?") refine the query through a
//     zero-initialised residual, so a localiser with it starts as the one without;
//   * scores: cosine similarity of each position's features with the query times a learned, capped
//     sharpness. Unbounded dot products let the softmax saturate on a wrong place early in
//     training, where its gradient vanishes and the estimate never moves again (measured: a run
//     stuck at 16 cm RMS for 4500 steps, docs/results.md).
#pragma once

#include <cstdint>

#include "absl/status/status.h"
#include "libs/core/torch_compat.h"

namespace vlarft::models {

struct TargetLocaliserOptions {
  int64_t channels = 48;        // feature width of the trunk and the query
  int64_t vocab_size = 1;       // instruction vocabulary
  int64_t max_tokens = 32;      // longest instruction (positions)
  int64_t proprio_dim = 8;
  int64_t scene_channels = 0;   // > 0: pooled scene features of this width refine the query (see above)

  // Even channels (the first conv has channels / 2), positive sizes, scene_channels >= 0.
  absl::Status Validate() const;
};

class TargetLocaliserImpl : public torch::nn::Module {
 public:
  explicit TargetLocaliserImpl(const TargetLocaliserOptions& options);

  // pixels float [B, 3, S, S] in [-1, 1] (S divisible by 4); ids/mask [B, L]; proprio [B, P]
  // normalised. Returns the estimate [B, 2] in the proprio normaliser's x/y units. With `heatmap`,
  // also the softmax over positions [B, S/2, S/2] (float32), for diagnostics and plots.
  torch::Tensor forward(const torch::Tensor& pixels, const torch::Tensor& ids, const torch::Tensor& mask,
                        const torch::Tensor& proprio, torch::Tensor* heatmap = nullptr);

  // Expected squared distance E_p[|c_p - target|²] [B] between the target [B, 2] (the same units
  // as the estimate) and the calibrated position c_p of each heat-map cell under the heat map
  // [B, h, w]. It equals |estimate - target|² plus the spread of the heat map, so minimising it
  // makes the map commit to one place: the plain MSE of the soft-argmax is just as happy with half
  // the mass on the right object and half on its twin when the midpoint is close to the answer,
  // and learns to tell them apart slowly (docs/results.md).
  // The cells' calibration gets no gradient from it (see TrainingSquaredError).
  torch::Tensor ExpectedSquaredError(const torch::Tensor& heatmap, const torch::Tensor& target);
  // The training loss per row [B]: the mean of the estimate's squared error (which trains the
  // calibration) and ExpectedSquaredError (which makes the map commit).
  torch::Tensor TrainingSquaredError(const torch::Tensor& estimate, const torch::Tensor& heatmap,
                                     const torch::Tensor& target);

 private:
  TargetLocaliserOptions options_;
  torch::nn::Embedding word_embed{nullptr};
  torch::Tensor word_pos_;
  torch::nn::Linear token_mlp{nullptr}, query_hidden{nullptr}, query_out{nullptr};
  torch::nn::Conv2d full{nullptr}, half{nullptr}, local{nullptr};
  torch::nn::Conv2d quarter{nullptr}, dilated2{nullptr}, dilated4{nullptr};
  torch::nn::Conv2d fuse{nullptr}, features{nullptr};
  torch::nn::Conv2d scene{nullptr};                            // with scene_channels > 0
  torch::nn::Linear scene_hidden{nullptr}, scene_out{nullptr};  // scene_out starts at zero
  torch::nn::Linear calibration{nullptr};
  torch::Tensor log_sharpness_;  // scores = exp(this) * cosine(features, query), capped (see forward)
};
TORCH_MODULE(TargetLocaliser);

}  // namespace vlarft::models
