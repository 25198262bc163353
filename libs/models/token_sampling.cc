#include "libs/models/token_sampling.h"

#include <cmath>
#include <limits>

#include "absl/strings/str_cat.h"

namespace vlarft::models {

absl::Status SamplingParams::Validate() const {
  if (!std::isfinite(temperature) || temperature <= 0) {
    return absl::InvalidArgumentError(absl::StrCat("sampling.temperature must be finite and > 0, got ", temperature));
  }
  if (top_k < 0) return absl::InvalidArgumentError(absl::StrCat("sampling.top_k must be >= 0, got ", top_k));
  if (!std::isfinite(top_p) || top_p < 0 || top_p > 1) {
    return absl::InvalidArgumentError(absl::StrCat("sampling.top_p must be in [0, 1], got ", top_p));
  }
  return absl::OkStatus();
}

RowSampling RowSampling::FromParams(const std::vector<SamplingParams>& params, const torch::Device& device) {
  std::vector<double> temperature, top_p;
  std::vector<int64_t> top_k;
  std::vector<uint8_t> greedy;
  for (const SamplingParams& p : params) {
    temperature.push_back(p.temperature);
    top_k.push_back(p.top_k);
    top_p.push_back(p.top_p);
    greedy.push_back(p.IsGreedy() ? 1 : 0);
  }
  const int64_t n = static_cast<int64_t>(params.size());
  RowSampling rows;
  rows.temperature = torch::tensor(temperature, torch::kFloat64).to(device, torch::kFloat32);
  rows.top_k = torch::tensor(top_k, torch::kInt64).to(device);
  rows.top_p = torch::tensor(top_p, torch::kFloat64).to(device, torch::kFloat32);
  rows.greedy = torch::from_blob(greedy.data(), {n}, torch::kUInt8).to(device, torch::kBool);
  return rows;
}

torch::Tensor SampleTokens(const torch::Tensor& logits, const RowSampling& rows, const torch::Tensor& uniforms) {
  const torch::Tensor x = logits.to(torch::kFloat32);
  const int64_t vocab = x.size(1);
  const torch::Tensor argmax = x.argmax(1);

  torch::Tensor sorted, order;
  std::tie(sorted, order) = torch::sort(x, /*stable=*/true, /*dim=*/1, /*descending=*/true);
  const torch::Tensor rank = torch::arange(vocab, order.options()).unsqueeze(0);
  const torch::Tensor k = rows.top_k.unsqueeze(1);
  const float neg_inf = -std::numeric_limits<float>::infinity();
  sorted = sorted.masked_fill((k > 0).logical_and(rank >= k), neg_inf);

  torch::Tensor probs = torch::softmax(sorted / rows.temperature.unsqueeze(1), 1);
  const torch::Tensor p = rows.top_p.unsqueeze(1);
  // Drop a candidate once the mass strictly before it already reaches p (the first always stays).
  const torch::Tensor before = probs.cumsum(1) - probs;
  probs = probs.masked_fill((p > 0).logical_and(before >= p).logical_and(rank > 0), 0.0);

  const torch::Tensor cdf = probs.cumsum(1);
  const torch::Tensor target = uniforms.to(cdf.device(), torch::kFloat32).unsqueeze(1) * cdf.narrow(1, vocab - 1, 1);
  // The first candidate whose cumulative mass exceeds the target (never a zero-mass one).
  const torch::Tensor pick = (cdf <= target).sum(1).clamp_max(vocab - 1);
  const torch::Tensor sampled = order.gather(1, pick.unsqueeze(1)).squeeze(1);
  return torch::where(rows.greedy, argmax, sampled);
}

}  // namespace vlarft::models
