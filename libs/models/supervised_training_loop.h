// The optimisation loop shared by the trainers of the policy (SFT), the tokenizer and the world model:
// warm-up + cosine learning rate, AdamW step with gradient clipping, progress lines with
// throughput and ETA, periodic validation and checkpoints, and time-boxing (stop after N steps of
// this run, checkpointed, so a rerun resumes). The trainers supply the loss and the hooks.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "libs/core/torch_compat.h"
#include "yaml-cpp/yaml.h"

namespace vlarft::models {

struct LrSchedule {
  double peak = 1e-3;
  int64_t warmup_steps = 0;
  int64_t total_steps = 1;
  double final_fraction = 0.1;  // the cosine decays to peak * final_fraction

  // Linear warm-up to `peak` over warmup_steps, then cosine decay to peak * final_fraction.
  double At(int64_t step) const;
};

struct TrainingLoopSpec {
  int64_t steps = 1;
  int64_t log_every = 50;
  int64_t validate_every = 0;    // 0: validate only after the last step
  int64_t checkpoint_every = 0;  // 0: no periodic checkpoints
  int64_t stop_after_steps = 0;  // > 0: checkpoint and return after this many steps of this run
  double grad_clip = 1.0;        // <= 0: no clipping
  LrSchedule schedule;
};

// The loop settings every trainer config (PolicyTrainConfig, TokenizerTrainConfig,
// WorldModelTrainConfig) spells the same way.
template <typename TrainConfig>
TrainingLoopSpec LoopSpecFrom(const TrainConfig& config) {
  TrainingLoopSpec spec;
  spec.steps = config.steps;
  spec.log_every = config.log_every;
  spec.validate_every = config.validate_every;
  spec.checkpoint_every = config.checkpoint_every;
  spec.stop_after_steps = config.stop_after_steps;
  spec.grad_clip = config.grad_clip;
  spec.schedule = LrSchedule{config.lr, config.warmup_steps, config.steps};
  return spec;
}

struct TrainingLoopHooks {
  // Forward pass of optimiser step `step` (0-based): the scalar loss to back-propagate.
  std::function<absl::StatusOr<torch::Tensor>(int64_t step)> loss;
  // After `done` steps: validation (may be empty) and checkpointing (may be empty).
  std::function<absl::Status(int64_t done)> validate;
  std::function<absl::Status(int64_t done)> checkpoint;
};

struct TrainingLoopResult {
  std::vector<std::pair<int64_t, double>> train_loss;  // (step, mean loss since the previous line)
  double seconds = 0;
  bool complete = false;  // false when time-boxed before the last step
};

// Runs steps [start_step, spec.steps), appending to `result` (which may hold the history of a run
// this one resumes; hooks may read it, e.g. to checkpoint it). INTERNAL error on a non-finite loss.
absl::Status RunTrainingLoop(const TrainingLoopSpec& spec, int64_t start_step, torch::optim::AdamW& optimizer,
                             const std::vector<torch::Tensor>& parameters, const TrainingLoopHooks& hooks,
                             const std::function<void(const std::string&)>& progress, TrainingLoopResult& result);

// Loss histories in and out of a checkpoint's trainer-state YAML ([[step, value], ...]).
YAML::Node HistoryToYaml(const std::vector<std::pair<int64_t, double>>& history);
std::vector<std::pair<int64_t, double>> HistoryFromYaml(const YAML::Node& node);

}  // namespace vlarft::models
