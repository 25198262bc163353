// Training of the video tokenizer (docs/architecture.md, "Models"; docs/world_model.md) on demonstration clips: each step
// encodes `batch_size` context frames o_t and `futures_per_context` future frames o_t+k
// (k uniform in [0, max_future_offset]) conditioned on them, and minimises
//   w ⊙ (l1_weight · |x̂ − x| + l2_weight · (x̂ − x)²) + perceptual_weight · D_tok(x̂, x)
//   (+ adversarial_weight · hinge GAN)
// over context and future reconstructions, with pixels in [−1, 1]. The weight map w is 1, plus
// change_weight on future-frame pixels that differ from the context frame: the arm and the objects
// it moves cover a few percent of a frame, and without the boost the residual future decoder
// (tokenizer.h) learns "nothing changed" long before it learns to draw the arm where it went. The
// squared term (the PSNR objective) keeps uncertain changes from collapsing to L1's median answer. D_tok is the LPIPS-style
// distance on the tokenizer's own context-encoder features (the reward's "tokenizer" distance),
// evaluated with the feature network frozen so the loss cannot be lowered by collapsing features.
// AdamW with linear warm-up + cosine decay, gradient clipping, periodic validation (loss and PSNR),
// resumable checkpoints (TrainingCheckpoints, bit-exact), progress lines with ETA.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "libs/core/torch_compat.h"
#include "libs/models/patch_discriminator.h"
#include "libs/models/tokenizer.h"
#include "libs/models/video_data.h"

namespace vlarft::models {

struct TokenizerTrainConfig {
  int64_t steps = 1500;
  int64_t batch_size = 16;
  int64_t futures_per_context = 2;
  int64_t max_future_offset = 16;
  double lr = 1e-3;
  double weight_decay = 0.0;
  int64_t warmup_steps = 50;
  double grad_clip = 1.0;
  double l1_weight = 1.0;
  double l2_weight = 1.0;
  double change_weight = 10.0;
  double perceptual_weight = 0.1;
  double adversarial_weight = 0.0;  // 0 = no discriminator (default)
  int64_t adversarial_start_step = 0;
  int64_t discriminator_channels = 32;
  int64_t validate_every = 250;
  int64_t validation_batches = 4;
  int64_t checkpoint_every = 500;
  int64_t log_every = 50;
  uint64_t seed = 0;
  int64_t torch_threads = 2;
  int64_t stop_after_steps = 0;
  std::string storage_dtype = "float32";

  template <typename V>
  void VisitFields(V& v) {
    v.Field("steps", steps, "optimiser steps");
    v.Field("batch_size", batch_size, "context frames per step");
    v.Field("futures_per_context", futures_per_context, "future frames encoded against each context");
    v.Field("max_future_offset", max_future_offset, "future frames are o_t+k with k uniform in [0, this]");
    v.Field("lr", lr, "peak AdamW learning rate (cosine decay after warm-up)");
    v.Field("weight_decay", weight_decay, "AdamW weight decay");
    v.Field("warmup_steps", warmup_steps, "linear warm-up steps");
    v.Field("grad_clip", grad_clip, "gradient-norm clip (<= 0 disables)");
    v.Field("l1_weight", l1_weight, "weight of the L1 reconstruction loss");
    v.Field("l2_weight", l2_weight, "weight of the (change-weighted) squared error");
    v.Field("change_weight", change_weight, "extra L1/L2 weight on future pixels that differ from the context frame");
    v.Field("perceptual_weight", perceptual_weight, "weight of the tokenizer-feature perceptual loss");
    v.Field("adversarial_weight", adversarial_weight, "weight of the PatchGAN hinge loss (0 = off)");
    v.Field("adversarial_start_step", adversarial_start_step, "step from which the adversarial loss applies");
    v.Field("discriminator_channels", discriminator_channels, "PatchGAN width");
    v.Field("validate_every", validate_every, "steps between validations (0 = only at the end)");
    v.Field("validation_batches", validation_batches, "batches per validation");
    v.Field("checkpoint_every", checkpoint_every, "steps between training checkpoints");
    v.Field("log_every", log_every, "steps between progress lines");
    v.Field("seed", seed, "seed of initialisation and sampling");
    v.Field("torch_threads", torch_threads, "intra-op threads (0 = LibTorch default)");
    v.Field("stop_after_steps", stop_after_steps, "time-box: checkpoint and stop after this many steps of this run");
    v.Field("storage_dtype", storage_dtype, "precision of the final checkpoint: float32 | float16 | bfloat16");
  }
  absl::Status Validate() const;
};

struct TokenizerLosses {
  torch::Tensor total;          // what the tokenizer minimises
  torch::Tensor l1, l2, perceptual, adversarial;
  torch::Tensor discriminator;  // the discriminator's own loss (undefined without one)
  torch::Tensor context_recon;  // [B, 3, H, W]
  torch::Tensor future_recon;   // [B·K, 3, H, W]
};

// Losses of one batch: contexts [B, 3, H, W] and futures [B·K, 3, H, W] in [−1, 1] (future row
// r belongs to context r / K). `discriminator` may be null (no adversarial term).
TokenizerLosses ComputeTokenizerLosses(VideoTokenizer& tokenizer, PatchDiscriminator* discriminator,
                                       const torch::Tensor& contexts, const torch::Tensor& futures,
                                       const TokenizerTrainConfig& config, bool adversarial_active);

// PSNR in dB of images in [−1, 1] against references, per image, with pixels scaled to [0, 1].
torch::Tensor PsnrOfModelImages(const torch::Tensor& images, const torch::Tensor& references);

struct TokenizerTrainResult {
  std::vector<std::pair<int64_t, double>> train_loss;       // (step, mean total loss since last log)
  std::vector<std::pair<int64_t, double>> validation_loss;  // (step, total loss)
  std::vector<std::pair<int64_t, double>> validation_context_psnr;
  std::vector<std::pair<int64_t, double>> validation_future_psnr;
  double seconds = 0;
  bool complete = false;  // false when stop_after_steps ended the run early (rerun to resume)
};

// Trains from scratch or resumes from `checkpoint_dir`'s newest checkpoint (FAILED_PRECONDITION if
// that checkpoint was made with a different tokenizer config), and writes the final tokenizer to
// `output_stem`. `progress` receives one line per log interval and validation.
absl::StatusOr<TokenizerTrainResult> TrainTokenizer(const TokenizerConfig& model_config,
                                                    const TokenizerTrainConfig& config, VideoDataSource& data,
                                                    const std::string& checkpoint_dir, const std::string& output_stem,
                                                    const std::function<void(const std::string&)>& progress,
                                                    const torch::Device& device = torch::kCPU);

}  // namespace vlarft::models
