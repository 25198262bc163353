#include "libs/rl/grpo_learner.h"

#include <algorithm>
#include <cmath>
#include <set>

#include "absl/strings/str_cat.h"
#include "libs/core/status.h"
#include "libs/rl/proprio_rollforward.h"

namespace vlarft::rl {
namespace {

bool StartsWith(const std::string& name, const char* prefix) { return name.rfind(prefix, 0) == 0; }

// The proprio the sampler gave the policy for each encoded row of a group: the prompt's for chunk
// 0; for later chunks of a closed-loop rollout, rolled forward through the sample's own earlier
// chunks (proprio_rollforward.h), exactly as the rollout loop did.
torch::Tensor RowProprio(const RolloutGroupData& g, const models::VlaPolicyImpl& policy) {
  const int64_t distinct = g.observations.size(0), horizon = g.horizon();
  if (horizon == 1 || distinct == 1) return g.proprio.unsqueeze(0).expand({distinct * horizon, -1});
  const int64_t steps = policy.config().flow_steps;
  torch::Tensor proprio = g.proprio.to(torch::kFloat32).unsqueeze(0).expand({distinct, -1}).contiguous();
  std::vector<torch::Tensor> per_chunk = {proprio};
  for (int64_t h = 1; h < horizon; ++h) {
    const torch::Tensor actions = policy.action_normalizer().Denormalize(g.chains.select(1, h - 1).select(1, steps));
    proprio = RollProprioForward(proprio, actions);
    per_chunk.push_back(proprio);
  }
  return torch::stack(per_chunk, 1).reshape({distinct * horizon, -1});
}

bool AnyTrainable(const std::vector<torch::Tensor>& params) {
  return std::any_of(params.begin(), params.end(), [](const torch::Tensor& p) { return p.requires_grad(); });
}

// The action dimensions that are tokens of the loss: all of them (undefined), or, with
// skip_constant_action_dims, those whose data range is not a single value (docs/architecture.md,
// "The learner").
torch::Tensor ActiveActionDims(const models::VlaPolicyImpl& policy, const GrpoConfig& grpo, const torch::Device& device) {
  if (!grpo.skip_constant_action_dims) return {};
  std::vector<int64_t> active;
  const models::ActionNormalizer& n = policy.action_normalizer();
  for (int64_t d = 0; d < n.dims(); ++d) {
    if (n.max()[d] > n.min()[d]) active.push_back(d);
  }
  if (active.empty() || static_cast<int64_t>(active.size()) == n.dims()) return {};
  return torch::tensor(active, torch::kInt64).to(device);
}

}  // namespace

// Groups [begin, end) as one batch: each group's distinct observations once (encoded once), the
// row of every (sample, chunk) in that encoding, chains, old log-probs and group-relative
// advantages per row, and the prompt's expert chunk for the anchor.
GrpoLearner::MicroBatch GrpoLearner::AssembleMicroBatch(const std::vector<RolloutGroupData>& groups, size_t begin,
                                                        size_t end, const models::VlaPolicyImpl& policy,
                                                        const GrpoConfig& grpo, GroupStatistics* statistics) {
  const models::PolicyConfig& config = policy.config();
  std::vector<torch::Tensor> frames, proprio, chains, old, advantages, rows, expert, anchor_rows;
  std::vector<std::string> instructions;
  int64_t next_row = 0;
  for (size_t p = begin; p < end; ++p) {
    const RolloutGroupData& g = groups[p];
    const int64_t group_size = g.group_size(), horizon = g.horizon();
    const int64_t distinct = g.observations.size(0);
    frames.push_back(g.observations.reshape({distinct * horizon, g.observations.size(2), g.observations.size(3), 3}));
    for (int64_t i = 0; i < distinct * horizon; ++i) instructions.push_back(g.instruction);
    proprio.push_back(RowProprio(g, policy));
    // Row of (sample i, chunk j) in the encoded batch.
    torch::Tensor sample = torch::arange(group_size, torch::kInt64).unsqueeze(1);
    torch::Tensor chunk = torch::arange(horizon, torch::kInt64).unsqueeze(0);
    rows.push_back((next_row + (distinct == 1 ? chunk.expand({group_size, horizon}) : sample * horizon + chunk)).reshape({-1}));
    anchor_rows.push_back(torch::tensor({next_row}, torch::kInt64));
    next_row += distinct * horizon;
    chains.push_back(g.chains.reshape({group_size * horizon, config.flow_steps + 1, config.chunk_length, config.action_dim}));
    old.push_back(g.old_log_probs.reshape({group_size * horizon, config.flow_steps, config.chunk_length, config.action_dim}));
    const torch::Tensor a = GroupAdvantages(g.rewards.to(torch::kFloat64).unsqueeze(0), grpo.normalize_by_std)
                                .squeeze(0).to(torch::kFloat32);
    advantages.push_back(a.repeat_interleave(horizon));
    expert.push_back(g.expert_actions.narrow(0, 0, config.chunk_length).unsqueeze(0));
    for (int64_t i = 0; i < group_size; ++i) {
      statistics->rewards.push_back(g.rewards[i].item<double>());
      statistics->advantages_abs.push_back(std::abs(a[i].item<double>()));
    }
    statistics->zero_variance_groups += (g.rewards.max().item<float>() == g.rewards.min().item<float>());
  }
  MicroBatch batch;
  batch.observation = models::PolicyObservation{torch::cat(frames), instructions, torch::cat(proprio)};
  batch.row_index = torch::cat(rows);
  batch.anchor_rows = torch::cat(anchor_rows);
  batch.chains = torch::cat(chains);
  batch.old_log_probs = torch::cat(old);
  batch.advantages = torch::cat(advantages);
  batch.expert_chunks = torch::cat(expert);
  return batch;
}

absl::Status LearnerOptimConfig::Validate() const {
  if (head_lr < 0 || sigma_lr < 0 || encoder_lr < 0 || localiser_lr < 0 || weight_decay < 0) {
    return absl::InvalidArgumentError("learning rates and weight decay must be >= 0");
  }
  if (warmup_steps < 0 || micro_batch_groups < 1) {
    return absl::InvalidArgumentError("warmup_steps must be >= 0 and micro_batch_groups >= 1");
  }
  return absl::OkStatus();
}

GrpoLearner::GrpoLearner(models::VlaPolicy policy, GrpoConfig grpo, LearnerOptimConfig optim,
                         DataParallelGroup* group, std::optional<models::VlaPolicy> reference)
    : policy_(std::move(policy)),
      grpo_(std::move(grpo)),
      optim_(optim),
      group_(group),
      reference_(std::move(reference)),
      generator_(core::MakeCpuGenerator(optim.seed)) {}

absl::StatusOr<std::unique_ptr<GrpoLearner>> GrpoLearner::Create(models::VlaPolicy policy, GrpoConfig grpo,
                                                                 LearnerOptimConfig optim, DataParallelGroup* group,
                                                                 std::optional<models::VlaPolicy> reference) {
  VLARFT_RETURN_IF_ERROR(grpo.Validate());
  VLARFT_RETURN_IF_ERROR(optim.Validate());
  if (grpo.kl_coef > 0 && !reference.has_value()) {
    return absl::InvalidArgumentError("kl_coef > 0 needs the SFT reference policy");
  }
  policy->FreezeForRft();
  if (optim.localiser_lr > 0) {
    if (!policy->config().HasSubgoalHead()) {
      return absl::FailedPreconditionError(
          "optim.localiser_lr > 0 needs a policy with a subgoal head (policy.subgoal_localiser.channels > 0): "
          "there is nothing else for it to train");
    }
    for (auto& p : policy->SubgoalParameters()) p.set_requires_grad(true);
  }
  policy->eval();  // no dropout: recomputed log-probs must match the workers' eval-mode ones
  if (reference.has_value()) {
    (*reference)->eval();
    for (auto& p : (*reference)->parameters()) p.set_requires_grad(false);
  }
  if (group != nullptr && group->world_size() > 1) {
    // Like DDP: every rank starts from rank 0's weights, whatever each process loaded or initialised.
    std::vector<torch::Tensor> state;
    for (const auto& p : policy->parameters()) state.push_back(p.detach());
    for (const auto& b : policy->buffers()) state.push_back(b);
    VLARFT_RETURN_IF_ERROR(group->Broadcast(state, 0));
  }
  std::unique_ptr<GrpoLearner> learner(
      new GrpoLearner(std::move(policy), std::move(grpo), optim, group, std::move(reference)));

  std::vector<torch::Tensor> head, sigma, encoder, localiser;
  std::set<const void*> subgoal_params;
  for (const auto& p : learner->policy_->SubgoalParameters()) subgoal_params.insert(p.unsafeGetTensorImpl());
  for (const auto& item : learner->policy_->named_parameters()) {
    if (!item.value().requires_grad()) continue;
    const std::string& name = item.key();
    if (subgoal_params.count(item.value().unsafeGetTensorImpl()) > 0) {
      localiser.push_back(item.value());
    } else if (StartsWith(name, "sigma_")) {
      sigma.push_back(item.value());
    } else if (StartsWith(name, "encoder.")) {
      encoder.push_back(item.value());
    } else {
      head.push_back(item.value());
    }
  }
  std::vector<torch::optim::OptimizerParamGroup> param_groups;
  auto add = [&](std::vector<torch::Tensor> params, double lr) {
    if (params.empty()) return;
    param_groups.emplace_back(std::move(params),
                              std::make_unique<torch::optim::AdamWOptions>(
                                  torch::optim::AdamWOptions(lr).weight_decay(learner->optim_.weight_decay)));
    learner->base_lrs_.push_back(lr);
  };
  add(std::move(head), learner->optim_.head_lr);
  add(std::move(sigma), learner->optim_.sigma_lr);
  add(std::move(encoder), learner->optim_.encoder_lr);
  add(std::move(localiser), learner->optim_.localiser_lr);
  if (param_groups.empty()) return absl::FailedPreconditionError("the policy has no trainable parameters");
  learner->optimizer_ = std::make_unique<torch::optim::AdamW>(std::move(param_groups));
  return learner;
}

void GrpoLearner::ApplyLearningRates() {
  const double warmup = optim_.warmup_steps > 0
                            ? std::min(1.0, static_cast<double>(step_ + 1) / static_cast<double>(optim_.warmup_steps))
                            : 1.0;
  auto& groups = optimizer_->param_groups();
  for (size_t i = 0; i < groups.size(); ++i) {
    static_cast<torch::optim::AdamWOptions&>(groups[i].options()).lr(base_lrs_[i] * warmup);
  }
}

models::NamedParameters GrpoLearner::TrainableTensors() const { return models::TrainableParameters(*policy_); }

absl::StatusOr<LearnerStepMetrics> GrpoLearner::Step(const std::vector<RolloutGroupData>& local_groups) {
  const models::PolicyConfig& config = policy_->config();
  for (const RolloutGroupData& g : local_groups) {
    VLARFT_RETURN_IF_ERROR(core::Annotate(ValidateRolloutGroup(g, config), absl::StrCat("group ", g.group_id)));
  }
  const torch::Device device = policy_->parameters().front().device();
  const StepSetup setup{device, ActiveActionDims(*policy_, grpo_, device), AnyTrainable(policy_->encoder->parameters()),
                        AnyTrainable(policy_->SubgoalParameters())};
  const torch::Tensor& active_dims = setup.active_dims;
  optimizer_->zero_grad();

  // Every micro-batch's loss is weighted by its share of the step's tokens, so the step's loss is
  // the mean over all tokens whatever the micro-batching.
  double total_tokens = 0;
  for (const RolloutGroupData& g : local_groups) total_tokens += static_cast<double>(g.old_log_probs.numel()) / config.flow_steps;
  if (active_dims.defined()) total_tokens *= static_cast<double>(active_dims.numel()) / config.action_dim;
  std::vector<MicroBatchResult> results;
  GroupStatistics statistics;
  for (size_t begin = 0; begin < local_groups.size(); begin += optim_.micro_batch_groups) {
    const size_t end = std::min(local_groups.size(), begin + static_cast<size_t>(optim_.micro_batch_groups));
    const MicroBatch batch = AssembleMicroBatch(local_groups, begin, end, *policy_, grpo_, &statistics);
    VLARFT_ASSIGN_OR_RETURN(MicroBatchResult result, MicroBatchLoss(batch, setup));
    (result.terms.loss * (result.tokens / total_tokens)).backward();
    results.push_back(std::move(result));
  }
  bool skipped = false;
  VLARFT_ASSIGN_OR_RETURN(const double grad_norm, ApplyGradients(&skipped));
  return StepMetrics(results, statistics, local_groups.size(), total_tokens, grad_norm, skipped);
}

absl::StatusOr<GrpoLearner::MicroBatchResult> GrpoLearner::MicroBatchLoss(const MicroBatch& batch,
                                                                          const StepSetup& setup) {
  const torch::Device& device = setup.device;
  const torch::Tensor& active_dims = setup.active_dims;
  const bool encoder_trains = setup.encoder_trains, localiser_trains = setup.localiser_trains;
  absl::StatusOr<models::PolicyContext> encoded = [&]() -> absl::StatusOr<models::PolicyContext> {
    if (encoder_trains || localiser_trains) return policy_->Encode(batch.observation, /*allow_unknown_words=*/true);
    torch::NoGradGuard no_grad;
    return policy_->Encode(batch.observation, /*allow_unknown_words=*/true);
  }();
  if (!encoded.ok()) return encoded.status();

  // Encode detaches the subgoal the heads steer by; a trained localiser needs the path back.
  // The sampler conditioned on the same (detached) estimate, so the ratio is still 1 at staleness 0.
  models::PolicyContext pg_encoded = *encoded;
  if (localiser_trains) pg_encoded.subgoal = policy_->Subgoal(*encoded);
  const models::PolicyContext context = pg_encoded.Index(batch.row_index);
  const torch::Tensor chain = batch.chains.to(device);
  VLARFT_ASSIGN_OR_RETURN(ChainLogProbs current, core::CatchTorchErrors("recomputing log-probs", [&] {
                            return RecomputeChainLogProbs(*policy_, context, chain);
                          }));
  const StepAggregation aggregation = grpo_.aggregation();
  torch::Tensor log_probs = AggregateSteps(current.log_probs, aggregation);
  torch::Tensor old_log_probs = AggregateSteps(batch.old_log_probs.to(device), aggregation);
  torch::Tensor entropy = ChainEntropy(current.log_sigma);
  if (active_dims.defined()) {  // [rows, C, A] -> [rows, C, active]
    log_probs = log_probs.index_select(2, active_dims);
    old_log_probs = old_log_probs.index_select(2, active_dims);
    entropy = entropy.index_select(2, active_dims);
  }

  std::optional<torch::Tensor> fm_loss;
  if (grpo_.flow_matching_coef > 0) {
    // The anchor is behaviour cloning of the heads; it never moves the localiser (Encode's
    // subgoal is detached), so whatever the localiser learns comes from the reward.
    const models::PolicyContext fm_context = encoded->Index(batch.anchor_rows);
    const torch::Tensor target = policy_->action_normalizer().Normalize(batch.expert_chunks.to(device));
    const torch::Tensor noise = torch::randn(target.sizes(), generator_).to(device);
    const torch::Tensor tau = torch::rand({target.size(0)}, generator_).to(device);
    fm_loss = policy_->FlowMatchingLoss(target, noise, tau, fm_context);
  }
  std::optional<torch::Tensor> ref_log_probs;
  if (grpo_.kl_coef > 0) {
    torch::NoGradGuard no_grad;
    VLARFT_ASSIGN_OR_RETURN(models::PolicyContext ref_encoded, (*reference_)->Encode(batch.observation, true));
    ChainLogProbs ref = RecomputeChainLogProbs(**reference_, ref_encoded.Index(batch.row_index), chain);
    ref_log_probs = AggregateSteps(ref.log_probs, aggregation);
  }
  MicroBatchResult result;
  result.tokens = static_cast<double>(log_probs.numel());
  result.terms = GrpoLoss(log_probs, old_log_probs, batch.advantages.to(device), entropy, grpo_, fm_loss, ref_log_probs);
  result.sigma_mean = current.log_sigma.exp().mean().item<double>();
  return result;
}

absl::StatusOr<double> GrpoLearner::ApplyGradients(bool* skipped) {
  // Average gradients across ranks (undefined gradients count as zero), clip, step.
  std::vector<torch::Tensor> grads;
  for (auto& group : optimizer_->param_groups()) {
    for (auto& p : group.params()) {
      if (!p.grad().defined()) p.mutable_grad() = torch::zeros_like(p);
      grads.push_back(p.grad());
    }
  }
  if (group_ != nullptr) VLARFT_RETURN_IF_ERROR(group_->AllReduceMean(grads));
  double grad_norm = 0;
  {
    torch::NoGradGuard no_grad;
    torch::Tensor total = torch::zeros({}, torch::kFloat64);
    for (const torch::Tensor& g : grads) total += g.to(torch::kFloat64).pow(2).sum().cpu();
    grad_norm = std::sqrt(total.item<double>());
  }
  // The norm is taken after the all-reduce, so every rank makes the same decision.
  *skipped = !std::isfinite(grad_norm);
  if (*skipped) {
    optimizer_->zero_grad();
    return grad_norm;
  }
  torch::NoGradGuard no_grad;
  if (optim_.grad_clip > 0 && grad_norm > optim_.grad_clip) {
    for (const torch::Tensor& g : grads) g.mul_(optim_.grad_clip / (grad_norm + 1e-6));
  }
  ApplyLearningRates();
  optimizer_->step();
  ++step_;
  return grad_norm;
}

absl::StatusOr<LearnerStepMetrics> GrpoLearner::StepMetrics(const std::vector<MicroBatchResult>& results,
                                                            const GroupStatistics& statistics, size_t groups,
                                                            double total_tokens, double grad_norm, bool skipped) {
  // Token-weighted over micro-batches, then averaged over ranks.
  LearnerStepMetrics m;
  m.step = step_;
  m.groups = static_cast<int64_t>(groups);
  for (const MicroBatchResult& r : results) {
    const double w = r.tokens / std::max(total_tokens, 1.0);
    m.loss += w * r.terms.loss.item<double>();
    m.policy_loss += w * r.terms.policy_loss.item<double>();
    m.entropy += w * r.terms.entropy.item<double>();
    m.flow_matching += w * r.terms.flow_matching.item<double>();
    m.kl += w * r.terms.kl.item<double>();
    m.clip_fraction += w * r.terms.clip_fraction;
    m.dual_clip_fraction += w * r.terms.dual_clip_fraction;
    m.approx_kl += w * r.terms.approx_kl;
    m.ratio_mean += w * r.terms.ratio_mean;
    m.sigma_mean += w * r.sigma_mean;
  }
  if (!statistics.rewards.empty()) {
    double sum = 0, sq = 0;
    for (double r : statistics.rewards) sum += r;
    m.reward_mean = sum / statistics.rewards.size();
    for (double r : statistics.rewards) sq += (r - m.reward_mean) * (r - m.reward_mean);
    m.reward_std = std::sqrt(sq / statistics.rewards.size());
    double a = 0;
    for (double v : statistics.advantages_abs) a += v;
    m.advantage_abs_mean = a / statistics.advantages_abs.size();
    m.zero_variance_groups = static_cast<double>(statistics.zero_variance_groups) / groups;
  }
  if (group_ != nullptr && group_->world_size() > 1) {
    // One all-reduce for all of them: pack the named fields, average, unpack in the same order.
    const std::vector<double*> averaged = {&m.reward_mean, &m.reward_std,     &m.advantage_abs_mean,
                                           &m.zero_variance_groups, &m.loss,  &m.policy_loss,
                                           &m.entropy,     &m.flow_matching,  &m.kl,
                                           &m.clip_fraction, &m.dual_clip_fraction, &m.approx_kl,
                                           &m.ratio_mean,  &m.sigma_mean};
    std::vector<double> values;
    for (const double* field : averaged) values.push_back(*field);
    torch::Tensor packed = torch::tensor(values, torch::kFloat64);
    VLARFT_RETURN_IF_ERROR(group_->AllReduceMean({packed}));
    for (size_t i = 0; i < averaged.size(); ++i) *averaged[i] = packed.data_ptr<double>()[i];
  }
  m.grad_norm = grad_norm;
  m.skipped_nonfinite = skipped;
  const auto& param_groups = optimizer_->param_groups();
  m.head_lr = static_cast<const torch::optim::AdamWOptions&>(param_groups[0].options()).lr();
  m.sigma_lr = param_groups.size() > 1 ? static_cast<const torch::optim::AdamWOptions&>(param_groups[1].options()).lr() : 0;
  return m;
}

absl::Status GrpoLearner::SaveCheckpoint(models::TrainingCheckpoints& checkpoints, const YAML::Node& extra) {
  const models::ModelSidecar sidecar = models::PolicySidecar(policy_, step_);
  models::TrainerState state;
  state.step = step_;
  state.generator_state = generator_.get_state();
  state.extra = extra;
  return checkpoints.Save(*policy_, sidecar, *optimizer_, TrainableTensors(), state);
}

absl::StatusOr<YAML::Node> GrpoLearner::RestoreCheckpoint(const models::TrainingCheckpoints& checkpoints) {
  VLARFT_ASSIGN_OR_RETURN(models::TrainerState state,
                          checkpoints.Restore(*policy_, "policy", *optimizer_, TrainableTensors()));
  step_ = state.step;
  if (state.generator_state.defined()) generator_.set_state(state.generator_state);
  return state.extra;
}

}  // namespace vlarft::rl
