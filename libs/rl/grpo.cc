#include "libs/rl/grpo.h"

#include "absl/strings/str_cat.h"

namespace vlarft::rl {

absl::Status GrpoConfig::Validate() const {
  if (!(clip_epsilon > 0 && clip_epsilon < 1)) return absl::InvalidArgumentError("clip_epsilon must be in (0, 1)");
  if (entropy_coef < 0 || flow_matching_coef < 0 || kl_coef < 0) {
    return absl::InvalidArgumentError("loss coefficients must be >= 0");
  }
  if (step_aggregation != "sum" && step_aggregation != "mean") {
    return absl::InvalidArgumentError(absl::StrCat("step_aggregation must be sum or mean, got '", step_aggregation, "'"));
  }
  return absl::OkStatus();
}

torch::Tensor GroupAdvantages(const torch::Tensor& rewards, bool normalize_by_std) {
  TORCH_CHECK(rewards.dim() == 2, "rewards must be [prompts, group], got ", rewards.sizes());
  const torch::Tensor centered = rewards - rewards.mean(1, /*keepdim=*/true);
  if (!normalize_by_std) return centered;
  // Unbiased std like torch.std; a group of one has no spread, so its advantage is 0.
  const torch::Tensor std = rewards.size(1) > 1 ? rewards.std(1, /*unbiased=*/true, /*keepdim=*/true)
                                                : torch::zeros_like(centered);
  return centered / (std + 1e-6);
}

GrpoTerms GrpoLoss(const torch::Tensor& log_probs, const torch::Tensor& old_log_probs,
                   const torch::Tensor& advantages, const torch::Tensor& entropy, const GrpoConfig& config,
                   const std::optional<torch::Tensor>& flow_matching_mse,
                   const std::optional<torch::Tensor>& ref_log_probs) {
  TORCH_CHECK(log_probs.sizes() == old_log_probs.sizes(), "log-prob shapes differ: ", log_probs.sizes(), " vs ",
              old_log_probs.sizes());
  TORCH_CHECK(advantages.dim() == 1 && advantages.size(0) == log_probs.size(0), "advantages must be [N]");
  std::vector<int64_t> broadcast(log_probs.dim(), 1);
  broadcast[0] = advantages.size(0);
  const torch::Tensor a = advantages.view(broadcast).to(log_probs.dtype());

  // Clamped: an absurd stored log-prob must not give exp() = inf and then inf * 0 = NaN. Beyond
  // e^±20 every branch of the clipped objective is flat (or its gradient negligible) anyway.
  const torch::Tensor log_ratio = (log_probs - old_log_probs).clamp(-20.0, 20.0);
  const torch::Tensor ratio = torch::exp(log_ratio);
  const double eps = config.clip_epsilon;
  const torch::Tensor unclipped = ratio * a;
  const torch::Tensor clipped = ratio.clamp(1.0 - eps, 1.0 + eps) * a;
  const torch::Tensor clip_loss = -torch::min(unclipped, clipped);
  torch::Tensor token_loss = clip_loss;
  torch::Tensor dual_capped = torch::zeros_like(clip_loss, torch::kBool);
  if (config.dual_clip > 1.0) {
    const torch::Tensor cap = -config.dual_clip * a;  // = c·|A| where A < 0
    const torch::Tensor negative = a < 0;
    token_loss = torch::where(negative, torch::min(clip_loss, cap), clip_loss);
    dual_capped = negative.logical_and(clip_loss > cap);
  }

  GrpoTerms terms;
  terms.policy_loss = token_loss.mean();
  terms.entropy = entropy.mean();
  terms.flow_matching = flow_matching_mse.has_value() ? *flow_matching_mse : torch::zeros({}, log_probs.options());
  if (ref_log_probs.has_value()) {
    // k3 estimator of KL(π || π_ref): exp(ℓ_ref − ℓ) − (ℓ_ref − ℓ) − 1 ≥ 0, low variance.
    const torch::Tensor d = *ref_log_probs - log_probs;
    terms.kl = (torch::exp(d) - d - 1.0).mean();
  } else {
    terms.kl = torch::zeros({}, log_probs.options());
  }
  terms.loss = terms.policy_loss - config.entropy_coef * terms.entropy +
               config.flow_matching_coef * terms.flow_matching + config.kl_coef * terms.kl;

  torch::NoGradGuard no_grad;
  // A token counts as clipped when min() picked the clipped branch (as verl's pg_clipfrac).
  const torch::Tensor clipped_active = clipped < unclipped;
  terms.clip_fraction = clipped_active.to(torch::kFloat32).mean().item<double>();
  terms.dual_clip_fraction = dual_capped.to(torch::kFloat32).mean().item<double>();
  terms.approx_kl = (-log_ratio).mean().item<double>();
  terms.ratio_mean = ratio.mean().item<double>();
  return terms;
}

}  // namespace vlarft::rl
