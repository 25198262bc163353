#include "libs/models/layers.h"

#include <cmath>

#include "libs/models/fast_matmul.h"

namespace vlarft::models {

RMSNormImpl::RMSNormImpl(int64_t dim, double eps) : eps_(eps) {
  weight_ = register_parameter("weight", torch::ones({dim}));
}

torch::Tensor RMSNormImpl::forward(const torch::Tensor& x) {
  const torch::Tensor x32 = x.to(torch::kFloat32);
  const torch::Tensor normed = x32 * torch::rsqrt(x32.pow(2).mean(-1, /*keepdim=*/true) + eps_);
  return normed.to(x.scalar_type()) * weight_;
}

Rotary::Rotary(int64_t head_dim, double base) : head_dim_(head_dim), base_(base) {
  TORCH_CHECK(head_dim % 2 == 0, "rotary embeddings need an even head dimension, got ", head_dim);
}

torch::Tensor Rotary::Apply(const torch::Tensor& x, const torch::Tensor& positions) const {
  const int64_t half = head_dim_ / 2;
  const auto options = x.options().dtype(torch::kFloat32);
  const torch::Tensor inv_freq =
      torch::pow(base_, -torch::arange(0, half, options) * 2.0 / static_cast<double>(head_dim_));
  // angles: [L, half] or [B, L, half] -> broadcast over heads as [1|B, 1, L, half].
  torch::Tensor angles = positions.to(torch::kFloat32).unsqueeze(-1) * inv_freq;
  angles = positions.dim() == 1 ? angles.unsqueeze(0).unsqueeze(0) : angles.unsqueeze(1);
  const torch::Tensor cos = torch::cat({angles.cos(), angles.cos()}, -1).to(x.scalar_type());
  const torch::Tensor sin = torch::cat({angles.sin(), angles.sin()}, -1).to(x.scalar_type());
  const torch::Tensor x1 = x.narrow(-1, 0, half);
  const torch::Tensor x2 = x.narrow(-1, half, half);
  const torch::Tensor rotated = torch::cat({-x2, x1}, -1);
  return x * cos + rotated * sin;
}

LoraLinearImpl::LoraLinearImpl(int64_t in_features, int64_t out_features, bool bias) {
  // Same initialisation as torch::nn::Linear.
  weight_ = register_parameter("weight", torch::empty({out_features, in_features}));
  torch::nn::init::kaiming_uniform_(weight_, std::sqrt(5.0));
  if (bias) {
    const double bound = 1.0 / std::sqrt(static_cast<double>(in_features));
    bias_ = register_parameter("bias", torch::empty({out_features}).uniform_(-bound, bound));
  }
}

torch::Tensor LoraLinearImpl::forward(const torch::Tensor& x) {
  // FastLinear: Debian's LibTorch would otherwise run every projection on the reference BLAS.
  torch::Tensor y = FastLinear(x, weight_, bias_);
  if (lora_a_.defined()) y = y + FastLinear(FastLinear(x, lora_a_), lora_b_) * lora_scale_;
  return y;
}

void LoraLinearImpl::EnableLora(const LoraSettings& settings) {
  TORCH_CHECK(settings.rank > 0, "LoRA rank must be positive, got ", settings.rank);
  lora_a_ = torch::empty({settings.rank, in_features()}, weight_.options());
  torch::nn::init::kaiming_uniform_(lora_a_, std::sqrt(5.0));
  lora_b_ = torch::zeros({out_features(), settings.rank}, weight_.options());
  // register_parameter replaces an existing entry of the same name.
  lora_a_ = register_parameter("lora_A", lora_a_);
  lora_b_ = register_parameter("lora_B", lora_b_);
  lora_scale_ = (settings.alpha > 0 ? settings.alpha : static_cast<double>(settings.rank)) /
                static_cast<double>(settings.rank);
  weight_.set_requires_grad(false);
  if (bias_.defined()) bias_.set_requires_grad(false);
}

void LoraLinearImpl::Merge() {
  if (!lora_a_.defined()) return;
  {
    torch::NoGradGuard no_grad;
    weight_.add_(torch::matmul(lora_b_, lora_a_) * lora_scale_);
  }
  // Module has no unregister_parameter in LibTorch 1.13; the registry is a protected member.
  parameters_.erase("lora_A");
  parameters_.erase("lora_B");
  lora_a_ = torch::Tensor();
  lora_b_ = torch::Tensor();
}

SwiGLUImpl::SwiGLUImpl(int64_t dim, int64_t hidden) {
  gate_proj = register_module("gate_proj", LoraLinear(dim, hidden, /*bias=*/false));
  up_proj = register_module("up_proj", LoraLinear(dim, hidden, /*bias=*/false));
  down_proj = register_module("down_proj", LoraLinear(hidden, dim, /*bias=*/false));
}

torch::Tensor SwiGLUImpl::forward(const torch::Tensor& x) {
  return down_proj(torch::silu(gate_proj(x)) * up_proj(x));
}

AttentionImpl::AttentionImpl(int64_t dim, int64_t heads, bool bias) : heads_(heads) {
  TORCH_CHECK(heads > 0 && dim % heads == 0, "attention dim ", dim, " is not divisible by ", heads, " heads");
  head_dim_ = dim / heads;
  q_proj = register_module("q_proj", LoraLinear(dim, dim, bias));
  k_proj = register_module("k_proj", LoraLinear(dim, dim, bias));
  v_proj = register_module("v_proj", LoraLinear(dim, dim, bias));
  o_proj = register_module("o_proj", LoraLinear(dim, dim, bias));
}

torch::Tensor AttentionImpl::SplitHeads(const torch::Tensor& x) const {
  return x.view({x.size(0), x.size(1), heads_, head_dim_}).transpose(1, 2);
}

torch::Tensor AttentionImpl::Query(const torch::Tensor& x) { return SplitHeads(q_proj(x)); }
torch::Tensor AttentionImpl::Key(const torch::Tensor& x) { return SplitHeads(k_proj(x)); }
torch::Tensor AttentionImpl::Value(const torch::Tensor& x) { return SplitHeads(v_proj(x)); }

torch::Tensor AttentionImpl::Output(const torch::Tensor& attended) {
  const torch::Tensor merged =
      attended.transpose(1, 2).reshape({attended.size(0), attended.size(2), heads_ * head_dim_});
  return o_proj(merged);
}

torch::Tensor AttentionImpl::forward(const torch::Tensor& x, const torch::Tensor& context,
                                     const std::optional<torch::Tensor>& mask, bool causal) {
  return Attend(x, Key(context), Value(context), mask, causal);
}

torch::Tensor AttentionImpl::Attend(const torch::Tensor& x, const torch::Tensor& keys, const torch::Tensor& values,
                                    const std::optional<torch::Tensor>& mask, bool causal) {
  return Output(core::ScaledDotProductAttention(Query(x), keys, values, mask, causal));
}

TransformerBlockImpl::TransformerBlockImpl(int64_t dim, int64_t heads, int64_t ffn_hidden) {
  input_layernorm = register_module("input_layernorm", RMSNorm(dim));
  self_attn = register_module("self_attn", Attention(dim, heads));
  post_attention_layernorm = register_module("post_attention_layernorm", RMSNorm(dim));
  mlp = register_module("mlp", SwiGLU(dim, ffn_hidden));
}

torch::Tensor TransformerBlockImpl::forward(const torch::Tensor& x, const std::optional<torch::Tensor>& mask,
                                            bool causal) {
  const torch::Tensor h = input_layernorm(x);
  const torch::Tensor attended = x + self_attn(h, h, mask, causal);
  return attended + mlp(post_attention_layernorm(attended));
}

namespace {

bool NameMatches(const std::string& name, const std::vector<std::string>& targets) {
  if (targets.empty()) return true;
  for (const std::string& t : targets) {
    if (name.find(t) != std::string::npos) return true;
  }
  return false;
}

}  // namespace

int EnableLoraOn(torch::nn::Module& module, const std::vector<std::string>& targets,
                 const LoraSettings& settings) {
  int adapted = 0;
  for (const auto& item : module.named_modules()) {
    if (auto* linear = dynamic_cast<LoraLinearImpl*>(item.value().get())) {
      if (NameMatches(item.key(), targets)) {
        linear->EnableLora(settings);
        ++adapted;
      }
    }
  }
  return adapted;
}

void MergeAllLora(torch::nn::Module& module) {
  for (const auto& child : module.modules()) {
    if (auto* linear = dynamic_cast<LoraLinearImpl*>(child.get())) linear->Merge();
  }
}

int64_t CountParameters(const torch::nn::Module& module, bool trainable_only) {
  int64_t total = 0;
  for (const torch::Tensor& p : module.parameters()) {
    if (!trainable_only || p.requires_grad()) total += p.numel();
  }
  return total;
}

}  // namespace vlarft::models
