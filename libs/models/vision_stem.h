// The policy encoder's vision stem: frames [B, 3, S, S] in [-1, 1] -> a token grid [B, dim, S/p, S/p]
// (p = patch_size) and, optionally, one keypoint token. Two shapes, chosen by the options:
//   channels == 0  one p x p stride-p convolution (ViT's patchifier);
//   channels > 0   log2(p) 3x3 stride-2 convolutions (widths channels, 2 channels, ..., capped at dim)
//                  then a 1x1 to dim — "Early convolutions help transformers see better" (Xiao et al.,
//                  2021): every token knows where inside its patch an edge lies, which a 64x64 grasp
//                  with a 2-pixel tolerance needs. This stem can also
//                    film       scale and shift every stage's feature map by a function of the
//                               instruction's mean word embedding (FiLM, as in RT-1), so the vision
//                               tokens already single out the named objects;
//                    keypoints  K spatial-softmax keypoints (expected x, y of K attention maps over the
//                               stride-4 features, or the only stage's; Levine et al. 2016) projected
//                               into one extra token: sub-patch object coordinates.
// Parameter names (checkpoints): stem.patch_embed | stem.convs.<i>, stem.film.<i>, stem.keypoint_maps,
// stem.keypoint_proj.
#pragma once

#include <cstdint>

#include "absl/status/status.h"
#include "libs/core/torch_compat.h"

namespace vlarft::models {

struct VisionStemOptions {
  int64_t channels = 0;  // 0 = patchify; > 0 = convolutional stem starting at this width
  bool film = false;
  int64_t keypoints = 0;

  template <typename V>
  void VisitFields(V& v) {
    v.Field("channels", channels,
            "0 = one patch_size x patch_size convolution; > 0 = a convolutional stem (3x3 stride-2 convs "
            "from this many channels, doubling, then 1x1 to dim) that localises objects better");
    v.Field("film", film,
            "with channels > 0: scale and shift every stem feature map by a function of the instruction's mean "
            "word embedding (FiLM, as in RT-1), so the vision tokens already single out the named objects");
    v.Field("keypoints", keypoints,
            "with channels > 0: K spatial-softmax keypoints (expected x, y of K attention maps over the stride-4 "
            "stem features, Levine et al. 2016) projected into one extra context token: sub-patch object "
            "coordinates for precise grasps (0 = off)");
  }
  // `patch_size` is the encoder's: the convolutional stem needs a power of two.
  absl::Status Validate(int64_t patch_size) const;
};

struct VisionStemOutput {
  torch::Tensor grid;            // [B, dim, S/p, S/p]
  torch::Tensor keypoint_token;  // [B, 1, dim] with options.keypoints > 0, else undefined
};

class VisionStemImpl : public torch::nn::Module {
 public:
  VisionStemImpl(const VisionStemOptions& options, int64_t patch_size, int64_t dim);
  // frames [B, 3, S, S]; instruction [B, dim], the mean word embedding (read only with film).
  VisionStemOutput forward(const torch::Tensor& frames, const torch::Tensor& instruction);

  const VisionStemOptions& options() const { return options_; }

  torch::nn::Conv2d patch_embed{nullptr};  // channels == 0
  torch::nn::ModuleList convs{nullptr};    // 3x3 stride-2 convolutions, then a 1x1 to dim
  torch::nn::ModuleList film{nullptr};     // per stride-2 convolution: Linear(dim -> 2 * its width)
  torch::nn::Conv2d keypoint_maps{nullptr};  // stage features -> K attention logits
  torch::nn::Linear keypoint_proj{nullptr};  // 2K coordinates -> one token

 private:
  VisionStemOptions options_;
  size_t keypoint_stage_ = 0;  // which stride-2 stage the keypoints read
};
TORCH_MODULE(VisionStem);

}  // namespace vlarft::models
