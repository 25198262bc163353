// Model and training checkpoints (docs/architecture.md, "Models").
//
// A model checkpoint is two files with a common stem:
//   <stem>.safetensors  every parameter and buffer, under stable documented names
//   <stem>.yaml         sidecar: kind ("tokenizer", "world_model", "policy"), the model config, extra
//                       data such as action normalisation statistics, step, LibTorch version
// Loading checks the kind and the config before touching weights, then loads strictly: a checkpoint
// whose config or shapes do not match is a clear error, never a silent partial load.
//
// A training checkpoint is a directory `<dir>/step-<N>/` holding the model checkpoint, the AdamW
// state (optimizer.safetensors), and trainer.yaml (step, RNG state, anything the trainer adds).
// `<dir>/LATEST` names the newest complete one and is replaced atomically after everything else is
// written, so a kill at any moment leaves the previous checkpoint usable.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "libs/core/torch_compat.h"
#include "yaml-cpp/yaml.h"

namespace vlarft::models {

struct ModelSidecar {
  std::string kind;
  YAML::Node config;  // the model's config, as ConfigToYaml writes it
  YAML::Node extra;   // normalisation statistics, vocabularies, ...
  int64_t step = 0;
};

absl::Status SaveModel(const std::string& stem, const torch::nn::Module& module,
                       const ModelSidecar& sidecar);

// Reads <stem>.yaml; FAILED_PRECONDITION if its kind differs from `expected_kind`.
absl::StatusOr<ModelSidecar> ReadModelSidecar(const std::string& stem, const std::string& expected_kind);

// Strictly loads <stem>.safetensors into `module` (all-or-nothing).
absl::Status LoadModelWeights(const std::string& stem, torch::nn::Module& module);

// Optimizer state keyed by parameter name, so it survives module reconstruction.
using NamedParameters = std::vector<std::pair<std::string, torch::Tensor>>;
absl::Status SaveAdamWState(const std::string& path, torch::optim::AdamW& optimizer,
                            const NamedParameters& parameters);
absl::Status LoadAdamWState(const std::string& path, torch::optim::AdamW& optimizer,
                            const NamedParameters& parameters);

// Everything a trainer needs to continue bit-for-bit where it stopped.
struct TrainerState {
  int64_t step = 0;
  torch::Tensor generator_state;  // at::Generator::get_state() of the trainer's generator
  YAML::Node extra;               // trainer-specific (data cursor, best validation loss, ...)
};

class TrainingCheckpoints {
 public:
  // `keep` = how many complete checkpoints to retain (older ones are deleted after a commit).
  explicit TrainingCheckpoints(std::string dir, int keep = 2) : dir_(std::move(dir)), keep_(keep) {}

  // Writes model + optimizer + trainer state for `state.step` and then updates LATEST.
  absl::Status Save(const torch::nn::Module& module, const ModelSidecar& sidecar,
                    torch::optim::AdamW& optimizer, const NamedParameters& parameters,
                    const TrainerState& state);

  // The newest complete checkpoint's directory, or nullopt if there is none.
  std::optional<std::string> Latest() const;

  // Restores module weights, optimizer state and trainer state from Latest(). NOT_FOUND if none.
  absl::StatusOr<TrainerState> Restore(torch::nn::Module& module, const std::string& expected_kind,
                                       torch::optim::AdamW& optimizer,
                                       const NamedParameters& parameters) const;

  const std::string& dir() const { return dir_; }

 private:
  std::string dir_;
  int keep_;
};

// Names of trainable parameters (requires_grad), in module order.
NamedParameters TrainableParameters(const torch::nn::Module& module);

}  // namespace vlarft::models
