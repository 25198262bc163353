#include "libs/models/world_model.h"

#include <cmath>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "libs/core/config.h"
#include "libs/core/status.h"
#include "libs/models/checkpoint_util.h"
#include "libs/core/torch_compat.h"
#include "libs/models/fast_matmul.h"

namespace vlarft::models {
namespace {

// One pre-norm Llama block with rotary q/k; `attend(layer_index, q, k, v)` supplies attention
// (full causal, prefill, or cached prefix+suffix), so the three decoding paths share everything else.
template <typename Attend>
torch::Tensor RunBlock(TransformerBlockImpl& layer, const Rotary& rotary, const torch::Tensor& x,
                       const torch::Tensor& positions, Attend&& attend) {
  const torch::Tensor h = layer.input_layernorm(x);
  const torch::Tensor q = rotary.Apply(layer.self_attn->Query(h), positions);
  const torch::Tensor k = rotary.Apply(layer.self_attn->Key(h), positions);
  const torch::Tensor v = layer.self_attn->Value(h);
  const torch::Tensor attended = x + layer.self_attn->Output(attend(q, k, v));
  return attended + layer.mlp(layer.post_attention_layernorm(attended));
}

}  // namespace

absl::Status WorldModelConfig::Validate() const {
  if (layers < 1 || dim < 1 || heads < 1 || ffn < 1) {
    return absl::InvalidArgumentError("layers, dim, heads and ffn must be positive");
  }
  if (dim % heads != 0 || (dim / heads) % 2 != 0) {
    return absl::InvalidArgumentError(absl::StrCat("dim ", dim, " must split into ", heads,
                                                   " heads of even size (rotary embeddings)"));
  }
  if (codebook_size < 2 || context_tokens < 1 || future_tokens < 1 || action_dim < 1 || action_bins < 2) {
    return absl::InvalidArgumentError("codebook_size, context_tokens, future_tokens, action_dim, action_bins must be positive");
  }
  if (max_frames < 1) return absl::InvalidArgumentError("max_frames must be >= 1");
  if (action_features < 0 || action_features > 16) {
    return absl::InvalidArgumentError(absl::StrCat("action_features must be in [0, 16], got ", action_features));
  }
  if (action_values_only && action_features == 0) {
    return absl::InvalidArgumentError("action_values_only needs action_features > 0");
  }
  if (action_stride < 1 || action_stride > 64) {
    return absl::InvalidArgumentError(absl::StrCat("action_stride must be in [1, 64], got ", action_stride));
  }
  return absl::OkStatus();
}

absl::StatusOr<torch::Tensor> SumActionSteps(const torch::Tensor& actions, int64_t k) {
  if (k == 1) return actions;
  if (k < 1 || !actions.defined() || actions.dim() < 2 || actions.size(-2) % k != 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "actions of ", actions.defined() && actions.dim() >= 2 ? actions.size(-2) : 0,
        " steps cannot be summed ", k, " at a time (the world model's action_stride): need a multiple of ", k));
  }
  const int64_t dims = actions.size(-1);
  std::vector<int64_t> shape(actions.sizes().begin(), actions.sizes().end() - 2);
  shape.insert(shape.end(), {actions.size(-2) / k, k, dims});  // [..., T, k, A]
  const torch::Tensor blocks = actions.reshape(shape);
  torch::Tensor summed = blocks.sum(-2);
  summed.narrow(-1, dims - 1, 1).copy_(blocks.select(-2, k - 1).narrow(-1, dims - 1, 1));
  return summed;
}

WorldModelConfig WithTokenizerGeometry(WorldModelConfig config, const TokenizerConfig& tokenizer) {
  config.codebook_size = tokenizer.codebook_size();
  config.context_tokens = tokenizer.context_tokens();
  config.future_tokens = tokenizer.future_tokens();
  return config;
}

absl::Status CheckTokenizerMatches(const WorldModelConfig& config, const TokenizerConfig& tokenizer) {
  auto mismatch = [](const char* what, int64_t model, int64_t tok) {
    return absl::FailedPreconditionError(absl::StrCat("world model expects ", what, " = ", model,
                                                      " but the tokenizer has ", tok));
  };
  if (config.codebook_size != tokenizer.codebook_size()) {
    return mismatch("codebook_size", config.codebook_size, tokenizer.codebook_size());
  }
  if (config.context_tokens != tokenizer.context_tokens()) {
    return mismatch("context_tokens", config.context_tokens, tokenizer.context_tokens());
  }
  if (config.future_tokens != tokenizer.future_tokens()) {
    return mismatch("future_tokens", config.future_tokens, tokenizer.future_tokens());
  }
  return absl::OkStatus();
}

