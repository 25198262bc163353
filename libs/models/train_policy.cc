#include "libs/models/train_policy.h"

#include <cmath>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "libs/core/mixed_precision.h"
#include "libs/core/status.h"
#include "libs/core/torch_compat.h"
#include "libs/models/checkpoint.h"
#include "libs/models/supervised_training_loop.h"

namespace vlarft::models {

absl::Status PolicyTrainConfig::Validate() const {
  if (steps < 1 || batch_size < 1 || lr <= 0 || warmup_steps < 0 || log_every < 1) {
    return absl::InvalidArgumentError("need steps >= 1, batch_size >= 1, lr > 0, warmup_steps >= 0, log_every >= 1");
  }
  if (tau_sampling != "uniform" && tau_sampling != "beta") {
    return absl::InvalidArgumentError(absl::StrCat("tau_sampling must be uniform or beta, got '", tau_sampling, "'"));
  }
  if (augment_shift < 0 || augment_brightness < 0) return absl::InvalidArgumentError("augmentations must be >= 0");
  VLARFT_RETURN_IF_ERROR(core::ValidateMixedPrecision(mixed_precision, "policy_training.mixed_precision"));
  if (subgoal_weight < 0) return absl::InvalidArgumentError("subgoal_weight must be >= 0");
  if (!(subgoal_noise_m >= 0)) return absl::InvalidArgumentError("subgoal_noise_m must be >= 0");
  if (!(subgoal_far_m >= 0)) return absl::InvalidArgumentError("subgoal_far_m must be >= 0");
  if (subgoal_heatmap_loss != "estimate" && subgoal_heatmap_loss != "expected") {
    return absl::InvalidArgumentError(
        absl::StrCat("subgoal_heatmap_loss must be estimate or expected, got '", subgoal_heatmap_loss, "'"));
  }
  return absl::OkStatus();
}

torch::Tensor SampleFlowTimes(int64_t n, const std::string& mode, at::Generator& generator) {
  const torch::Tensor u = torch::rand({n}, generator);
  if (mode == "uniform") return u;
  // Noise level s ~ Beta(1.5, 1) by inverse CDF (F(s) = s^1.5), favouring noisy inputs as in π0;
  // τ = 1 − s in our convention (τ = 0 is noise). Clamped away from τ = 0 exactly.
  return (1.0 - u.pow(1.0 / 1.5) * 0.999);
}

torch::Tensor AugmentFrames(const torch::Tensor& frames, int64_t shift, double brightness, at::Generator& generator) {
  torch::Tensor x = frames;
  const int64_t batch = frames.size(0), h = frames.size(1), w = frames.size(2);
  if (shift > 0) {
    // Pad by replication and crop a random window per sample.
    torch::Tensor padded = torch::nn::functional::pad(
        frames.permute({0, 3, 1, 2}).to(torch::kFloat32),
        torch::nn::functional::PadFuncOptions({shift, shift, shift, shift}).mode(torch::kReplicate));
    const torch::Tensor offsets = torch::randint(0, 2 * shift + 1, {batch, 2}, generator);
    std::vector<torch::Tensor> crops;
    for (int64_t b = 0; b < batch; ++b) {
      const int64_t dy = offsets[b][0].item<int64_t>(), dx = offsets[b][1].item<int64_t>();
      crops.push_back(padded[b].narrow(1, dy, h).narrow(2, dx, w));
    }
    x = torch::stack(crops).permute({0, 2, 3, 1});
  } else {
    x = x.to(torch::kFloat32);
  }
  if (brightness > 0) {
    const torch::Tensor scale = 1.0 + (torch::rand({batch, 1, 1, 1}, generator) * 2.0 - 1.0) * brightness;
    x = x * scale;
  }
  return x.round().clamp(0, 255).to(torch::kUInt8);
}

torch::Tensor GripperToSubgoalDistance(const torch::Tensor& subgoals, const torch::Tensor& proprio) {
  return (subgoals.to(torch::kFloat32) - proprio.to(torch::kFloat32).narrow(1, 0, 2)).norm(2, 1);
}

torch::Tensor FarWeightedSubgoalLoss(const torch::Tensor& squared, const torch::Tensor& distance, double far_m) {
  const torch::Tensor weights =
      far_m > 0 ? distance.div(far_m).clamp_max(1.0).to(squared.device()) : torch::ones_like(squared);
  return (weights * squared).sum() / (2 * weights.sum().clamp_min(1e-6));
}

namespace {

// Subgoals (x, y) in metres [B, 2] -> the proprio normaliser's x/y units, the space the gripper's
// own position lives in.
torch::Tensor NormalizedSubgoal(const ActionNormalizer& proprio_normalizer, const torch::Tensor& proprio,
                                const torch::Tensor& subgoals_metres) {
  torch::Tensor as_proprio = proprio.to(torch::kFloat32).clone();
  as_proprio.narrow(1, 0, 2).copy_(subgoals_metres.to(torch::kFloat32));
  return proprio_normalizer.Normalize(as_proprio).narrow(1, 0, 2);
}

constexpr int64_t kSubgoalValidationFrames = 256;

struct SubgoalErrors {
  double rms_m = 0;      // per-axis RMS over all validation frames
  double far_rms_m = 0;  // the same over frames whose gripper is >= kFarFromSubgoalM from the subgoal
};

// The subgoal head on kSubgoalValidationFrames held-out frames. Call in eval mode without gradients.
absl::StatusOr<SubgoalErrors> MeasureSubgoal(VlaPolicyImpl& policy, PolicyDataSource& data, at::Generator& generator,
                                             c10::DeviceType device_type, bool bf16, const PolicyTrainConfig& config) {
  VLARFT_ASSIGN_OR_RETURN(PolicyBatch batch, data.SampleBatch(kSubgoalValidationFrames, /*validation=*/true, generator));
  if (!batch.subgoals.defined()) return absl::FailedPreconditionError("the data source gives no subgoals");
  core::AutocastScope autocast(device_type, bf16);
  VLARFT_ASSIGN_OR_RETURN(PolicyContext context, policy.Encode({batch.frames, batch.instructions, batch.proprio}));
  torch::Tensor as_proprio = context.proprio.to(torch::kFloat32).clone();
  as_proprio.narrow(1, 0, 2).copy_(policy.Subgoal(context).to(torch::kFloat32));
  const torch::Tensor metres = policy.proprio_normalizer().Denormalize(as_proprio).narrow(1, 0, 2).cpu();
  const torch::Tensor truth = batch.subgoals.to(torch::kFloat32);
  const torch::Tensor squared = (metres - truth).pow(2);
  const torch::Tensor far = GripperToSubgoalDistance(truth, batch.proprio) >= kFarFromSubgoalM;
  SubgoalErrors errors;
  errors.rms_m = std::sqrt(squared.mean().item<double>());
  if (far.any().item<bool>()) errors.far_rms_m = std::sqrt(squared.index({far}).mean().item<double>());
  return errors;
}

}  // namespace

absl::StatusOr<PolicyTrainResult> TrainPolicy(const PolicyConfig& model_config, const PolicyTrainConfig& config,
                                              PolicyDataSource& data, const std::string& checkpoint_dir,
                                              const std::string& output_stem,
                                              const std::function<void(const std::string&)>& progress) {
  VLARFT_RETURN_IF_ERROR(config.Validate());
  VLARFT_RETURN_IF_ERROR(model_config.Validate());
  if (config.subgoal_weight > 0 && !model_config.HasSubgoalHead()) {
    return absl::InvalidArgumentError(
        "policy_training.subgoal_weight > 0 needs a subgoal head (policy.subgoal_localiser.channels > 0)");
  }
  if (model_config.HasSubgoalHead() && config.subgoal_weight <= 0) {
    return absl::InvalidArgumentError(
        "policy.subgoal_localiser needs policy_training.subgoal_weight > 0 (else nothing trains the subgoal head)");
  }
  if (config.torch_threads > 0) torch::set_num_threads(static_cast<int>(config.torch_threads));
  torch::manual_seed(config.seed);  // parameter initialisation only; data draws use `generator`
  VLARFT_ASSIGN_OR_RETURN(ActionNormalizer actions, ActionNormalizer::Create(data.ActionMin(), data.ActionMax()));
  VLARFT_ASSIGN_OR_RETURN(ActionNormalizer proprio, ActionNormalizer::Create(data.ProprioMin(), data.ProprioMax()));
  if (actions.dims() != model_config.action_dim || proprio.dims() != model_config.proprio_dim) {
    return absl::FailedPreconditionError(absl::StrCat("data has ", actions.dims(), "-D actions and ", proprio.dims(),
                                                      "-D proprio; the policy config expects ", model_config.action_dim,
                                                      " and ", model_config.proprio_dim));
  }
  VlaPolicy policy(model_config, InstructionTokenizer::Build(data.Instructions()), actions, proprio);
  if (config.train_lora_only) {
    for (auto& item : policy->encoder->named_parameters()) {
      item.value().set_requires_grad(item.key().find("lora_") != std::string::npos);
    }
  }
  // The sigma net is not trained by flow matching (σ only matters for SDE sampling in RFT).
  for (auto& p : policy->sigma_net->parameters()) p.set_requires_grad(false);
  for (auto& p : policy->sigma_time->parameters()) p.set_requires_grad(false);
  for (auto& p : policy->sigma_proprio->parameters()) p.set_requires_grad(false);
  for (auto& p : policy->sigma_context->parameters()) p.set_requires_grad(false);
  policy->train();
  const NamedParameters trainable = TrainableParameters(*policy);
  std::vector<torch::Tensor> params;
  for (const auto& [name, p] : trainable) params.push_back(p);
  torch::optim::AdamW optimizer(params, torch::optim::AdamWOptions(config.lr).weight_decay(config.weight_decay));
  at::Generator generator = core::MakeCpuGenerator(config.seed);

  TrainingCheckpoints checkpoints(checkpoint_dir);
  int64_t start_step = 0;
  if (!checkpoint_dir.empty() && checkpoints.Latest().has_value()) {
    VLARFT_ASSIGN_OR_RETURN(TrainerState state, checkpoints.Restore(*policy, "policy", optimizer, trainable));
    start_step = state.step;
    if (state.generator_state.defined()) generator.set_state(state.generator_state);
    progress(absl::StrCat("resumed from ", *checkpoints.Latest(), " at step ", start_step));
  }

  const c10::DeviceType device_type = policy->encoder->parameters().front().device().type();
  const bool bf16 = *core::UseBf16(config.mixed_precision, device_type);  // validated by config.Validate()
  auto loss_on = [&](const PolicyBatch& batch, bool augment) -> absl::StatusOr<torch::Tensor> {
    PolicyObservation obs{augment ? AugmentFrames(batch.frames, config.augment_shift, config.augment_brightness, generator)
                                  : batch.frames,
                          batch.instructions, batch.proprio};
    const torch::Tensor target = policy->action_normalizer().Normalize(batch.actions.to(torch::kFloat32));
    const torch::Tensor noise = torch::randn(target.sizes(), generator);
    const torch::Tensor tau = SampleFlowTimes(target.size(0), config.tau_sampling, generator);
    core::AutocastScope autocast(device_type, bf16);
    VLARFT_ASSIGN_OR_RETURN(PolicyContext context, policy->Encode(obs));
    torch::Tensor subgoal;  // the demonstration's, in the proprio normaliser's x/y units
    if (config.subgoal_weight > 0) {
      if (!batch.subgoals.defined() || batch.subgoals.sizes() != torch::IntArrayRef({target.size(0), 2})) {
        return absl::FailedPreconditionError("subgoal_weight > 0 but the data source gives no [B, 2] subgoals");
      }
      subgoal = NormalizedSubgoal(policy->proprio_normalizer(), batch.proprio, batch.subgoals).to(context.proprio.device());
    }
    // Training steers the heads by the true subgoal (with noise); validation by the head's estimate,
    // as inference does, so its loss says how well the two halves work together.
    if (model_config.HasSubgoalHead() && augment) {
      const torch::Tensor noisy_metres =
          batch.subgoals.to(torch::kFloat32) + config.subgoal_noise_m * torch::randn({target.size(0), 2}, generator);
      context.subgoal = NormalizedSubgoal(policy->proprio_normalizer(), batch.proprio, noisy_metres).to(context.proprio.device());
    }
    torch::Tensor loss = policy->FlowMatchingLoss(target, noise, tau, context).to(torch::kFloat32);
    if (subgoal.defined()) {
      const torch::Tensor squared = policy->SubgoalSquaredError(context, subgoal, config.subgoal_heatmap_loss == "expected");
      // Near its subgoal the gripper's own position gives the answer away; far from it only the
      // pixels and the instruction do. subgoal_far_m weights frames by that distance, so the head
      // cannot settle on "where the gripper is" (it would then point at the table centre at the
      // start of every episode, the one moment that decides where the policy goes).
      loss = loss + config.subgoal_weight *
                        FarWeightedSubgoalLoss(squared, GripperToSubgoalDistance(batch.subgoals, batch.proprio),
                                               config.subgoal_far_m);
    }
    return loss;
  };

  PolicyTrainResult result;
  TrainingLoopHooks hooks;
  hooks.loss = [&](int64_t) -> absl::StatusOr<torch::Tensor> {
    VLARFT_ASSIGN_OR_RETURN(PolicyBatch batch, data.SampleBatch(config.batch_size, /*validation=*/false, generator));
    return loss_on(batch, /*augment=*/true);
  };
  hooks.validate = [&](int64_t done) -> absl::Status {
    torch::NoGradGuard no_grad;
    policy->eval();
    VLARFT_ASSIGN_OR_RETURN(PolicyBatch val, data.SampleBatch(config.batch_size, /*validation=*/true, generator));
    absl::StatusOr<torch::Tensor> val_loss = loss_on(val, /*augment=*/false);
    absl::StatusOr<SubgoalErrors> subgoal_errors = SubgoalErrors{};
    if (config.subgoal_weight > 0) subgoal_errors = MeasureSubgoal(*policy, data, generator, device_type, bf16, config);
    policy->train();
    VLARFT_RETURN_IF_ERROR(val_loss.status());
    VLARFT_RETURN_IF_ERROR(subgoal_errors.status());
    result.validation_loss.emplace_back(done, val_loss->item<double>());
    std::string line = absl::StrFormat("step %d validation loss %.4f", done, val_loss->item<double>());
    if (config.subgoal_weight > 0) {
      result.validation_subgoal_rms_m.emplace_back(done, subgoal_errors->rms_m);
      result.validation_subgoal_far_rms_m.emplace_back(done, subgoal_errors->far_rms_m);
      absl::StrAppendFormat(&line, ", subgoal RMS %.1f cm (%.1f cm with the gripper >= %.0f cm away)",
                            100 * subgoal_errors->rms_m, 100 * subgoal_errors->far_rms_m, 100 * kFarFromSubgoalM);
    }
    progress(line);
    return absl::OkStatus();
  };
  if (!checkpoint_dir.empty()) {
    hooks.checkpoint = [&](int64_t done) -> absl::Status {
      TrainerState state;
      state.step = done;
      state.generator_state = generator.get_state();
      return checkpoints.Save(*policy, PolicySidecar(policy, done), optimizer, trainable, state);
    };
  }
  TrainingLoopResult loop;
  absl::Status loop_status;
  VLARFT_RETURN_IF_ERROR(core::CatchTorchErrorsVoid("training the policy", [&] {
    loop_status = RunTrainingLoop(LoopSpecFrom(config), start_step, optimizer, params, hooks, progress, loop);
  }));
  VLARFT_RETURN_IF_ERROR(loop_status);
  result.train_loss = loop.train_loss;
  result.seconds = loop.seconds;
  result.complete = loop.complete;
  if (!loop.complete) return result;
  policy->eval();
  VLARFT_RETURN_IF_ERROR(SavePolicy(output_stem, policy, config.steps));
  return result;
}

}  // namespace vlarft::models
