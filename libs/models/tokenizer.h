// The iVideoGPT-style compressive video tokenizer (docs/architecture.md, "Models"; docs/world_model.md).
//
//   context frame o_t ──ContextEncoder──► FSQ ──► ctx tokens, (H/d_c)×(W/d_c) grid ──ContextDecoder──► ô_t
//                     │ multi-scale features f_s (unquantised)
//                     ├──────────────────────────────┐
//                     ▼                              ▼
//   future frame o ──FutureEncoder(f_s)──► FSQ ──► dyn tokens ──FutureDecoder(f_s)──► ô
//                                      (H/d_f)×(W/d_f) grid
//
// Future frames are encoded and decoded *conditioned on the context frame*: at every scale the
// context encoder's feature map is fused in (1x1 conv over the concatenation) and, at the context
// grid scale, cross-attended, so a future token only has to carry what changed. As in iVideoGPT the
// future decoder reads the context *encoder's* features, not the context decoder's: the context
// frame is always at hand when futures are decoded (the simulator keeps it per group), and its
// unquantised features let static background pass through at full fidelity instead of inheriting
// the context tokens' reconstruction error. With future_residual (default) the future decoder's
// output is added to the context frame itself: a fresh decoder already reproduces o_t exactly,
// so training only has to learn what moved (the gripper, carried objects) instead of re-learning
// the whole scene from quantised codes. Both grids use the same FSQ (levels [7,5,5,5,5], 4375
// codes). Token indices are row-major over the grid ([B, h·w]).
//
// Images inside the network are float [B, 3, H, W] in [−1, 1]; at the API they are uint8
// [B, H, W, 3]. Tiny preset: 64×64 → 16×16 context / 4×4 future; paper: 256×256 → 32×32 / 8×8.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "libs/core/torch_compat.h"
#include "libs/models/checkpoint.h"
#include "libs/models/conv_blocks.h"
#include "libs/models/fsq.h"

namespace vlarft::models {

struct TokenizerConfig {
  int64_t image_size = 64;
  int64_t patch_size = 2;           // p: the stem patchifies p×p pixels; scales start at image_size / p
  int64_t context_downsample = 4;   // d_c: context grid = image_size / d_c
  int64_t future_downsample = 16;   // d_f: future grid = image_size / d_f
  int64_t base_channels = 32;       // width after the stem; doubles per halving ...
  int64_t max_channels = 64;        // ... up to this
  int64_t res_blocks = 1;           // residual blocks per scale
  bool cross_attention = true;      // future branch cross-attends to context features at the context grid
  bool future_residual = true;      // future decoder output is added to the context frame
  std::vector<int64_t> fsq_levels = {7, 5, 5, 5, 5};

  template <typename V>
  void VisitFields(V& v) {
    v.Field("image_size", image_size, "frames are image_size x image_size RGB");
    v.Field("patch_size", patch_size, "stem patch size (power of two <= context_downsample); decoders end in a pixel shuffle");
    v.Field("context_downsample", context_downsample, "context grid = image_size / this (power of two)");
    v.Field("future_downsample", future_downsample, "future grid = image_size / this (power of two, >= context)");
    v.Field("base_channels", base_channels, "conv width after the stem (doubles per scale)");
    v.Field("max_channels", max_channels, "largest conv width");
    v.Field("res_blocks", res_blocks, "residual blocks per scale");
    v.Field("cross_attention", cross_attention, "future encoder/decoder cross-attend to context features");
    v.Field("future_residual", future_residual, "future frames are decoded as context frame + predicted change");
    v.Field("fsq_levels", fsq_levels, "FSQ levels per latent dimension (codebook = product)");
  }
  absl::Status Validate() const;

