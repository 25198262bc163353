#include "libs/core/torch_compat.h"

#include "libs/core/batched_matmul.h"

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/autocast_mode.h>

#include <cmath>
#include <limits>

namespace vlarft::core {

#define VLARFT_STRINGIFY_INNER_(x) #x
#define VLARFT_STRINGIFY_(x) VLARFT_STRINGIFY_INNER_(x)

at::Generator MakeCpuGenerator(uint64_t seed) {
  // at::detail::createCPUGenerator exists with this signature in 1.13 and every 2.x release.
  return at::detail::createCPUGenerator(seed);
}

torch::Tensor ScaledDotProductAttention(const torch::Tensor& q, const torch::Tensor& k,
                                        const torch::Tensor& v,
                                        const std::optional<torch::Tensor>& mask, bool causal) {
  TORCH_CHECK(!causal || q.size(-2) == k.size(-2), "causal attention needs equal query/key lengths");
#if VLARFT_TORCH_AT_LEAST(2, 0)
  std::optional<torch::Tensor> combined = mask;
  if (causal && mask.has_value()) {
    const int64_t n = q.size(-2);
    combined = mask->logical_and(torch::ones({n, n}, q.options().dtype(torch::kBool)).tril());
    causal = false;
  }
  return at::scaled_dot_product_attention(q, k, v, combined, /*dropout_p=*/0.0, causal);
#else
  // BatchedMatmul: one pass over all batch x head products instead of a BLAS call per matrix.
  torch::Tensor scores = BatchedMatmul(q, k.transpose(-2, -1)) / std::sqrt(static_cast<double>(q.size(-1)));
  if (causal) {
    const int64_t n = q.size(-2);
    scores = scores.masked_fill(torch::ones({n, n}, q.options().dtype(torch::kBool)).triu(1),
                                -std::numeric_limits<float>::infinity());
  }
  if (mask.has_value()) {
    scores = scores.masked_fill(mask->logical_not(), -std::numeric_limits<float>::infinity());
  }
  return BatchedMatmul(torch::softmax(scores, -1), v);
#endif
}

bool CudaAvailable() { return torch::cuda::is_available(); }

bool AutocastEnabled(c10::DeviceType device) {
#if VLARFT_TORCH_AT_LEAST(2, 4)
  return at::autocast::is_autocast_enabled(device);
#else
  return device == c10::DeviceType::CPU ? at::autocast::is_cpu_enabled() : at::autocast::is_enabled();
#endif
}

namespace {

at::ScalarType AutocastDtype(c10::DeviceType device) {
#if VLARFT_TORCH_AT_LEAST(2, 4)
  return at::autocast::get_autocast_dtype(device);
#else
  return device == c10::DeviceType::CPU ? at::autocast::get_autocast_cpu_dtype() : at::autocast::get_autocast_gpu_dtype();
#endif
}

void SetAutocast(c10::DeviceType device, bool enabled, at::ScalarType dtype) {
#if VLARFT_TORCH_AT_LEAST(2, 4)
  at::autocast::set_autocast_enabled(device, enabled);
  at::autocast::set_autocast_dtype(device, dtype);
#else
  if (device == c10::DeviceType::CPU) {
    at::autocast::set_cpu_enabled(enabled);
    at::autocast::set_autocast_cpu_dtype(dtype);
  } else {
    at::autocast::set_enabled(enabled);
    at::autocast::set_autocast_gpu_dtype(dtype);
  }
#endif
}

}  // namespace

AutocastScope::AutocastScope(c10::DeviceType device, bool enabled, at::ScalarType dtype) : device_(device) {
  if (!enabled) return;
  active_ = true;
  previous_enabled_ = AutocastEnabled(device);
  previous_dtype_ = AutocastDtype(device);
  SetAutocast(device, true, dtype);
}

AutocastScope::~AutocastScope() {
  if (!active_) return;
  SetAutocast(device_, previous_enabled_, previous_dtype_);
  // Cached low-precision copies of the weights are stale after an optimiser step.
  if (!previous_enabled_) at::autocast::clear_cache();
}

const char* TorchVersionString() {
  // Built from the numeric macros: TORCH_VERSION's exact spelling differs between releases.
  return VLARFT_STRINGIFY_(TORCH_VERSION_MAJOR) "." VLARFT_STRINGIFY_(
      TORCH_VERSION_MINOR) "." VLARFT_STRINGIFY_(TORCH_VERSION_PATCH);
}

#undef VLARFT_STRINGIFY_
#undef VLARFT_STRINGIFY_INNER_

}  // namespace vlarft::core
