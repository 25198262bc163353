// Moving a torch::nn::Module's parameters and buffers in and out of safetensors files, strictly:
// loading fails (and leaves the module untouched) on any missing tensor, unexpected tensor, or
// dtype/shape mismatch, listing every offender. There is no silent partial load.
#pragma once

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "libs/core/safetensors.h"
#include "libs/core/torch_compat.h"

namespace vlarft::core {

// Named parameters followed by named buffers, with `prefix` prepended ("policy.head.blocks.0...").
std::vector<std::pair<std::string, torch::Tensor>> NamedStateTensors(const torch::nn::Module& module,
                                                                     const std::string& prefix = "");

struct LoadStateOptions {
  std::string prefix;              // only entries starting with this prefix belong to the module
  bool allow_unexpected = false;   // tolerate extra entries under `prefix`
  bool allow_missing = false;      // tolerate module tensors absent from the file
};

// Copies tensors from `file` into `module` (on the module's device/dtype) under NoGradGuard.
// Validates everything first; only then copies, so a failed load changes nothing.
absl::Status LoadModuleState(const SafetensorsFile& file, torch::nn::Module& module,
                             const LoadStateOptions& options = {});

// Same, from an in-memory map (used for weight streaming).
absl::Status LoadModuleState(const std::map<std::string, torch::Tensor>& tensors,
                             torch::nn::Module& module, const LoadStateOptions& options = {});

}  // namespace vlarft::core