  int64_t context_grid() const { return image_size / context_downsample; }
  int64_t future_grid() const { return image_size / future_downsample; }
  int64_t context_tokens() const { return context_grid() * context_grid(); }
  int64_t future_tokens() const { return future_grid() * future_grid(); }
  int64_t codebook_size() const;
  // Channels at scale s (s = 0 is the stem's resolution, image_size / patch_size).
  int64_t Channels(int64_t scale) const;
  int64_t context_scales() const;  // log2(d_c / p) + 1
  int64_t future_scales() const;   // log2(d_f / p) + 1
};

// Encoder of either branch: a p×p patchifying stem (p = patch_size; no convolution runs at full
// resolution, which on CPUs is memory-bound and dominated the cost), residual blocks per scale with
// stride-2 down-sampling, and a 1x1 projection to the FSQ dimensions. With `conditioned`, the stem
// also sees the pixel difference to the context frame (what moved is then visible from the first
// layer), and the first context_scales scales fuse the matching context feature map in (and
// cross-attend at the coarsest of them).
class FrameEncoderImpl : public torch::nn::Module {
 public:
  FrameEncoderImpl(const TokenizerConfig& config, int64_t scales, bool conditioned);
  // x [B, 3, H, W] -> latent [B, dims, H/(p·2^(scales-1)), ...]; conditioned encoders take the
  // context frames (`context_image`, same batch) and feature maps; `features` (if not null)
  // receives the per-scale feature maps after each scale's residual blocks (finest first).
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& context_image,
                        const std::vector<torch::Tensor>& condition, std::vector<torch::Tensor>* features = nullptr);

 private:
  int64_t scales_;
  int64_t conditioned_scales_;
  torch::nn::Conv2d stem{nullptr}, out{nullptr};
  torch::nn::GroupNorm out_norm{nullptr};
  torch::nn::ModuleList blocks{nullptr}, downs{nullptr}, fuses{nullptr};
  SpatialCrossAttention cross{nullptr};
};
TORCH_MODULE(FrameEncoder);

// Decoder of either branch, mirroring FrameEncoder: from the latent grid up to the stem's
// resolution, fusing (and cross-attending to) the context encoder's features when conditioned, then
// a 3x3 conv to 3·p² channels and a pixel shuffle to full resolution.
class FrameDecoderImpl : public torch::nn::Module {
 public:
  FrameDecoderImpl(const TokenizerConfig& config, int64_t scales, bool conditioned);
  // codes [B, dims, h, w] -> image [B, 3, H, W] (unbounded; ≈ [−1, 1]); `features` (if not null)
  // receives the per-scale maps (finest first).
  torch::Tensor forward(const torch::Tensor& codes, const std::vector<torch::Tensor>& condition,
                        std::vector<torch::Tensor>* features = nullptr);

 private:
  int64_t scales_;
  int64_t conditioned_scales_;
  int64_t patch_size_ = 1;
  torch::nn::Conv2d in{nullptr}, out{nullptr};
  torch::nn::GroupNorm out_norm{nullptr};
  torch::nn::ModuleList blocks{nullptr}, ups{nullptr}, fuses{nullptr};
  SpatialCrossAttention cross{nullptr};
};
TORCH_MODULE(FrameDecoder);

// The context frame's encoding: what the world model's prompt and the future branch need.
struct ContextEncoding {
  torch::Tensor image;                         // [B, 3, H, W] the context frame itself (model space)
  torch::Tensor codes;                         // [B, dims, hc, wc] quantised
  torch::Tensor indices;                       // int64 [B, hc·wc]
  std::vector<torch::Tensor> encoder_features; // conditioning of the future encoder and decoder

  // Rows [start, start + count) (views).
  ContextEncoding Rows(int64_t start, int64_t count) const;
  // Every row repeated `times` times (row b -> rows b·times … b·times+times−1).
  ContextEncoding Repeat(int64_t times) const;
};

class VideoTokenizerImpl : public torch::nn::Module {
 public:
  // The config must be valid (Validate() / LoadTokenizer check it).
  explicit VideoTokenizerImpl(const TokenizerConfig& config);

  const TokenizerConfig& config() const { return config_; }
  const Fsq& fsq() const { return fsq_; }
  torch::Device device() const;

