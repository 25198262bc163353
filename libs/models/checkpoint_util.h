// Checkpoint helpers shared by the tokenizer and the world model, on top of checkpoint.h:
//  * reduced-precision storage: the repository keeps the tiny-preset stage-1 checkpoints
//    (docs/operations.md) and they must stay a few MB, so weights can be written as float16 or bfloat16;
//    loading converts every floating tensor back to the module's own dtype and is as strict as
//    LoadModelWeights about names and shapes (no silent partial loads);
//  * config comparison, so resuming or loading against a different config fails with a message
//    naming the field before any weight is touched.
#pragma once

#include <string>

#include "absl/status/status.h"
#include "libs/core/torch_compat.h"
#include "libs/models/checkpoint.h"

namespace vlarft::models {

// SaveModel, with floating tensors stored as `storage_dtype` (kFloat32 = exactly SaveModel).
absl::Status SaveModelAs(const std::string& stem, const torch::nn::Module& module, const ModelSidecar& sidecar,
                         torch::Dtype storage_dtype);

// Strict load of <stem>.safetensors whatever floating dtype it was stored in.
absl::Status LoadModelWeightsConverting(const std::string& stem, torch::nn::Module& module);

// "float32" | "float16" | "bfloat16" -> dtype; INVALID_ARGUMENT otherwise.
absl::StatusOr<torch::Dtype> ParseStorageDtype(const std::string& name);

// FAILED_PRECONDITION naming the first field of `expected` (a config as ConfigToYaml writes it)
// whose value differs in the sidecar's config; `what` prefixes the message. With `defaults` (the
// config struct's defaults, as ConfigToYaml writes them), a field the sidecar lacks passes where
// `expected` leaves it at its default: the sidecar predates the field, and its model is that default.
absl::Status CheckSidecarConfig(const ModelSidecar& sidecar, const YAML::Node& expected, const std::string& what,
                                const YAML::Node& defaults = YAML::Node());

}  // namespace vlarft::models
