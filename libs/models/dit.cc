#include "libs/models/dit.h"

#include <cmath>

#include "absl/strings/str_cat.h"

namespace vlarft::models {
namespace {

torch::nn::LayerNorm PlainLayerNorm(int64_t dim) {
  return torch::nn::LayerNorm(torch::nn::LayerNormOptions({dim}).elementwise_affine(false).eps(1e-6));
}

torch::nn::Linear ZeroLinear(int64_t in, int64_t out) {
  torch::nn::Linear linear(in, out);
  torch::NoGradGuard no_grad;
  linear->weight.zero_();
  linear->bias.zero_();
  return linear;
}

// x * (1 + scale) + shift, with [B, D] modulation broadcast over tokens.
torch::Tensor Modulate(const torch::Tensor& x, const torch::Tensor& shift, const torch::Tensor& scale) {
  return x * (1 + scale.unsqueeze(1)) + shift.unsqueeze(1);
}

}  // namespace

absl::Status DitConfig::Validate() const {
  if (depth < 1 || dim < 1 || heads < 1 || ffn < 1 || cross_attention_every < 0) {
    return absl::InvalidArgumentError("DiT sizes must be positive");
  }
  if (dim % heads != 0 || (dim / heads) % 2 != 0) {
    return absl::InvalidArgumentError(absl::StrCat("DiT dim ", dim, " must split into ", heads, " even-sized heads"));
  }
  return absl::OkStatus();
}

TimeEmbeddingImpl::TimeEmbeddingImpl(int64_t dim) : dim_(dim) {
  fc1 = register_module("fc1", torch::nn::Linear(dim, dim));
  fc2 = register_module("fc2", torch::nn::Linear(dim, dim));
}

torch::Tensor TimeEmbeddingImpl::forward(const torch::Tensor& tau) {
  const int64_t half = dim_ / 2;
  const auto options = tau.options().dtype(torch::kFloat32);
  const torch::Tensor freqs = torch::exp(-std::log(10000.0) * torch::arange(half, options) / half);
  const torch::Tensor args = (tau.to(torch::kFloat32) * 1000.0).unsqueeze(-1) * freqs;
  torch::Tensor embedding = torch::cat({args.cos(), args.sin()}, -1);
  if (dim_ % 2 == 1) embedding = torch::cat({embedding, torch::zeros_like(embedding.narrow(-1, 0, 1))}, -1);
  return fc2(torch::silu(fc1(embedding)));
}

DitBlockImpl::DitBlockImpl(int64_t dim, int64_t heads, int64_t ffn, bool cross_attention)
    : cross_attention_(cross_attention) {
  norm1 = register_module("norm1", PlainLayerNorm(dim));
  self_attn = register_module("self_attn", Attention(dim, heads));
  if (cross_attention_) {
    norm_cross = register_module("norm_cross", PlainLayerNorm(dim));
    cross_attn = register_module("cross_attn", Attention(dim, heads));
  }
  norm2 = register_module("norm2", PlainLayerNorm(dim));
  mlp = register_module("mlp", SwiGLU(dim, ffn));
  adaln = register_module("adaln", ZeroLinear(dim, 6 * dim));
}

DitContextKeys DitContextKeys::Repeat(int64_t times) const {
  DitContextKeys out;
  for (const torch::Tensor& k : keys) out.keys.push_back(k.defined() ? k.repeat_interleave(times, 0) : k);
  for (const torch::Tensor& v : values) out.values.push_back(v.defined() ? v.repeat_interleave(times, 0) : v);
  return out;
}

torch::Tensor DitBlockImpl::forward(const torch::Tensor& x, const torch::Tensor& c, const torch::Tensor& context,
                                    const torch::Tensor& context_mask, const torch::Tensor& key,
                                    const torch::Tensor& value) {
  const std::vector<torch::Tensor> mod = adaln(torch::silu(c)).chunk(6, -1);
  torch::Tensor h = Modulate(norm1(x), mod[0], mod[1]);
  torch::Tensor out = x + mod[2].unsqueeze(1) * self_attn(h, h);
  if (cross_attention_) {
    // [B, N] -> [B, 1, 1, N]: every query may attend to every real context token.
    const torch::Tensor mask = context_mask.unsqueeze(1).unsqueeze(1);
    out = out + cross_attn->Attend(norm_cross(out), key.defined() ? key : cross_attn->Key(context),
                                   value.defined() ? value : cross_attn->Value(context), mask);
  }
  h = Modulate(norm2(out), mod[3], mod[4]);
  return out + mod[5].unsqueeze(1) * mlp(h);
}

DitImpl::DitImpl(const DitConfig& config, int64_t chunk_length, int64_t in_dim, int64_t out_dim) {
  input_proj = register_module("input_proj", torch::nn::Linear(in_dim, config.dim));
  pos_embed_ = register_parameter("pos_embed", torch::randn({1, chunk_length, config.dim}) * 0.02);
  blocks = register_module("blocks", torch::nn::ModuleList());
  for (int64_t i = 0; i < config.depth; ++i) {
    const bool cross = config.cross_attention_every > 0 && i % config.cross_attention_every == 0;
    blocks->push_back(DitBlock(config.dim, config.heads, config.ffn, cross));
  }
  final_norm = register_module("final_norm", PlainLayerNorm(config.dim));
  final_adaln = register_module("final_adaln", ZeroLinear(config.dim, 2 * config.dim));
  final_proj = register_module("final_proj", ZeroLinear(config.dim, out_dim));
}

DitContextKeys DitImpl::ContextKeys(const torch::Tensor& context) {
  DitContextKeys out;
  for (const auto& module : *blocks) {
    DitBlockImpl* block = module->as<DitBlock>();
    const bool cross = block->has_cross_attention();
    out.keys.push_back(cross ? block->cross_attention()->Key(context) : torch::Tensor());
    out.values.push_back(cross ? block->cross_attention()->Value(context) : torch::Tensor());
  }
  return out;
}

torch::Tensor DitImpl::forward(const torch::Tensor& x, const torch::Tensor& c, const torch::Tensor& context,
                               const torch::Tensor& context_mask, const DitContextKeys* keys) {
  TORCH_CHECK(keys == nullptr || keys->keys.size() == blocks->size(), "context keys for ",
              keys ? keys->keys.size() : 0, " blocks, the DiT has ", blocks->size());
  torch::Tensor h = input_proj(x) + pos_embed_;
  for (size_t i = 0; i < blocks->size(); ++i) {
    h = blocks[i]->as<DitBlock>()->forward(h, c, context, context_mask, keys ? keys->keys[i] : torch::Tensor(),
                                           keys ? keys->values[i] : torch::Tensor());
  }
  const std::vector<torch::Tensor> mod = final_adaln(torch::silu(c)).chunk(2, -1);
  return final_proj(Modulate(final_norm(h), mod[0], mod[1]));
}

}  // namespace vlarft::models