  // ---- tensor-level API (inputs assumed valid; used by trainers and the generator) ----
  ContextEncoding EncodeContext(const torch::Tensor& x);
  // Future frames x [B·K, 3, H, W] conditioned on contexts of batch B (each context serves K
  // consecutive rows). Returns {codes [B·K, dims, hf, wf], indices int64 [B·K, hf·wf]}.
  std::pair<torch::Tensor, torch::Tensor> EncodeFuture(const torch::Tensor& x, const ContextEncoding& context);
  // Context codes [B, dims, hc, wc] -> image [B, 3, H, W].
  torch::Tensor DecodeContext(const torch::Tensor& codes);
  // codes [B·K, dims, hf, wf] against contexts of batch B -> images [B·K, 3, H, W].
  torch::Tensor DecodeFuture(const torch::Tensor& codes, const ContextEncoding& context);
  // int64 indices [B, g·g] -> codes [B, dims, g, g].
  torch::Tensor CodesFromIndices(const torch::Tensor& indices, int64_t grid) const;

  // The context encoder's pre-quantisation feature maps at every scale (finest first), the
  // feature space of the "tokenizer" perceptual distance. x float [B, 3, H, W] in [−1, 1].
  std::vector<torch::Tensor> MultiScaleFeatures(const torch::Tensor& x);
  // LPIPS-style distance per image [B]: per scale, unit-normalise channel vectors, squared
  // difference summed over channels, mean over positions; then the mean over scales.
  torch::Tensor PerceptualDistance(const torch::Tensor& a, const torch::Tensor& b);

  // ---- validated API (uint8 [B, H, W, 3] frames) ----
  // INVALID_ARGUMENT naming the problem for wrong dtype/shape/size.
  absl::Status CheckFrames(const torch::Tensor& frames, const std::string& field) const;
  absl::StatusOr<ContextEncoding> TokenizeContext(const torch::Tensor& frames);
  // future [B, K, H, W, 3] against contexts [B, H, W, 3] -> dyn indices [B, K, hf·wf].
  absl::StatusOr<torch::Tensor> TokenizeFuture(const torch::Tensor& future, const torch::Tensor& context);
  // Multi-scale features of uint8 frames (the reward's "tokenizer" distance uses these).
  absl::StatusOr<std::vector<torch::Tensor>> MultiScaleFeaturesOfFrames(const torch::Tensor& frames);

  FrameEncoder context_encoder{nullptr}, future_encoder{nullptr};
  FrameDecoder context_decoder{nullptr}, future_decoder{nullptr};

 private:
  TokenizerConfig config_;
  Fsq fsq_;
};
TORCH_MODULE(VideoTokenizer);

// uint8 [..., H, W, 3] -> float [..., 3, H, W] in [−1, 1] on `device`.
torch::Tensor FramesToModel(const torch::Tensor& frames, const torch::Device& device);
// float [..., 3, H, W] (≈ [−1, 1]) -> uint8 [..., H, W, 3] on the CPU.
torch::Tensor ModelToFrames(const torch::Tensor& images);

// Future frames uint8 [..., H, W, 3] after a round trip through the future branch against the
// context frame uint8 [H, W, 3]: encoded, quantised and decoded, as a world model that predicted
// every token right would draw them. Same shape, uint8, on the CPU. No gradients.
torch::Tensor RoundTripFutureFrames(VideoTokenizerImpl& tokenizer, const torch::Tensor& context,
                                    const torch::Tensor& frames);


// Checkpoint I/O: <stem>.safetensors + <stem>.yaml (kind "tokenizer", config in the sidecar).
ModelSidecar TokenizerSidecar(const VideoTokenizer& tokenizer, int64_t step);
absl::Status SaveTokenizer(const std::string& stem, const VideoTokenizer& tokenizer, int64_t step,
                           torch::Dtype storage_dtype = torch::kFloat32);
// Rebuilds the architecture from the sidecar (checking it first) and loads the weights onto `device`.
absl::StatusOr<VideoTokenizer> LoadTokenizer(const std::string& stem, const torch::Device& device);

}  // namespace vlarft::models
