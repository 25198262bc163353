// A DiT (Peebles & Xie) over an action chunk, the shape shared by the policy's flow head and its
// sigma net (docs/architecture.md, "Models"): one token per action step, adaLN-Zero conditioning on a vector c
// (flow time + proprio + pooled context), self-attention across the chunk, cross-attention to the
// encoder's context tokens every `cross_attention_every` blocks, and a zero-initialised final layer.
// Zero-initialised modulation makes every block the identity at initialisation, and the zero final
// layer makes the output exactly 0 — which for the sigma net means σ starts at √(σ_min σ_max).
#pragma once

#include <cstdint>
#include <vector>

#include "libs/core/torch_compat.h"
#include "libs/models/layers.h"

namespace vlarft::models {

struct DitConfig {
  int64_t depth = 4;
  int64_t dim = 128;
  int64_t heads = 4;
  int64_t ffn = 512;
  int64_t cross_attention_every = 1;  // 0 = never

  template <typename V>
  void VisitFields(V& v) {
    v.Field("depth", depth, "number of DiT blocks");
    v.Field("dim", dim, "hidden width");
    v.Field("heads", heads, "attention heads");
    v.Field("ffn", ffn, "MLP hidden width");
    v.Field("cross_attention_every", cross_attention_every, "cross-attend to context every n blocks (0 = never)");
  }
  absl::Status Validate() const;
};

// Sinusoidal embedding of flow time τ ∈ [0, 1] (scaled by 1000 as in DiT) followed by an MLP.
class TimeEmbeddingImpl : public torch::nn::Module {
 public:
  explicit TimeEmbeddingImpl(int64_t dim);
  torch::Tensor forward(const torch::Tensor& tau);  // [B] -> [B, dim]

 private:
  int64_t dim_;
  torch::nn::Linear fc1{nullptr}, fc2{nullptr};
};
TORCH_MODULE(TimeEmbedding);

// The cross-attention keys and values of a context, per block ([B, heads, N, head_dim]; undefined
// for blocks without cross-attention). They depend on the context alone, so a K-step flow sampler
// projects the context once instead of once per step (DitImpl::ContextKeys).
struct DitContextKeys {
  std::vector<torch::Tensor> keys, values;
  // Row b -> rows b*times .. b*times+times-1, as PolicyContext::Repeat.
  DitContextKeys Repeat(int64_t times) const;
};

class DitBlockImpl : public torch::nn::Module {
 public:
  DitBlockImpl(int64_t dim, int64_t heads, int64_t ffn, bool cross_attention);
  // x [B, L, D], c [B, D], context [B, N, D], context_mask [B, N] (true = real token). With
  // `key`/`value` (this block's entries of DitContextKeys) the context is not projected again.
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& c, const torch::Tensor& context,
                        const torch::Tensor& context_mask, const torch::Tensor& key = {},
                        const torch::Tensor& value = {});
  bool has_cross_attention() const { return cross_attention_; }
  Attention& cross_attention() { return cross_attn; }

 private:
  torch::nn::LayerNorm norm1{nullptr}, norm_cross{nullptr}, norm2{nullptr};
  Attention self_attn{nullptr}, cross_attn{nullptr};
  SwiGLU mlp{nullptr};
  torch::nn::Linear adaln{nullptr};  // c -> 6D (shift/scale/gate for attention and MLP), zero-init
  bool cross_attention_;
};
TORCH_MODULE(DitBlock);

class DitImpl : public torch::nn::Module {
 public:
  // Tokens are `chunk_length` steps of `in_dim` values; output is [B, chunk_length, out_dim].
  DitImpl(const DitConfig& config, int64_t chunk_length, int64_t in_dim, int64_t out_dim);
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& c, const torch::Tensor& context,
                        const torch::Tensor& context_mask, const DitContextKeys* keys = nullptr);
  // What forward computes from `context` in every call, for reuse across calls with the same context.
  DitContextKeys ContextKeys(const torch::Tensor& context);

 private:
  torch::nn::Linear input_proj{nullptr};
  torch::Tensor pos_embed_;
  torch::nn::ModuleList blocks{nullptr};
  torch::nn::LayerNorm final_norm{nullptr};
  torch::nn::Linear final_adaln{nullptr}, final_proj{nullptr};  // both zero-init
};
TORCH_MODULE(Dit);

}  // namespace vlarft::models
