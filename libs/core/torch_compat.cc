#include "libs/core/torch_compat.h"

#include <ATen/CPUGeneratorImpl.h>

namespace vlarft::core {

#define VLARFT_STRINGIFY_INNER_(x) #x
#define VLARFT_STRINGIFY_(x) VLARFT_STRINGIFY_INNER_(x)

at::Generator MakeCpuGenerator(uint64_t seed) {
  // at::detail::createCPUGenerator exists with this signature in 1.13 and every 2.x release.
  return at::detail::createCPUGenerator(seed);
}

bool CudaAvailable() { return torch::cuda::is_available(); }

const char* TorchVersionString() {
  // Built from the numeric macros: TORCH_VERSION's exact spelling differs between releases.
  return VLARFT_STRINGIFY_(TORCH_VERSION_MAJOR) "." VLARFT_STRINGIFY_(
      TORCH_VERSION_MINOR) "." VLARFT_STRINGIFY_(TORCH_VERSION_PATCH);
}

#undef VLARFT_STRINGIFY_
#undef VLARFT_STRINGIFY_INNER_

}  // namespace vlarft::core
