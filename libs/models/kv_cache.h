// Key/value caches for incremental decoding of the world model (docs/world_model.md, "KV-cached, shared-prefix generation").
//
// A group of sequences (16 policy samples + 1 expert reference) starts from one shared prompt
// prefix. Its keys/values are computed once, with batch 1, and kept in a PrefixCache row; every
// sequence then appends its own tokens to a preallocated SuffixCache row with a length cursor.
// Attention of a suffix query runs over [prefix K/V of its group | its own suffix K/V], with the
// prefix never copied per sequence: the group's rows are folded into the query length so one
// matmul serves all of them. Several groups (from many callers, some continuing closed-loop
// sessions with longer suffixes) decode in one batch: rows carry their own lengths and positions.
#pragma once

#include <cstdint>
#include <vector>

#include "libs/core/torch_compat.h"

namespace vlarft::models {

// Keys (after rotary embedding) and values of shared prefixes, one row per group.
struct PrefixCache {
  std::vector<torch::Tensor> keys, values;  // per layer [G, heads, P, head_dim]

  int64_t groups() const { return keys.empty() ? 0 : keys.front().size(0); }
  int64_t length() const { return keys.empty() ? 0 : keys.front().size(2); }
  int64_t Bytes() const;
  // Rows [start, start + count) as views.
  PrefixCache Slice(int64_t start, int64_t count) const;
  // Stacks groups of several caches with the same prefix length (copies).
  static PrefixCache Concat(const std::vector<const PrefixCache*>& parts);
};

// Which batch rows belong to which prefix group: group g owns the next sizes[g] rows.
struct RowGroups {
  std::vector<int64_t> sizes;

  int64_t rows() const;
  bool uniform() const;  // every group has the same number of rows
};

// Per-row keys/values after the prefix, in buffers preallocated to `capacity` positions.
// Row b's valid entries are [0, lengths[b]); a step of Lq new tokens writes [lengths[b],
// lengths[b] + Lq) for every row and then Advance(Lq) moves the cursors.
//
// Static window (docs/world_model.md, "Static shapes"): attention runs over all `capacity` slots
// with the unwritten ones masked, instead of over the slots written so far, so every step with Lq
// new tokens has the same tensor shapes from the first token to the last — what replaying a
// captured CUDA graph needs. The masked slots get probability 0; results equal the growing window's
// up to floating-point summation order.
class SuffixCache {
 public:
  SuffixCache(int64_t layers, int64_t rows, int64_t heads, int64_t capacity, int64_t head_dim,
              const torch::TensorOptions& options, std::vector<int64_t> lengths, bool static_window = false);

  int64_t rows() const { return static_cast<int64_t>(lengths_.size()); }
  int64_t capacity() const { return capacity_; }
  const std::vector<int64_t>& lengths() const { return lengths_; }
  int64_t max_length() const;

  // Copies previously extracted entries [rows, heads, len, head_dim] into rows [row, row + n).
  void Load(int64_t layer, int64_t row, const torch::Tensor& keys, const torch::Tensor& values);
  // Rows [row, row + n), positions [0, length): copies (so the big buffer can be freed).
  std::pair<torch::Tensor, torch::Tensor> Extract(int64_t layer, int64_t row, int64_t n, int64_t length) const;

  // Prepares a step of `new_tokens` tokens: RoPE positions of the new tokens ([B, Lq], counting
  // from `prefix_length`), and the attention mask over suffix keys [B, 1, Lq, max_length + Lq].
  struct Step {
    torch::Tensor positions;
    torch::Tensor mask;
    torch::Tensor write_index;  // [B, 1, Lq, 1] positions to write
    int64_t key_length = 0;     // suffix keys visible this step
  };
  Step BeginStep(int64_t new_tokens, int64_t prefix_length) const;
  // Writes this step's keys/values [B, heads, Lq, head_dim] of `layer`; returns the visible window
  // [B, heads, key_length, head_dim] of keys and values.
  std::pair<torch::Tensor, torch::Tensor> Write(int64_t layer, const Step& step, const torch::Tensor& k,
                                                const torch::Tensor& v);
  void Advance(int64_t new_tokens);

 private:
  std::vector<torch::Tensor> keys_, values_;  // per layer [B, heads, capacity, head_dim]
  std::vector<int64_t> lengths_;
  int64_t capacity_;
  bool static_window_;
};

// softmax(q [K_prefix | K_suffix]^T / √d + mask) [V_prefix | V_suffix] for q [B, h, Lq, d],
// prefix K/V [G, h, P, d] shared by the rows of each group, suffix K/V [B, h, Ls, d] with the
// boolean "may attend" mask [B, 1, Lq, Ls] (every prefix key is visible to every suffix query).
torch::Tensor PrefixSuffixAttention(const torch::Tensor& q, const torch::Tensor& prefix_k,
                                    const torch::Tensor& prefix_v, const RowGroups& groups,
                                    const torch::Tensor& suffix_k, const torch::Tensor& suffix_v,
                                    const torch::Tensor& suffix_mask);

}  // namespace vlarft::models