WorldModelImpl::WorldModelImpl(const WorldModelConfig& config, ActionNormalizer actions)
    : config_(config), actions_(std::move(actions)), rotary_(config.head_dim(), config.rope_base) {
  TORCH_CHECK(actions_.dims() == config_.action_dim, "action statistics have ", actions_.dims(),
              " dimensions, the world model expects ", config_.action_dim);
  embed_tokens = register_module("embed_tokens", torch::nn::Embedding(config_.vocab_size(), config_.dim));
  {
    torch::NoGradGuard no_grad;
    embed_tokens->weight.normal_(0.0, 0.02);
  }
  if (config_.action_features > 0) {
    action_values = register_module(
        "action_values", torch::nn::Linear(torch::nn::LinearOptions(config_.action_feature_width(), config_.dim).bias(false)));
    // Zero: a model that gains the projection computes what it computed without it until trained.
    torch::NoGradGuard no_grad;
    action_values->weight.zero_();
  }
  layers = register_module("layers", torch::nn::ModuleList());
  for (int64_t i = 0; i < config_.layers; ++i) {
    layers->push_back(TransformerBlock(config_.dim, config_.heads, config_.ffn));
  }
  norm = register_module("norm", RMSNorm(config_.dim));
  lm_head = register_module("lm_head", LoraLinear(config_.dim, config_.vocab_size(), /*bias=*/false));
}

torch::Device WorldModelImpl::device() const { return embed_tokens->weight.device(); }

torch::Tensor ActionValueFeatures(const torch::Tensor& values, int64_t octaves) {
  std::vector<torch::Tensor> features{values.unsqueeze(-1)};
  for (int64_t j = 0; j < octaves; ++j) {
    const torch::Tensor angle = values.unsqueeze(-1) * (M_PI * static_cast<double>(int64_t{1} << j));
    features.push_back(torch::sin(angle));
    features.push_back(torch::cos(angle));
  }
  return torch::cat(features, -1);
}

torch::Tensor WorldModelImpl::Embed(const torch::Tensor& tokens) {
  torch::Tensor x = embed_tokens(tokens);
  if (!action_values) return x;
  // Every token gets the projection of its features, zeroed for non-action tokens: one dense
  // product instead of a gather/scatter over the ~7% of positions that hold actions.
  const torch::Tensor bin = tokens - config_.action_offset();
  const torch::Tensor is_action = bin.ge(0).logical_and(bin.lt(config_.action_bins));
  const torch::Tensor centre = ActionNormalizer::FromBins(bin.clamp(0, config_.action_bins - 1), config_.action_bins);
  const torch::Tensor features =
      ActionValueFeatures(centre, config_.action_features) * is_action.unsqueeze(-1).to(torch::kFloat32);
  if (config_.action_values_only) x = x.masked_fill(is_action.unsqueeze(-1), 0.0);
  return x + action_values(features.to(x.scalar_type()));
}

void WorldModelImpl::FitActionValuesToTable() {
  TORCH_CHECK(action_values, "the world model has no action-value projection (action_features = 0)");
  torch::NoGradGuard no_grad;
  const int64_t bins = config_.action_bins;
  const torch::Tensor rows = embed_tokens->weight.narrow(0, config_.action_offset(), bins).to(torch::kFloat64);
  const torch::Tensor centres = ActionNormalizer::FromBins(torch::arange(bins), bins);
  const torch::Tensor features = ActionValueFeatures(centres, config_.action_features).to(torch::kFloat64);  // [bins, F]
  // rows ≈ features · Wᵀ; the pseudo-inverse gives the least-squares Wᵀ (F << bins, full rank).
  const torch::Tensor fitted = torch::pinverse(features).matmul(rows);  // [F, dim]
  action_values->weight.copy_(fitted.t().to(action_values->weight.scalar_type()));
}

torch::Tensor WorldModelImpl::FutureLogits(const torch::Tensor& hidden) {
  return FastLinear(hidden, lm_head->weight().narrow(0, config_.future_offset(), config_.codebook_size));
}

