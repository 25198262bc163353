#include "libs/models/policy.h"

#include <cmath>

#include "absl/strings/str_cat.h"
#include "libs/core/config.h"
#include "libs/core/status.h"
#include "libs/core/tensor_codec.h"
#include "libs/models/checkpoint.h"

namespace vlarft::models {
namespace {

// The heat-map localiser's shape from the policy config (the vocabulary comes from the tokenizer).
TargetLocaliserOptions LocaliserOptions(const PolicyConfig& config, int64_t vocab_size) {
  TargetLocaliserOptions options;
  options.channels = config.subgoal_localiser.channels;
  options.vocab_size = vocab_size;
  options.max_tokens = config.encoder.max_instruction_tokens;
  options.proprio_dim = config.proprio_dim;
  options.scene_channels = config.subgoal_localiser.scene_channels;
  return options;
}

}  // namespace

absl::Status PolicyConfig::Validate() const {
  if (chunk_length < 1 || action_dim < 1 || proprio_dim < 1 || flow_steps < 1) {
    return absl::InvalidArgumentError("chunk_length, action_dim, proprio_dim and flow_steps must be positive");
  }
  if (!(sigma_min > 0 && sigma_min <= sigma_max)) {
    return absl::InvalidArgumentError(absl::StrCat("need 0 < sigma_min <= sigma_max, got ", sigma_min, ", ", sigma_max));
  }
  if (subgoal_localiser.channels < 0) {
    return absl::InvalidArgumentError("subgoal_localiser.channels must be >= 0 (0 = no subgoal head)");
  }
  if (HasSubgoalHead()) {
    if (encoder.image_size % 4 != 0) {
      return absl::InvalidArgumentError("subgoal_localiser needs encoder.image_size divisible by 4");
    }
    VLARFT_RETURN_IF_ERROR(core::Annotate(LocaliserOptions(*this, /*vocab_size=*/1).Validate(), "subgoal_localiser"));
  } else if (subgoal_localiser.scene_channels != 0) {
    return absl::InvalidArgumentError("subgoal_localiser.scene_channels needs subgoal_localiser.channels > 0");
  }
  if (flow_head.dim != sigma_net.dim) {
    return absl::InvalidArgumentError("flow_head.dim and sigma_net.dim must match (they share the context width)");
  }
  if (encoder.image_size % encoder.patch_size != 0) {
    return absl::InvalidArgumentError(absl::StrCat("image_size ", encoder.image_size, " is not a multiple of patch_size ",
                                                   encoder.patch_size));
  }
  VLARFT_RETURN_IF_ERROR(encoder.stem.Validate(encoder.patch_size));
  if (encoder.dim % encoder.heads != 0 || (encoder.dim / encoder.heads) % 2 != 0) {
    return absl::InvalidArgumentError("encoder dim must split into even-sized heads");
  }
  return absl::OkStatus();
}

PolicyContext PolicyContext::Repeat(int64_t times) const {
  return {tokens.repeat_interleave(times, 0), mask.repeat_interleave(times, 0), pooled.repeat_interleave(times, 0),
          proprio.repeat_interleave(times, 0), subgoal.defined() ? subgoal.repeat_interleave(times, 0) : subgoal,
          localiser.defined() ? localiser.repeat_interleave(times, 0) : localiser, /*localiser_heatmap=*/{}};
}

PolicyContext PolicyContext::Index(const torch::Tensor& indices) const {
  const torch::Tensor i = indices.to(tokens.device());
  return {tokens.index_select(0, i), mask.index_select(0, i), pooled.index_select(0, i), proprio.index_select(0, i),
          subgoal.defined() ? subgoal.index_select(0, i) : subgoal,
          localiser.defined() ? localiser.index_select(0, i) : localiser, /*localiser_heatmap=*/{}};
}

PolicyContext PolicyContext::Detach() const {
  return {tokens.detach(), mask, pooled.detach(), proprio.detach(), subgoal.defined() ? subgoal.detach() : subgoal,
          localiser.defined() ? localiser.detach() : localiser, /*localiser_heatmap=*/{}};
}

PolicyEncoderImpl::PolicyEncoderImpl(const PolicyConfig& config) : config_(config.encoder) {
  const int64_t dim = config_.dim;
  const int64_t grid = config_.image_size / config_.patch_size;
  stem = register_module("stem", VisionStem(config_.stem, config_.patch_size, dim));
  vision_pos_ = register_parameter("vision_pos", torch::randn({1, grid * grid, dim}) * 0.02);
  text_embed = register_module("text_embed", torch::nn::Embedding(std::max<int64_t>(config_.vocab_size, 1), dim));
  text_pos_ = register_parameter("text_pos", torch::randn({1, config_.max_instruction_tokens, dim}) * 0.02);
  proprio_proj = register_module("proprio_proj", torch::nn::Linear(config.proprio_dim, dim));
  queries_ = register_parameter("action_queries", torch::randn({1, config_.action_queries, dim}) * 0.02);
  layers = register_module("layers", torch::nn::ModuleList());
  for (int64_t i = 0; i < config_.layers; ++i) layers->push_back(TransformerBlock(dim, config_.heads, config_.ffn));
  norm = register_module("norm", RMSNorm(dim));
}

PolicyContext PolicyEncoderImpl::forward(const torch::Tensor& frames, const torch::Tensor& ids,
                                         const torch::Tensor& ids_mask, const torch::Tensor& proprio) {
  const int64_t batch = frames.size(0);
  const torch::Tensor words = text_embed(ids);
  const torch::Tensor weights = ids_mask.to(words.scalar_type()).unsqueeze(-1);
  const torch::Tensor instruction = (words * weights).sum(1) / weights.sum(1).clamp_min(1.0);  // mean word embedding
  const VisionStemOutput seen = stem(frames, instruction);
  const torch::Tensor vision = seen.grid.flatten(2).transpose(1, 2) + vision_pos_;
  const torch::Tensor text = words + text_pos_.narrow(1, 0, ids.size(1));
  const torch::Tensor prop = proprio_proj(proprio).unsqueeze(1);
  const torch::Tensor queries = queries_.expand({batch, -1, -1});
  std::vector<torch::Tensor> parts = {vision, text, prop};
  if (seen.keypoint_token.defined()) parts.push_back(seen.keypoint_token);
  parts.push_back(queries);
  torch::Tensor x = torch::cat(parts, 1);
  const auto bool_options = ids_mask.options().dtype(torch::kBool);
  const int64_t after_text = x.size(1) - vision.size(1) - text.size(1);
  const torch::Tensor mask = torch::cat({torch::ones({batch, vision.size(1)}, bool_options), ids_mask.to(torch::kBool),
                                         torch::ones({batch, after_text}, bool_options)},
                                        1);
  const torch::Tensor attention_mask = mask.unsqueeze(1).unsqueeze(1);  // keys only
  for (const auto& layer : *layers) x = layer->as<TransformerBlock>()->forward(x, attention_mask);
  x = norm(x);
  const torch::Tensor pooled = x.narrow(1, x.size(1) - config_.action_queries, config_.action_queries).mean(1);
  return {x, mask, pooled, proprio, /*subgoal=*/{}, /*localiser=*/{}, /*localiser_heatmap=*/{}};
}

VlaPolicyImpl::VlaPolicyImpl(const PolicyConfig& config, InstructionTokenizer tokenizer, ActionNormalizer actions,
                             ActionNormalizer proprio)
    : config_(config), tokenizer_(std::move(tokenizer)), actions_(std::move(actions)), proprio_(std::move(proprio)) {
  config_.encoder.vocab_size = tokenizer_.vocab_size();
  const int64_t head_dim = config_.flow_head.dim;
  encoder = register_module("encoder", PolicyEncoder(config_));
  flow_time = register_module("flow_time", TimeEmbedding(head_dim));
  flow_proprio = register_module("flow_proprio", torch::nn::Linear(config_.proprio_dim, head_dim));
  flow_context = register_module("flow_context", torch::nn::Linear(config_.encoder.dim, head_dim));
  flow_head = register_module("flow_head", Dit(config_.flow_head, config_.chunk_length, config_.action_dim,
                                               config_.action_dim));
  sigma_time = register_module("sigma_time", TimeEmbedding(head_dim));
  sigma_proprio = register_module("sigma_proprio", torch::nn::Linear(config_.proprio_dim, head_dim));
  sigma_context = register_module("sigma_context", torch::nn::Linear(config_.encoder.dim, head_dim));
  sigma_net = register_module("sigma_net", Dit(config_.sigma_net, config_.chunk_length, config_.action_dim,
                                               config_.action_dim));
  if (config_.HasSubgoalHead()) {
    subgoal_localiser =
        register_module("subgoal_localiser", TargetLocaliser(LocaliserOptions(config_, config_.encoder.vocab_size)));
    flow_subgoal = register_module("flow_subgoal", torch::nn::Linear(2, head_dim));
    sigma_subgoal = register_module("sigma_subgoal", torch::nn::Linear(2, head_dim));
  }
  if (config_.encoder.lora.rank > 0) {
    EnableLoraOn(*encoder, config_.encoder.lora.targets, {config_.encoder.lora.rank, config_.encoder.lora.alpha});
  }
}

torch::Tensor VlaPolicyImpl::Subgoal(const PolicyContext& context) {
  TORCH_CHECK(subgoal_localiser, "this policy has no subgoal head (policy.subgoal_localiser.channels: 0)");
  TORCH_CHECK(context.localiser.defined(), "the context carries no localiser estimate (use the context Encode returned)");
  return context.localiser;
}

torch::Tensor VlaPolicyImpl::SubgoalSquaredError(const PolicyContext& context, const torch::Tensor& target,
                                                 bool heatmap_expected) {
  if (heatmap_expected) {
    TORCH_CHECK(subgoal_localiser, "this policy has no subgoal head (policy.subgoal_localiser.channels: 0)");
    TORCH_CHECK(context.localiser_heatmap.defined(), "the context carries no heat map (use the context Encode returned)");
    return subgoal_localiser->TrainingSquaredError(context.localiser, context.localiser_heatmap, target);
  }
  return (Subgoal(context).to(torch::kFloat32) - target.to(torch::kFloat32)).pow(2).sum(1);
}

std::vector<torch::Tensor> VlaPolicyImpl::SubgoalParameters() {
  return subgoal_localiser ? subgoal_localiser->parameters() : std::vector<torch::Tensor>{};
}

absl::StatusOr<PolicyContext> VlaPolicyImpl::Encode(const PolicyObservation& observation, bool allow_unknown_words) {
  const torch::Tensor& frames = observation.frames;
  const int64_t size = config_.encoder.image_size;
  const int64_t batch = static_cast<int64_t>(observation.instructions.size());
  core::TensorExpectation frame_spec;
  frame_spec.dtype = core::DType::kUInt8;
  frame_spec.shape = {batch, size, size, 3};
  VLARFT_RETURN_IF_ERROR(core::CheckTensor("observation.frames", frames, frame_spec));
  core::TensorExpectation proprio_spec;
  proprio_spec.shape = {batch, config_.proprio_dim};
  VLARFT_RETURN_IF_ERROR(core::CheckTensor("observation.proprio", observation.proprio, proprio_spec));
  torch::Tensor ids, ids_mask;
  VLARFT_RETURN_IF_ERROR(tokenizer_.EncodeBatch(observation.instructions, config_.encoder.max_instruction_tokens,
                                                allow_unknown_words, &ids, &ids_mask));
  const torch::Device device = encoder->parameters().front().device();
  const torch::Tensor pixels = frames.to(device).permute({0, 3, 1, 2}).to(torch::kFloat32) / 127.5 - 1.0;
  const torch::Tensor proprio = proprio_.Normalize(observation.proprio.to(device, torch::kFloat32));
  const torch::Tensor device_ids = ids.to(device), device_mask = ids_mask.to(device);
  PolicyContext context = encoder(pixels, device_ids, device_mask, proprio);
  if (subgoal_localiser) {
    context.localiser = subgoal_localiser(pixels, device_ids, device_mask, proprio, &context.localiser_heatmap);
    // The heads steer by the localiser's estimate, not through it: the flow loss must not move it.
    context.subgoal = context.localiser.detach();
  }
  return context;
}

torch::Tensor VlaPolicyImpl::Condition(TimeEmbedding& time, torch::nn::Linear& proprio, torch::nn::Linear& pooled,
                                       torch::nn::Linear& subgoal_offset, const torch::Tensor& tau,
                                       const PolicyContext& context) {
  torch::Tensor c = time(tau) + proprio(context.proprio) + pooled(context.pooled);
  if (!subgoal_offset) return c;
  TORCH_CHECK(context.subgoal.defined(), "a policy with a subgoal head needs a context that carries the subgoal");
  // Relative to the gripper: "2 cm left of me" is the same motion wherever the object stands.
  const torch::Tensor offset = context.subgoal - context.proprio.narrow(1, 0, 2);
  return c + subgoal_offset(offset.to(c.scalar_type()));
}

torch::Tensor VlaPolicyImpl::Velocity(const torch::Tensor& x, const torch::Tensor& tau, const PolicyContext& context,
                                      const PolicyContextKeys* keys) {
  const torch::Tensor c = Condition(flow_time, flow_proprio, flow_context, flow_subgoal, tau, context);
  return flow_head(x, c, context.tokens, context.mask, keys ? &keys->flow : nullptr);
}

torch::Tensor VlaPolicyImpl::LogSigma(const torch::Tensor& x, const torch::Tensor& tau, const PolicyContext& context,
                                      const PolicyContextKeys* keys) {
  const torch::Tensor c = Condition(sigma_time, sigma_proprio, sigma_context, sigma_subgoal, tau, context);
  const torch::Tensor raw = sigma_net(x, c, context.tokens, context.mask, keys ? &keys->sigma : nullptr);
  const double log_min = std::log(config_.sigma_min);
  const double log_max = std::log(config_.sigma_max);
  return log_min + (log_max - log_min) * (torch::tanh(raw) + 1.0) / 2.0;
}

PolicyContextKeys VlaPolicyImpl::ContextKeys(const PolicyContext& context) {
  return {flow_head->ContextKeys(context.tokens), sigma_net->ContextKeys(context.tokens)};
}

torch::Tensor VlaPolicyImpl::FlowMatchingLoss(const torch::Tensor& actions, const torch::Tensor& noise,
                                              const torch::Tensor& tau, const PolicyContext& context) {
  const torch::Tensor t = tau.view({-1, 1, 1});
  const torch::Tensor x_tau = (1.0 - t) * noise + t * actions;
  return torch::mse_loss(Velocity(x_tau, tau, context), actions - noise);
}

void VlaPolicyImpl::FreezeForRft() {
  for (auto& item : encoder->named_parameters()) {
    const bool is_adapter = item.key().find("lora_") != std::string::npos;
    item.value().set_requires_grad(is_adapter);
  }
  for (auto& p : SubgoalParameters()) p.set_requires_grad(false);
}

ModelSidecar PolicySidecar(VlaPolicy& policy, int64_t step) {
  ModelSidecar sidecar;
  sidecar.kind = "policy";
  sidecar.step = step;
  sidecar.config = core::ConfigToYaml(policy->config());
  sidecar.extra["vocabulary"] = policy->tokenizer().ToYaml();
  sidecar.extra["action_stats"] = policy->action_normalizer().ToYaml();
  sidecar.extra["proprio_stats"] = policy->proprio_normalizer().ToYaml();
  return sidecar;
}

absl::Status SavePolicy(const std::string& stem, VlaPolicy& policy, int64_t step) {
  return SaveModel(stem, *policy, PolicySidecar(policy, step));
}

absl::StatusOr<VlaPolicy> LoadPolicy(const std::string& stem) {
  VLARFT_ASSIGN_OR_RETURN(ModelSidecar sidecar, ReadModelSidecar(stem, "policy"));
  PolicyConfig config;
  VLARFT_RETURN_IF_ERROR(core::Annotate(core::BindConfig(sidecar.config, &config, "policy"), stem + ".yaml"));
  VLARFT_ASSIGN_OR_RETURN(InstructionTokenizer tokenizer, InstructionTokenizer::FromYaml(sidecar.extra["vocabulary"]));
  VLARFT_ASSIGN_OR_RETURN(ActionNormalizer actions, ActionNormalizer::FromYaml(sidecar.extra["action_stats"]));
  VLARFT_ASSIGN_OR_RETURN(ActionNormalizer proprio, ActionNormalizer::FromYaml(sidecar.extra["proprio_stats"]));
  if (tokenizer.vocab_size() != config.encoder.vocab_size) {
    return absl::DataLossError(absl::StrCat(stem, ".yaml: vocabulary has ", tokenizer.vocab_size(),
                                            " ids but the config says ", config.encoder.vocab_size));
  }
  VLARFT_ASSIGN_OR_RETURN(
      VlaPolicy policy, core::CatchTorchErrors("building the policy", [&] {
        return VlaPolicy(config, std::move(tokenizer), std::move(actions), std::move(proprio));
      }));
  VLARFT_RETURN_IF_ERROR(LoadModelWeights(stem, *policy));
  return policy;
}

}  // namespace vlarft::models
