// The one place a configured device name ("cpu", "cuda", "cuda:N") becomes a torch::Device. It
// checks that the device exists here, so `device: cuda` on a machine (or a LibTorch build) without
// CUDA is a precise configuration error at start-up instead of an uncaught c10 exception later.
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "torch/torch.h"

namespace vlarft::core {

// INVALID_ARGUMENT for a name that is not cpu / cuda / cuda:N; FAILED_PRECONDITION for a CUDA
// device this process cannot use (no CUDA in this LibTorch build or machine, or an index past the
// device count). `field` names the setting in the messages (e.g. "reward.scoring.device").
absl::StatusOr<torch::Device> ParseDevice(const std::string& name, const std::string& field = "device");

// The spelling check of ParseDevice alone (cpu / cuda / cuda:N), without asking whether this machine
// has the device: for validating a configuration on a machine other than the one it will run on.
absl::StatusOr<torch::Device> ParseDeviceName(const std::string& name, const std::string& field = "device");

}  // namespace vlarft::core
