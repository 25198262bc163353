// Building blocks shared by the world model, the policy encoder and the flow head. Parameter names
// follow Hugging Face's Llama layout ("q_proj", "gate_proj", "input_layernorm", ...) so external
// checkpoints stay mappable (docs/architecture.md, "Models").
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "libs/core/torch_compat.h"

namespace vlarft::models {

// y = x / sqrt(mean(x^2) + eps) * weight (LLaMA RMSNorm; computed in float32 for stability).
class RMSNormImpl : public torch::nn::Module {
 public:
  explicit RMSNormImpl(int64_t dim, double eps = 1e-6);
  torch::Tensor forward(const torch::Tensor& x);

 private:
  torch::Tensor weight_;
  double eps_;
};
TORCH_MODULE(RMSNorm);

// Rotary position embedding with the "rotate half" pairing used by Llama (HF layout): dimension i
// pairs with i + d/2. Stateless: cos/sin are computed from the positions on every call, which is
// cheap next to attention and keeps cached decoding trivially correct at any offset.
class Rotary {
 public:
  explicit Rotary(int64_t head_dim, double base = 10000.0);
  // x: [B, heads, L, head_dim]; positions: [L] or [B, L] (int64). Returns x rotated.
  torch::Tensor Apply(const torch::Tensor& x, const torch::Tensor& positions) const;

 private:
  int64_t head_dim_;
  double base_;
};

// Low-rank adaptation settings for LoraLinear. rank 0 = no adapter.
struct LoraSettings {
  int64_t rank = 0;
  double alpha = 0.0;  // scale = alpha / rank
};

// A Linear layer ("weight" [out, in], optional "bias" [out]) that can carry a LoRA adapter
// ("lora_A" [rank, in], Kaiming-uniform; "lora_B" [out, rank], zero: the adapter starts as a no-op).
// With an adapter, the base weight is frozen and only lora_A/lora_B train; Merge() folds the
// adapter into the weight for inference.
class LoraLinearImpl : public torch::nn::Module {
 public:
  LoraLinearImpl(int64_t in_features, int64_t out_features, bool bias = true);
  torch::Tensor forward(const torch::Tensor& x);

  // Adds a fresh adapter (replacing any existing one) and freezes weight/bias.
  void EnableLora(const LoraSettings& settings);
  // weight += scale * B A; removes the adapter. No-op without one.
  void Merge();
  bool has_lora() const { return lora_a_.defined(); }
  int64_t in_features() const { return weight_.size(1); }
  int64_t out_features() const { return weight_.size(0); }
  torch::Tensor& weight() { return weight_; }

 private:
  torch::Tensor weight_;
  torch::Tensor bias_;
  torch::Tensor lora_a_;
  torch::Tensor lora_b_;
  double lora_scale_ = 0.0;
};
TORCH_MODULE(LoraLinear);

// down(silu(gate(x)) * up(x)), bias-free (LLaMA MLP).
class SwiGLUImpl : public torch::nn::Module {
 public:
  SwiGLUImpl(int64_t dim, int64_t hidden);
  torch::Tensor forward(const torch::Tensor& x);

  LoraLinear gate_proj{nullptr}, up_proj{nullptr}, down_proj{nullptr};
};
TORCH_MODULE(SwiGLU);

// Multi-head attention split into its three stages so callers can put a KV cache, rotary
// embeddings or cross-attention between them without duplicating the projections.
class AttentionImpl : public torch::nn::Module {
 public:
  AttentionImpl(int64_t dim, int64_t heads, bool bias = false);

  // [B, L, dim] -> [B, heads, L, head_dim]
  torch::Tensor Query(const torch::Tensor& x);
  torch::Tensor Key(const torch::Tensor& x);
  torch::Tensor Value(const torch::Tensor& x);
  // [B, heads, L, head_dim] -> [B, L, dim] through o_proj.
  torch::Tensor Output(const torch::Tensor& attended);

  // Plain (self or cross) attention: queries from x, keys/values from `context`.
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& context,
                        const std::optional<torch::Tensor>& mask = std::nullopt, bool causal = false);
  // The same with the context already projected (Key(context), Value(context)), for callers that
  // attend to one context many times.
  torch::Tensor Attend(const torch::Tensor& x, const torch::Tensor& keys, const torch::Tensor& values,
                       const std::optional<torch::Tensor>& mask = std::nullopt, bool causal = false);

  int64_t heads() const { return heads_; }
  int64_t head_dim() const { return head_dim_; }

  LoraLinear q_proj{nullptr}, k_proj{nullptr}, v_proj{nullptr}, o_proj{nullptr};

 private:
  torch::Tensor SplitHeads(const torch::Tensor& x) const;
  int64_t heads_;
  int64_t head_dim_;
};
TORCH_MODULE(Attention);

// Pre-norm transformer block (Llama layout): x + attn(norm(x)), then x + mlp(norm(x)).
// `mask` is a boolean [B|1, 1, Lq, Lk] "may attend" mask; `causal` for decoder use.
class TransformerBlockImpl : public torch::nn::Module {
 public:
  TransformerBlockImpl(int64_t dim, int64_t heads, int64_t ffn_hidden);
  torch::Tensor forward(const torch::Tensor& x, const std::optional<torch::Tensor>& mask = std::nullopt,
                        bool causal = false);

  RMSNorm input_layernorm{nullptr}, post_attention_layernorm{nullptr};
  Attention self_attn{nullptr};
  SwiGLU mlp{nullptr};
};
TORCH_MODULE(TransformerBlock);

// Enables LoRA on every LoraLinear under `module` whose full name contains one of `targets`
// (e.g. {"q_proj", "v_proj"}; empty = all). Returns how many layers were adapted.
int EnableLoraOn(torch::nn::Module& module, const std::vector<std::string>& targets,
                 const LoraSettings& settings);
// Merges every adapter under `module`.
void MergeAllLora(torch::nn::Module& module);

// Number of elements in (trainable) parameters.
int64_t CountParameters(const torch::nn::Module& module, bool trainable_only = false);

}  // namespace vlarft::models
