// Training of the world-model transformer (docs/architecture.md, "Models"; docs/world_model.md) on demonstration clips
// tokenized on the fly by a trained, frozen tokenizer: each step samples `batch_size` clips of
// `frames` actions, builds BOS ctx(o_t) dyn(o_t) a_t dyn(o_t+1) … a_t+T−1 dyn(o_t+T) and minimises
// the cross-entropy of the future-frame tokens dyn(o_t+1 … o_t+T) only. AdamW with warm-up +
// cosine decay, gradient clipping, periodic validation (loss, token accuracy), resumable
// checkpoints (bit-exact), progress lines with ETA. The action statistics of the data become the
// model's normalisation ranges (sidecar extra.action_stats). With mixed_precision = bf16 the
// transformer's forward pass runs under bfloat16 autocast (float32 master weights, float32 loss);
// the tokenizer always runs in float32.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "libs/core/torch_compat.h"
#include "libs/models/tokenizer.h"
#include "libs/models/video_data.h"
#include "libs/models/world_model.h"

namespace vlarft::models {

struct WorldModelTrainConfig {
  int64_t steps = 2000;
  int64_t batch_size = 16;
  int64_t frames = 8;  // actions (= future frames) per training sequence: one chunk
  double lr = 1e-3;
  double weight_decay = 0.01;
  int64_t warmup_steps = 100;
  double grad_clip = 1.0;
  int64_t validate_every = 250;
  int64_t validation_batches = 4;
  int64_t checkpoint_every = 500;
  int64_t log_every = 50;
  uint64_t seed = 0;
  int64_t torch_threads = 2;
  int64_t stop_after_steps = 0;
  std::string storage_dtype = "float32";
  std::string mixed_precision = "auto";  // none | bf16 | auto (libs/core/mixed_precision.h)
  // Start from a trained world model's weights (same geometry) with a fresh optimiser and schedule:
  // training longer without its training checkpoints, or fine-tuning with another loss.
  std::string init_from;
  // Motion-weighted loss: a future token whose 1/grid-th of the frame changed since the context
  // frame (mean |Δpixel| > motion_threshold, pixels in [0, 1]) weighs 1 + motion_weight. Most of a
  // 64x64 tabletop frame is static table, so the plain loss is dominated by tokens the model can
  // copy; the reward needs the few that show the gripper and objects moving (docs/world_model.md).
  double motion_weight = 0.0;
  double motion_threshold = 0.01;

  template <typename V>
  void VisitFields(V& v) {
    v.Field("steps", steps, "optimiser steps");
    v.Field("batch_size", batch_size, "sequences per step");
    v.Field("frames", frames, "future frames (actions) per training sequence");
    v.Field("lr", lr, "peak AdamW learning rate (cosine decay after warm-up)");
    v.Field("weight_decay", weight_decay, "AdamW weight decay");
    v.Field("warmup_steps", warmup_steps, "linear warm-up steps");
    v.Field("grad_clip", grad_clip, "gradient-norm clip (<= 0 disables)");
    v.Field("validate_every", validate_every, "steps between validations (0 = only at the end)");
    v.Field("validation_batches", validation_batches, "batches per validation");
    v.Field("checkpoint_every", checkpoint_every, "steps between training checkpoints");
    v.Field("log_every", log_every, "steps between progress lines");
    v.Field("seed", seed, "seed of initialisation and sampling");
    v.Field("torch_threads", torch_threads, "intra-op threads (0 = LibTorch default)");
    v.Field("stop_after_steps", stop_after_steps, "time-box: checkpoint and stop after this many steps of this run");
    v.Field("storage_dtype", storage_dtype, "precision of the final checkpoint: float32 | float16 | bfloat16");
    v.Field("mixed_precision", mixed_precision,
            "none | bf16 | auto: bfloat16 autocast of the transformer (float32 weights); auto = bf16 where the "
            "device runs it natively (CUDA, CPUs with AVX512-BF16 or AMX: oneDNN, ~30x faster than Debian's "
            "reference BLAS there), float32 elsewhere (emulated bf16 is far slower)");
    v.Field("init_from", init_from,
            "stem of a trained world model to start from (same geometry; fresh optimiser and schedule)");
    v.Field("motion_weight", motion_weight, "extra loss weight of future tokens whose cell moved (0 = plain loss)");
    v.Field("motion_threshold", motion_threshold, "mean |pixel change| (0..1) that marks a cell as moving");
  }
  absl::Status Validate() const;
};

// The token sequences of clips (BuildSequence layout) under a frozen tokenizer: o_t's context
// grid and the future grids of o_t … o_t+T, all encoded against o_t.
torch::Tensor TokenizeClips(VideoTokenizer& tokenizer, WorldModel& model, const VideoClips& clips);

// Per-target weights of FutureTokenLoss for `clips` ([B, T * grid * grid], float, on `device`):
// 1 + motion_weight where the cell of future frame k (row-major grid x grid cells) differs from the
// context frame by more than `threshold` (mean absolute pixel change in [0, 1]), else 1.
torch::Tensor MotionWeights(const VideoClips& clips, int64_t grid, double motion_weight, double threshold,
                            torch::Device device);

struct WorldModelTrainResult {
  std::vector<std::pair<int64_t, double>> train_loss;
  std::vector<std::pair<int64_t, double>> validation_loss;
  std::vector<std::pair<int64_t, double>> validation_accuracy;  // top-1 future-token accuracy
  double seconds = 0;
  bool complete = false;
  int64_t parameters = 0;
};

// Trains (or resumes from `checkpoint_dir`, FAILED_PRECONDITION on a config mismatch) and writes the
// final model to `output_stem`. The model's token geometry is taken from `tokenizer`;
// `tokenizer_stem` is recorded in the sidecar (extra.tokenizer) for provenance.
absl::StatusOr<WorldModelTrainResult> TrainWorldModel(const WorldModelConfig& model_config,
                                                      const WorldModelTrainConfig& config, VideoTokenizer tokenizer,
                                                      const std::string& tokenizer_stem, VideoDataSource& data,
                                                      const std::string& checkpoint_dir, const std::string& output_stem,
                                                      const std::function<void(const std::string&)>& progress);

}  // namespace vlarft::models
