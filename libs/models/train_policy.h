// Supervised flow-matching training of the policy (docs/architecture.md, "Models"): x_τ = (1−τ)ε + τa, target
// velocity a − ε, MSE. The data comes through a small interface so the trainer does not care whether
// demonstrations are the built-in benchmark's or real LIBERO files.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "libs/core/torch_compat.h"
#include "libs/models/policy.h"

namespace vlarft::models {

struct PolicyBatch {
  torch::Tensor frames;                   // uint8 [B, H, W, 3]
  std::vector<std::string> instructions;  // B
  torch::Tensor proprio;                  // float [B, P] environment units
  torch::Tensor actions;                  // float [B, C, A] environment units (the expert chunk)
  torch::Tensor subgoals;                 // float [B, 2] environment units: gripper (x, y) at its next
                                          // open/close (optional; needed when subgoal_weight > 0)
};

// Training data for the policy. Implementations must be deterministic given the generator.
class PolicyDataSource {
 public:
  virtual ~PolicyDataSource() = default;
  virtual absl::StatusOr<PolicyBatch> SampleBatch(int64_t batch_size, bool validation, at::Generator& generator) = 0;
  virtual std::vector<std::string> Instructions() const = 0;  // every instruction (vocabulary)
  virtual std::vector<double> ActionMin() const = 0;
  virtual std::vector<double> ActionMax() const = 0;
  virtual std::vector<double> ProprioMin() const = 0;
  virtual std::vector<double> ProprioMax() const = 0;
};

struct PolicyTrainConfig {
  int64_t steps = 3000;
  int64_t batch_size = 64;
  double lr = 3e-4;
  double weight_decay = 0.01;
  int64_t warmup_steps = 100;
  double grad_clip = 1.0;
  std::string tau_sampling = "beta";  // "uniform" or "beta": noise level s ~ Beta(1.5, 1), τ = 1 − s (π0)
  int64_t augment_shift = 4;          // random translation in pixels (0 = off)
  double augment_brightness = 0.1;    // ± relative brightness jitter (0 = off)
  bool train_lora_only = false;       // with encoder.lora.rank > 0: freeze the encoder's base weights
  int64_t validate_every = 250;
  int64_t checkpoint_every = 500;
  int64_t log_every = 50;
  uint64_t seed = 0;
  int64_t torch_threads = 0;
  int64_t stop_after_steps = 0;  // > 0: checkpoint and return after this many steps in this run
  std::string mixed_precision = "auto";  // none | bf16 | auto (libs/core/mixed_precision.h)
  double subgoal_weight = 0;             // weight of the subgoal MSE (needs policy.subgoal_localiser)
  double subgoal_noise_m = 0.02;         // with a subgoal head: N(0, this²) metres on the fed subgoal
  double subgoal_far_m = 0;              // > 0: weight subgoal errors by min(1, gripper-to-subgoal distance / this)
  std::string subgoal_heatmap_loss = "estimate";  // with a subgoal head: estimate | expected

