// The one place that knows the difference between LibTorch 1.13 (Debian, CPU, used by CI) and
// LibTorch 2.x (CUDA builds). Every other file includes this instead of branching on versions.
#pragma once

#include <torch/torch.h>
#include <torch/version.h>

#include <cstdint>
#include <optional>
#include <sstream>
#include <string>
#include <type_traits>

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

// softmax(q k^T / sqrt(d) + mask) v over the last two dims of [..., L, d] tensors. `mask` is a
// boolean tensor broadcastable to [..., Lq, Lk] where true means "may attend"; `causal` adds the
// top-left-aligned causal mask (only for Lq == Lk). LibTorch 2.x uses the fused kernel
// (at::scaled_dot_product_attention); 1.13 has none, so it is computed explicitly.
torch::Tensor ScaledDotProductAttention(const torch::Tensor& q, const torch::Tensor& k,
                                        const torch::Tensor& v,
                                        const std::optional<torch::Tensor>& mask, bool causal);

// Key of a parameter in torch::optim::Optimizer::state(). LibTorch 1.13 keys the map by the
// TensorImpl pointer printed as a string; later releases may key it by the pointer itself.
template <typename StateMap>
typename StateMap::key_type OptimizerStateKey(const StateMap& /*state*/, const torch::Tensor& param) {
  using Key = typename StateMap::key_type;
  if constexpr (std::is_same_v<Key, std::string>) {
    std::ostringstream key;  // what c10::guts::to_string(ptr) produces
    key << param.unsafeGetTensorImpl();
    return key.str();
  } else {
    return reinterpret_cast<Key>(param.unsafeGetTensorImpl());
  }
}

// True while autocast is on for `device` (the query's spelling differs between LibTorch releases).
bool AutocastEnabled(c10::DeviceType device);

// Mixed-precision autocast (bf16 / fp16 matmuls and convolutions, float32 master weights) on
// `device` for the lifetime of the object; restores the previous state. The C++ autocast API moved
// in LibTorch 2.4 (per-device setters). Nested scopes are fine; disabled scopes change nothing.
class AutocastScope {
 public:
  AutocastScope(c10::DeviceType device, bool enabled, at::ScalarType dtype = at::kBFloat16);
  ~AutocastScope();
  AutocastScope(const AutocastScope&) = delete;
  AutocastScope& operator=(const AutocastScope&) = delete;

 private:
  c10::DeviceType device_;
  bool active_ = false;
  bool previous_enabled_ = false;
  at::ScalarType previous_dtype_ = at::kBFloat16;
};

// "1.13.1" / "2.4.0": printed in logs and checkpoint sidecars for reproducibility.
const char* TorchVersionString();

}  // namespace vlarft::core
