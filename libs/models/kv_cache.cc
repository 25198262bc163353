#include "libs/models/kv_cache.h"

#include "libs/core/batched_matmul.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace vlarft::models {
namespace {

// x [B, h, Lq, X] times y [G, h, X, Y], where rows of group g use y[g]: [B, h, Lq, Y].
// The rows of a group are folded into the query dimension ([1, h, S·Lq, X]) so the shared
// operand is read once per group instead of being broadcast (copied) to every row.
torch::Tensor GroupMatmul(const torch::Tensor& x, const torch::Tensor& y, const RowGroups& groups) {
  const int64_t h = x.size(1), lq = x.size(2), xd = x.size(3), yd = y.size(3);
  auto fold = [&](const torch::Tensor& rows, int64_t g, int64_t s) {
    return rows.view({g, s, h, lq, xd}).permute({0, 2, 1, 3, 4}).reshape({g, h, s * lq, xd});
  };
  auto unfold = [&](const torch::Tensor& out, int64_t g, int64_t s) {
    return out.view({g, h, s, lq, yd}).permute({0, 2, 1, 3, 4}).reshape({g * s, h, lq, yd});
  };
  if (groups.uniform()) {
    const int64_t g = static_cast<int64_t>(groups.sizes.size());
    const int64_t s = groups.sizes.front();
    return unfold(core::BatchedMatmul(fold(x, g, s), y), g, s);
  }
  std::vector<torch::Tensor> parts;
  int64_t row = 0;
  for (size_t g = 0; g < groups.sizes.size(); ++g) {
    const int64_t s = groups.sizes[g];
    parts.push_back(unfold(core::BatchedMatmul(fold(x.narrow(0, row, s), 1, s), y.narrow(0, g, 1)), 1, s));
    row += s;
  }
  return torch::cat(parts, 0);
}

}  // namespace

int64_t PrefixCache::Bytes() const {
  int64_t bytes = 0;
  for (size_t i = 0; i < keys.size(); ++i) {
    bytes += keys[i].numel() * keys[i].element_size() + values[i].numel() * values[i].element_size();
  }
  return bytes;
}

PrefixCache PrefixCache::Slice(int64_t start, int64_t count) const {
  PrefixCache out;
  for (size_t i = 0; i < keys.size(); ++i) {
    out.keys.push_back(keys[i].narrow(0, start, count));
    out.values.push_back(values[i].narrow(0, start, count));
  }
  return out;
}

PrefixCache PrefixCache::Concat(const std::vector<const PrefixCache*>& parts) {
  if (parts.size() == 1) return *parts.front();
  PrefixCache out;
  const size_t layers = parts.front()->keys.size();
  for (size_t i = 0; i < layers; ++i) {
    std::vector<torch::Tensor> k, v;
    for (const PrefixCache* part : parts) {
      k.push_back(part->keys[i]);
      v.push_back(part->values[i]);
    }
    out.keys.push_back(torch::cat(k, 0));
    out.values.push_back(torch::cat(v, 0));
  }
  return out;
}

int64_t RowGroups::rows() const {
  int64_t n = 0;
  for (int64_t s : sizes) n += s;
  return n;
}

bool RowGroups::uniform() const {
  return std::all_of(sizes.begin(), sizes.end(), [&](int64_t s) { return s == sizes.front(); });
}

SuffixCache::SuffixCache(int64_t layers, int64_t rows, int64_t heads, int64_t capacity, int64_t head_dim,
                         const torch::TensorOptions& options, std::vector<int64_t> lengths, bool static_window)
    : lengths_(std::move(lengths)), capacity_(capacity), static_window_(static_window) {
  TORCH_CHECK(static_cast<int64_t>(lengths_.size()) == rows, "suffix cache: ", rows, " rows but ",
              lengths_.size(), " lengths");
  for (int64_t i = 0; i < layers; ++i) {
    keys_.push_back(torch::zeros({rows, heads, capacity, head_dim}, options));
    values_.push_back(torch::zeros({rows, heads, capacity, head_dim}, options));
  }
}