torch::Tensor WorldModelImpl::Hidden(const torch::Tensor& tokens) {
  const torch::Tensor positions = torch::arange(tokens.size(1), tokens.options().dtype(torch::kInt64));
  torch::Tensor x = Embed(tokens);
  for (int64_t i = 0; i < config_.layers; ++i) {
    x = RunBlock(Layer(i), rotary_, x, positions, [](const torch::Tensor& q, const torch::Tensor& k,
                                                     const torch::Tensor& v) {
      return core::ScaledDotProductAttention(q, k, v, std::nullopt, /*causal=*/true);
    });
  }
  return norm(x);
}

PrefixCache WorldModelImpl::Prefill(const torch::Tensor& tokens, torch::Tensor* last_hidden) {
  PrefixCache cache;
  const torch::Tensor positions = torch::arange(tokens.size(1), tokens.options().dtype(torch::kInt64));
  torch::Tensor x = Embed(tokens);
  for (int64_t i = 0; i < config_.layers; ++i) {
    x = RunBlock(Layer(i), rotary_, x, positions, [&](const torch::Tensor& q, const torch::Tensor& k,
                                                      const torch::Tensor& v) {
      cache.keys.push_back(k.contiguous());
      cache.values.push_back(v.contiguous());
      return core::ScaledDotProductAttention(q, k, v, std::nullopt, /*causal=*/true);
    });
  }
  if (last_hidden != nullptr) *last_hidden = norm(x.select(1, x.size(1) - 1));
  return cache;
}

torch::Tensor WorldModelImpl::Extend(const torch::Tensor& tokens, const PrefixCache& prefix, const RowGroups& groups,
                                     SuffixCache& suffix) {
  TORCH_CHECK(groups.rows() == tokens.size(0) && suffix.rows() == tokens.size(0), "extend: ", tokens.size(0),
              " rows but groups cover ", groups.rows(), " and the cache ", suffix.rows());
  TORCH_CHECK(static_cast<int64_t>(groups.sizes.size()) == prefix.groups(), "extend: ", groups.sizes.size(),
              " row groups but ", prefix.groups(), " prefixes");
  const SuffixCache::Step step = suffix.BeginStep(tokens.size(1), prefix.length());
  torch::Tensor x = Embed(tokens);
  for (int64_t i = 0; i < config_.layers; ++i) {
    x = RunBlock(Layer(i), rotary_, x, step.positions, [&](const torch::Tensor& q, const torch::Tensor& k,
                                                           const torch::Tensor& v) {
      auto [keys, values] = suffix.Write(i, step, k, v);
      return PrefixSuffixAttention(q, prefix.keys[i], prefix.values[i], groups, keys, values, step.mask);
    });
  }
  suffix.Advance(tokens.size(1));
  return norm(x);
}

SuffixCache WorldModelImpl::NewSuffixCache(int64_t rows, int64_t capacity, std::vector<int64_t> lengths,
                                           bool static_window) const {
  if (lengths.empty()) lengths.assign(rows, 0);
  return SuffixCache(config_.layers, rows, config_.heads, capacity, config_.head_dim(),
                     embed_tokens->weight.options(), std::move(lengths), static_window);
}

torch::Tensor WorldModelImpl::ActionTokens(const torch::Tensor& actions) const {
  const torch::Tensor normalized = actions_.Normalize(actions.to(torch::kFloat32));
  return ActionNormalizer::ToBins(normalized, config_.action_bins) + config_.action_offset();
}

torch::Tensor WorldModelImpl::BuildSequence(const torch::Tensor& context_codes, const torch::Tensor& dyn_codes,
                                            const torch::Tensor& action_tokens) const {
  const int64_t batch = context_codes.size(0);
  const int64_t frames = action_tokens.size(1);
  TORCH_CHECK(dyn_codes.size(1) == frames + 1, "need dyn codes for o_t … o_t+T: ", frames + 1, " frames, got ",
              dyn_codes.size(1));
  const auto options = context_codes.options().dtype(torch::kInt64);
  std::vector<torch::Tensor> parts = {
      torch::full({batch, 1}, config_.bos_token(), options),
      context_codes.to(torch::kInt64) + config_.context_offset(),
      dyn_codes.select(1, 0).to(torch::kInt64) + config_.future_offset(),
  };
  // Interleave [a_k, dyn_{k+1}] for every step in one cat: [B, T, A + F] flattened.
  const torch::Tensor steps =
      torch::cat({action_tokens.to(torch::kInt64), dyn_codes.narrow(1, 1, frames).to(torch::kInt64) +
                                                       config_.future_offset()},
                 2);
  parts.push_back(steps.reshape({batch, -1}));
  return torch::cat(parts, 1);
}

