#include "libs/core/device.h"

#include "absl/strings/str_cat.h"
#include "libs/core/status.h"
#include "libs/core/torch_compat.h"

namespace vlarft::core {

absl::StatusOr<torch::Device> ParseDeviceName(const std::string& name, const std::string& field) {
  // torch::Device's string constructor throws on garbage; keep that inside the boundary.
  absl::StatusOr<torch::Device> device = CatchTorchErrors(field, [&]() { return torch::Device(name); });
  if (!device.ok() || !(device->is_cpu() || device->is_cuda())) {
    return absl::InvalidArgumentError(absl::StrCat(field, " must be cpu, cuda or cuda:N, got '", name, "'"));
  }
  return *device;
}

absl::StatusOr<torch::Device> ParseDevice(const std::string& name, const std::string& field) {
  absl::StatusOr<torch::Device> device = ParseDeviceName(name, field);
  if (!device.ok()) return device.status();
  if (device->is_cuda()) {
    if (!CudaAvailable()) {
      return absl::FailedPreconditionError(absl::StrCat(
          field, " is '", name, "' but this process sees no CUDA device (a CPU-only LibTorch build, no GPU, or ",
          "CUDA_VISIBLE_DEVICES hides it); use cpu here"));
    }
    const int64_t count = static_cast<int64_t>(torch::cuda::device_count());
    if (device->has_index() && device->index() >= count) {
      return absl::FailedPreconditionError(
          absl::StrCat(field, " is '", name, "' but this machine has ", count, " CUDA device(s)"));
    }
  }
  return *device;
}

}  // namespace vlarft::core
