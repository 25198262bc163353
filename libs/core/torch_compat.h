// The one place that knows the difference between LibTorch 1.13 (Debian, CPU, used by CI) and
// LibTorch 2.x (CUDA builds). Every other file includes this instead of branching on versions.
#pragma once

#include <torch/torch.h>
#include <torch/version.h>

#include <cstdint>
#include <optional>

#define VLARFT_TORCH_AT_LEAST(major, minor) \
  (TORCH_VERSION_MAJOR > (major) ||         \
   (TORCH_VERSION_MAJOR == (major) && TORCH_VERSION_MINOR >= (minor)))

namespace vlarft::core {

// c10::optional became std::optional in 2.x; the two do not convert implicitly everywhere.
template <typename T>
std::optional<T> ToStdOptional(const c10::optional<T>& value) {
  if (value.has_value()) return *value;
  return std::nullopt;
}

// A CPU generator seeded deterministically (API moved between versions).
at::Generator MakeCpuGenerator(uint64_t seed);

// True when this build's LibTorch can run on CUDA and a device is present.
bool CudaAvailable();

// "1.13.1" / "2.4.0": printed in logs and checkpoint sidecars for reproducibility.
const char* TorchVersionString();

}  // namespace vlarft::core