int64_t SuffixCache::max_length() const {
  return lengths_.empty() ? 0 : *std::max_element(lengths_.begin(), lengths_.end());
}

void SuffixCache::Load(int64_t layer, int64_t row, const torch::Tensor& keys, const torch::Tensor& values) {
  const int64_t n = keys.size(0), length = keys.size(2);
  keys_[layer].narrow(0, row, n).narrow(2, 0, length).copy_(keys);
  values_[layer].narrow(0, row, n).narrow(2, 0, length).copy_(values);
}

std::pair<torch::Tensor, torch::Tensor> SuffixCache::Extract(int64_t layer, int64_t row, int64_t n,
                                                             int64_t length) const {
  return {keys_[layer].narrow(0, row, n).narrow(2, 0, length).clone(),
          values_[layer].narrow(0, row, n).narrow(2, 0, length).clone()};
}

SuffixCache::Step SuffixCache::BeginStep(int64_t new_tokens, int64_t prefix_length) const {
  Step step;
  const int64_t needed = max_length() + new_tokens;
  TORCH_CHECK(needed <= capacity_, "suffix cache overflow: need ", needed, " positions, have ", capacity_);
  step.key_length = static_window_ ? capacity_ : needed;
  const auto device = keys_.front().device();
  const torch::Tensor lengths = torch::tensor(lengths_, torch::kInt64).to(device);
  const torch::Tensor offsets = torch::arange(new_tokens, torch::TensorOptions(torch::kInt64).device(device));
  const torch::Tensor positions = lengths.unsqueeze(1) + offsets.unsqueeze(0);  // [B, Lq] suffix slots
  step.positions = positions + prefix_length;
  step.write_index = positions.view({rows(), 1, new_tokens, 1});
  // Query i of row b sits at slot lengths[b] + i and may see slots 0..lengths[b] + i.
  const torch::Tensor keys = torch::arange(step.key_length, offsets.options());
  step.mask = (keys.view({1, 1, -1}) <= positions.unsqueeze(-1)).unsqueeze(1);
  return step;
}

std::pair<torch::Tensor, torch::Tensor> SuffixCache::Write(int64_t layer, const Step& step, const torch::Tensor& k,
                                                           const torch::Tensor& v) {
  const torch::Tensor index = step.write_index.expand({k.size(0), k.size(1), k.size(2), k.size(3)});
  keys_[layer].scatter_(2, index, k.to(keys_[layer].scalar_type()));
  values_[layer].scatter_(2, index, v.to(values_[layer].scalar_type()));
  return {keys_[layer].narrow(2, 0, step.key_length), values_[layer].narrow(2, 0, step.key_length)};
}

void SuffixCache::Advance(int64_t new_tokens) {
  for (int64_t& length : lengths_) length += new_tokens;
}

torch::Tensor PrefixSuffixAttention(const torch::Tensor& q, const torch::Tensor& prefix_k,
                                    const torch::Tensor& prefix_v, const RowGroups& groups,
                                    const torch::Tensor& suffix_k, const torch::Tensor& suffix_v,
                                    const torch::Tensor& suffix_mask) {
  const double scale = 1.0 / std::sqrt(static_cast<double>(q.size(-1)));
  const int64_t prefix_length = prefix_k.size(2);
  const torch::Tensor prefix_scores = GroupMatmul(q, prefix_k.transpose(-2, -1), groups).to(torch::kFloat32);
  torch::Tensor suffix_scores = core::BatchedMatmul(q, suffix_k.transpose(-2, -1)).to(torch::kFloat32);
  suffix_scores = suffix_scores.masked_fill(suffix_mask.logical_not(), -std::numeric_limits<float>::infinity());
  const torch::Tensor probs = torch::softmax(torch::cat({prefix_scores, suffix_scores}, -1) * scale, -1).to(q.scalar_type());
  const torch::Tensor prefix_out = GroupMatmul(probs.narrow(-1, 0, prefix_length), prefix_v, groups);
  return prefix_out + core::BatchedMatmul(probs.narrow(-1, prefix_length, suffix_k.size(2)), suffix_v);
}

}  // namespace vlarft::models