  template <typename V>
  void VisitFields(V& v) {
    v.Field("steps", steps, "optimiser steps");
    v.Field("batch_size", batch_size, "chunks per step");
    v.Field("lr", lr, "peak AdamW learning rate (cosine decay after warm-up)");
    v.Field("weight_decay", weight_decay, "AdamW weight decay");
    v.Field("warmup_steps", warmup_steps, "linear warm-up steps");
    v.Field("grad_clip", grad_clip, "gradient-norm clip (<= 0 disables)");
    v.Field("tau_sampling", tau_sampling, "flow time distribution: uniform | beta");
    v.Field("augment_shift", augment_shift, "random image translation, pixels");
    v.Field("augment_brightness", augment_brightness, "random brightness jitter (relative)");
    v.Field("train_lora_only", train_lora_only, "train only LoRA adapters in the encoder");
    v.Field("validate_every", validate_every, "steps between validation losses");
    v.Field("checkpoint_every", checkpoint_every, "steps between checkpoints");
    v.Field("log_every", log_every, "steps between progress lines");
    v.Field("seed", seed, "seed of initialisation and sampling");
    v.Field("torch_threads", torch_threads, "intra-op threads (0 = default)");
    v.Field("stop_after_steps", stop_after_steps, "time-box: checkpoint and stop after this many steps of this run");
    v.Field("mixed_precision", mixed_precision,
            "none | bf16 | auto: bfloat16 autocast of the forward pass (float32 weights and loss); auto = bf16 "
            "where the device runs it natively (CUDA, CPUs with AVX512-BF16 or AMX), float32 elsewhere");
    v.Field("subgoal_weight", subgoal_weight,
            "weight of the auxiliary loss on the gripper's next open/close position (needs policy.subgoal_localiser, "
            "> 0 with one; 0 = off)");
    v.Field("subgoal_noise_m", subgoal_noise_m,
            "with policy.subgoal_localiser: standard deviation (metres, per axis) of the noise added to the "
            "demonstration's subgoal the heads are trained on, so they learn to correct an imprecise estimate");
    v.Field("subgoal_far_m", subgoal_far_m,
            "> 0: weight each frame's subgoal error by min(1, distance from the gripper to the subgoal / this, "
            "metres), so frames where the gripper's position gives the answer away do not dominate (0 = equal)");
    v.Field("subgoal_heatmap_loss", subgoal_heatmap_loss,
            "with policy.subgoal_localiser: estimate (squared error of the soft-argmax estimate) | expected (its mean "
            "with the squared distance averaged over the heat map, which punishes a map split between two "
            "candidates; slower in the localisation study, docs/results.md)");
  }
  absl::Status Validate() const;
};

// A frame whose gripper is at least this far (metres) from its subgoal: there the gripper's own
// position does not give the subgoal away, so errors on such frames say whether the target is found.
constexpr double kFarFromSubgoalM = 0.1;

// Distance (metres) [B] in the table plane from the gripper (proprio dims 0, 1) to the subgoal
// [B, 2], both in environment units.
torch::Tensor GripperToSubgoalDistance(const torch::Tensor& subgoals, const torch::Tensor& proprio);

// The subgoal loss from per-frame squared errors [B] (summed over x and y): their mean per
// coordinate, with far_m > 0 each frame weighted by min(1, distance [B] / far_m) so frames where
// the gripper's own position gives the answer away do not dominate (policy_training.subgoal_far_m).
torch::Tensor FarWeightedSubgoalLoss(const torch::Tensor& squared, const torch::Tensor& distance, double far_m);

struct PolicyTrainResult {
  std::vector<std::pair<int64_t, double>> train_loss;       // (step, mean loss since last log)
  std::vector<std::pair<int64_t, double>> validation_loss;  // (step, loss)
  // With subgoal_weight > 0: (step, per-axis RMS error of the subgoal head on 256 validation frames, metres)
  std::vector<std::pair<int64_t, double>> validation_subgoal_rms_m;
  // The same over validation frames whose gripper is >= 10 cm from the subgoal (the hard ones).
  std::vector<std::pair<int64_t, double>> validation_subgoal_far_rms_m;
  double seconds = 0;
  bool complete = false;  // false when stop_after_steps ended the run early (resume to finish)
};

// Trains from scratch or resumes from `checkpoint_dir`'s newest checkpoint, and writes the final
// policy to `output_stem`. `progress` receives one human-readable line per log interval.
absl::StatusOr<PolicyTrainResult> TrainPolicy(const PolicyConfig& model_config, const PolicyTrainConfig& config,
                                              PolicyDataSource& data, const std::string& checkpoint_dir,
                                              const std::string& output_stem,
                                              const std::function<void(const std::string&)>& progress);

// Sampling flow times as configured; exposed for tests.
torch::Tensor SampleFlowTimes(int64_t n, const std::string& mode, at::Generator& generator);
// Random translation (edge-replicated) and brightness jitter of uint8 frames [B, H, W, 3].
torch::Tensor AugmentFrames(const torch::Tensor& frames, int64_t shift, double brightness, at::Generator& generator);

}  // namespace vlarft::models