std::pair<torch::Tensor, torch::Tensor> WorldModelImpl::LossPositions(int64_t frames) const {
  std::vector<int64_t> inputs;
  for (int64_t k = 0; k < frames; ++k) {
    const int64_t first = config_.prompt_length() + k * config_.frame_stride() + config_.action_dim;
    for (int64_t j = 0; j < config_.future_tokens; ++j) inputs.push_back(first + j - 1);
  }
  const torch::Tensor positions = torch::tensor(inputs, torch::kInt64);
  return {positions, positions + 1};
}

torch::Tensor WorldModelImpl::FutureTokenLoss(const torch::Tensor& sequence, int64_t frames, const torch::Tensor& weights) {
  auto [inputs, targets] = LossPositions(frames);
  inputs = inputs.to(sequence.device());
  targets = targets.to(sequence.device());
  // Only the loss positions, and only the future-code rows of lm_head (nothing else can follow
  // there), go through the vocabulary projection, the widest matmul.
  const torch::Tensor hidden = Hidden(sequence).index_select(1, inputs);
  const torch::Tensor logits = FutureLogits(hidden).to(torch::kFloat32);
  const torch::Tensor labels = sequence.index_select(1, targets) - config_.future_offset();
  if (!weights.defined()) {
    return torch::nn::functional::cross_entropy(logits.reshape({-1, config_.codebook_size}), labels.reshape({-1}));
  }
  TORCH_CHECK(weights.sizes() == labels.sizes(), "FutureTokenLoss: weights must be ", labels.sizes(), ", got ",
              weights.sizes());
  const torch::Tensor per_token = torch::nn::functional::cross_entropy(
      logits.reshape({-1, config_.codebook_size}), labels.reshape({-1}),
      torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kNone));
  const torch::Tensor w = weights.reshape({-1}).to(per_token.options());
  return (per_token * w).sum() / w.sum();
}

ModelSidecar WorldModelSidecar(const WorldModel& model, int64_t step) {
  ModelSidecar sidecar;
  sidecar.kind = "world_model";
  sidecar.step = step;
  sidecar.config = core::ConfigToYaml(model->config());
  sidecar.extra["action_stats"] = model->action_normalizer().ToYaml();
  YAML::Node vocab;
  const WorldModelConfig& c = model->config();
  vocab["future_offset"] = c.future_offset();
  vocab["context_offset"] = c.context_offset();
  vocab["action_offset"] = c.action_offset();
  vocab["bos"] = c.bos_token();
  vocab["eos_pad"] = c.pad_token();
  vocab["size"] = c.vocab_size();
  sidecar.extra["vocabulary"] = vocab;
  return sidecar;
}

absl::Status SaveWorldModel(const std::string& stem, const WorldModel& model, int64_t step, torch::Dtype storage_dtype) {
  return SaveModelAs(stem, *model, WorldModelSidecar(model, step), storage_dtype);
}

absl::StatusOr<WorldModel> LoadWorldModel(const std::string& stem, const torch::Device& device) {
  VLARFT_ASSIGN_OR_RETURN(ModelSidecar sidecar, ReadModelSidecar(stem, "world_model"));
  WorldModelConfig config;
  VLARFT_RETURN_IF_ERROR(core::Annotate(core::BindConfig(sidecar.config, &config, "world_model"), stem + ".yaml"));
  VLARFT_ASSIGN_OR_RETURN(ActionNormalizer actions, ActionNormalizer::FromYaml(sidecar.extra["action_stats"]));
  if (actions.dims() != config.action_dim) {
    return absl::DataLossError(absl::StrCat(stem, ".yaml: action statistics have ", actions.dims(),
                                            " dimensions but the config says ", config.action_dim));
  }
  VLARFT_ASSIGN_OR_RETURN(WorldModel model, core::CatchTorchErrors("building the world model", [&] {
                            return WorldModel(config, std::move(actions));
                          }));
  VLARFT_RETURN_IF_ERROR(LoadModelWeightsConverting(stem, *model));
  model->to(device);
  model->eval();
  return model;
}

}  // namespace vlarft::models
