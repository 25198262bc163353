// Next-token sampling for the world model: temperature, top-k, top-p (nucleus) and greedy, with
// every row of a batch using its own parameters and its own random numbers.
//
// Reproducibility regardless of batch composition: a row's token depends only on its logits, its
// parameters and its uniform u ∈ [0, 1), drawn from that sequence's own at::Generator (seeded
// through core::SeedPath), never from the global RNG. Sampling is by inverse CDF over the
// candidates sorted by descending logit (stable sort), so a row never sees another row's draws.
#pragma once

#include <cstdint>
#include <vector>

#include "absl/status/status.h"
#include "libs/core/torch_compat.h"

namespace vlarft::models {

struct SamplingParams {
  double temperature = 1.0;  // > 0
  int64_t top_k = 0;         // 0 = off; 1 = greedy
  double top_p = 0.0;        // in (0, 1]; 0 = off
  bool greedy = false;       // argmax (same as top_k = 1)

  absl::Status Validate() const;  // INVALID_ARGUMENT naming the bad field
  bool IsGreedy() const { return greedy || top_k == 1; }
};

// Per-row parameters of one batch, as tensors on the logits' device.
struct RowSampling {
  torch::Tensor temperature;  // float [B]
  torch::Tensor top_k;        // int64 [B], 0 = off
  torch::Tensor top_p;        // float [B], 0 = off
  torch::Tensor greedy;       // bool [B]

  // Row r uses params[r].
  static RowSampling FromParams(const std::vector<SamplingParams>& params, const torch::Device& device);
};

// logits float [B, V], uniforms float [B] in [0, 1) -> token indices int64 [B] in [0, V).
torch::Tensor SampleTokens(const torch::Tensor& logits, const RowSampling& rows, const torch::Tensor& uniforms);

}  // namespace vlarft::models
