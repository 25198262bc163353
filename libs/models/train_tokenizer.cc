#include "libs/models/train_tokenizer.h"

#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "libs/core/config.h"
#include "libs/core/status.h"
#include "libs/models/checkpoint.h"
#include "libs/models/checkpoint_util.h"
#include "libs/models/supervised_training_loop.h"

namespace vlarft::models {
namespace {

// What a training checkpoint holds: the tokenizer and, with the adversarial loss, its
// discriminator (names "tokenizer.*", "discriminator.*").
class TokenizerTraineeImpl : public torch::nn::Module {
 public:
  TokenizerTraineeImpl(const TokenizerConfig& model, const TokenizerTrainConfig& training) {
    tokenizer = register_module("tokenizer", VideoTokenizer(model));
    if (training.adversarial_weight > 0) {
      discriminator = register_module("discriminator", PatchDiscriminator(training.discriminator_channels));
    }
  }
  VideoTokenizer tokenizer{nullptr};
  PatchDiscriminator discriminator{nullptr};
};
TORCH_MODULE(TokenizerTrainee);

// Context frames [B, 3, H, W] and futures [B·K, 3, H, W] (model space) from clips.
std::pair<torch::Tensor, torch::Tensor> SplitClips(const VideoClips& clips, int64_t futures_per_context,
                                                   at::Generator& generator, const torch::Device& device) {
  const int64_t batch = clips.frames.size(0), length = clips.frames.size(1);
  const torch::Tensor offsets = torch::randint(0, length, {batch, futures_per_context}, generator);
  const torch::Tensor rows = torch::arange(batch).unsqueeze(1).expand({batch, futures_per_context});
  const torch::Tensor futures = clips.frames.index({rows.reshape({-1}), offsets.reshape({-1})});
  return {FramesToModel(clips.frames.select(1, 0), device), FramesToModel(futures, device)};
}

}  // namespace

absl::Status TokenizerTrainConfig::Validate() const {
  if (steps < 1 || batch_size < 1 || futures_per_context < 1 || max_future_offset < 0 || lr <= 0 ||
      warmup_steps < 0 || log_every < 1 || validation_batches < 1) {
    return absl::InvalidArgumentError(
        "need steps, batch_size, futures_per_context, log_every, validation_batches >= 1, lr > 0, "
        "warmup_steps and max_future_offset >= 0");
  }
  if (l1_weight < 0 || l2_weight < 0 || change_weight < 0 || perceptual_weight < 0 || adversarial_weight < 0) {
    return absl::InvalidArgumentError("loss weights must be >= 0");
  }
  return ParseStorageDtype(storage_dtype).status();
}

torch::Tensor PsnrOfModelImages(const torch::Tensor& images, const torch::Tensor& references) {
  const torch::Tensor a = (images.detach().clamp(-1, 1) + 1) / 2;
  const torch::Tensor b = (references.detach().clamp(-1, 1) + 1) / 2;
  const torch::Tensor mse = (a - b).pow(2).flatten(1).mean(1).clamp_min(1e-10);
  return -10.0 * torch::log10(mse);
}

TokenizerLosses ComputeTokenizerLosses(VideoTokenizer& tokenizer, PatchDiscriminator* discriminator,
                                       const torch::Tensor& contexts, const torch::Tensor& futures,
                                       const TokenizerTrainConfig& config, bool adversarial_active) {
  TokenizerLosses losses;
  const ContextEncoding ctx = tokenizer->EncodeContext(contexts);
  const torch::Tensor future_codes = tokenizer->EncodeFuture(futures, ctx).first;
  losses.context_recon = tokenizer->DecodeContext(ctx.codes);
  losses.future_recon = tokenizer->DecodeFuture(future_codes, ctx);
  const torch::Tensor recon = torch::cat({losses.context_recon, losses.future_recon}, 0);
  const torch::Tensor target = torch::cat({contexts, futures}, 0);
  // Pixels of a future frame that moved relative to its context (> ~3 grey levels in a channel).
  const int64_t times = futures.size(0) / contexts.size(0);
  const torch::Tensor changed =
      (futures - contexts.repeat_interleave(times, 0)).abs().amax(1, /*keepdim=*/true).gt(0.025).to(futures.scalar_type());
  const torch::Tensor weight = torch::cat({torch::ones_like(changed.narrow(0, 0, contexts.size(0))), 1.0 + config.change_weight * changed}, 0);
  const torch::Tensor norm = weight.sum() * recon.size(1);
  losses.l1 = (weight * (recon - target).abs()).sum() / norm;
  losses.l2 = (weight * (recon - target).pow(2)).sum() / norm;
  losses.total = config.l1_weight * losses.l1 + config.l2_weight * losses.l2;
  if (config.perceptual_weight > 0) {
    FrozenParameters frozen(*tokenizer->context_encoder);
    losses.perceptual = tokenizer->PerceptualDistance(recon, target).mean();
    losses.total = losses.total + config.perceptual_weight * losses.perceptual;
  }
  if (discriminator != nullptr && adversarial_active) {
    {
      FrozenParameters frozen(**discriminator);
      losses.adversarial = GeneratorHingeLoss((*discriminator)(recon));
    }
    losses.total = losses.total + config.adversarial_weight * losses.adversarial;
    losses.discriminator = DiscriminatorHingeLoss((*discriminator)(target), (*discriminator)(recon.detach()));
  }
  return losses;
}

absl::StatusOr<TokenizerTrainResult> TrainTokenizer(const TokenizerConfig& model_config,
                                                    const TokenizerTrainConfig& config, VideoDataSource& data,
                                                    const std::string& checkpoint_dir, const std::string& output_stem,
                                                    const std::function<void(const std::string&)>& progress,
                                                    const torch::Device& device) {
  VLARFT_RETURN_IF_ERROR(core::Annotate(config.Validate(), "tokenizer.training"));
  VLARFT_RETURN_IF_ERROR(core::Annotate(model_config.Validate(), "tokenizer.model"));
  VLARFT_ASSIGN_OR_RETURN(const torch::Dtype storage, ParseStorageDtype(config.storage_dtype));
  if (data.image_size() != model_config.image_size) {
    return absl::FailedPreconditionError(absl::StrCat("data frames are ", data.image_size(), " px but the tokenizer expects ",
                                                      model_config.image_size));
  }
  if (config.torch_threads > 0) torch::set_num_threads(static_cast<int>(config.torch_threads));
  // Denormal floats (tiny gradients and zero-initialised layers produce them) are ~100x slower on
  // x86; flushing them to zero changes nothing measurable in training.
  at::globalContext().setFlushDenormal(true);
  torch::manual_seed(config.seed);  // initialisation only; data draws use `generator`
  TokenizerTrainee trainee(model_config, config);
  trainee->to(device);
  VideoTokenizer tokenizer = trainee->tokenizer;
  PatchDiscriminator* discriminator = trainee->discriminator ? &trainee->discriminator : nullptr;
  trainee->train();
  const NamedParameters trainable = TrainableParameters(*trainee);
  std::vector<torch::Tensor> params;
  for (const auto& [name, p] : trainable) params.push_back(p);
  torch::optim::AdamW optimizer(params, torch::optim::AdamWOptions(config.lr).weight_decay(config.weight_decay));
  at::Generator generator = core::MakeCpuGenerator(config.seed);

  TokenizerTrainResult result;
  TrainingLoopResult loop;
  TrainingCheckpoints checkpoints(checkpoint_dir);
  int64_t start_step = 0;
  if (!checkpoint_dir.empty() && checkpoints.Latest().has_value()) {
    // Compare configs before touching any weight: resuming someone else's run is an error.
    VLARFT_ASSIGN_OR_RETURN(ModelSidecar stored, ReadModelSidecar(*checkpoints.Latest() + "/model", "tokenizer"));
    VLARFT_RETURN_IF_ERROR(CheckSidecarConfig(stored, core::ConfigToYaml(model_config), *checkpoints.Latest()));
    VLARFT_ASSIGN_OR_RETURN(TrainerState state, checkpoints.Restore(*trainee, "tokenizer", optimizer, trainable));
    start_step = state.step;
    if (state.generator_state.defined()) generator.set_state(state.generator_state);
    loop.train_loss = HistoryFromYaml(state.extra["train_loss"]);
    result.validation_loss = HistoryFromYaml(state.extra["validation_loss"]);
    result.validation_context_psnr = HistoryFromYaml(state.extra["validation_context_psnr"]);
    result.validation_future_psnr = HistoryFromYaml(state.extra["validation_future_psnr"]);
    progress(absl::StrCat("resumed from ", *checkpoints.Latest(), " at step ", start_step));
  }

  TrainingLoopHooks hooks;
  hooks.loss = [&](int64_t step) -> absl::StatusOr<torch::Tensor> {
    VLARFT_ASSIGN_OR_RETURN(VideoClips clips,
                            data.SampleClips(config.batch_size, config.max_future_offset, /*validation=*/false, generator));
    auto [contexts, futures] = SplitClips(clips, config.futures_per_context, generator, device);
    const bool adversarial = step >= config.adversarial_start_step;
    TokenizerLosses losses =
        ComputeTokenizerLosses(tokenizer, discriminator, contexts, futures, config, adversarial);
    // The discriminator's loss only reaches its own parameters (reconstructions are detached there).
    return losses.discriminator.defined() ? losses.total + losses.discriminator : losses.total;
  };
  hooks.validate = [&](int64_t done) -> absl::Status {
    torch::NoGradGuard no_grad;
    trainee->eval();
    double loss = 0, ctx_psnr = 0, fut_psnr = 0;
    for (int64_t i = 0; i < config.validation_batches; ++i) {
      VLARFT_ASSIGN_OR_RETURN(VideoClips clips,
                              data.SampleClips(config.batch_size, config.max_future_offset, /*validation=*/true, generator));
      auto [contexts, futures] = SplitClips(clips, config.futures_per_context, generator, device);
      TokenizerLosses losses = ComputeTokenizerLosses(tokenizer, nullptr, contexts, futures, config, false);
      loss += losses.total.item<double>();
      ctx_psnr += PsnrOfModelImages(losses.context_recon, contexts).mean().item<double>();
      fut_psnr += PsnrOfModelImages(losses.future_recon, futures).mean().item<double>();
    }
    trainee->train();
    const double n = static_cast<double>(config.validation_batches);
    result.validation_loss.emplace_back(done, loss / n);
    result.validation_context_psnr.emplace_back(done, ctx_psnr / n);
    result.validation_future_psnr.emplace_back(done, fut_psnr / n);
    progress(absl::StrFormat("step %d validation loss %.4f  PSNR context %.2f dB  future %.2f dB", done, loss / n,
                             ctx_psnr / n, fut_psnr / n));
    return absl::OkStatus();
  };
  hooks.checkpoint = [&](int64_t done) -> absl::Status {
    if (checkpoint_dir.empty()) return absl::OkStatus();
    TrainerState state;
    state.step = done;
    state.generator_state = generator.get_state();
    state.extra["train_loss"] = HistoryToYaml(loop.train_loss);
    state.extra["validation_loss"] = HistoryToYaml(result.validation_loss);
    state.extra["validation_context_psnr"] = HistoryToYaml(result.validation_context_psnr);
    state.extra["validation_future_psnr"] = HistoryToYaml(result.validation_future_psnr);
    return checkpoints.Save(*trainee, TokenizerSidecar(tokenizer, done), optimizer, trainable, state);
  };

  const TrainingLoopSpec spec = LoopSpecFrom(config);
  absl::Status loop_status;
  VLARFT_RETURN_IF_ERROR(core::CatchTorchErrorsVoid("training the tokenizer", [&] {
    loop_status = RunTrainingLoop(spec, start_step, optimizer, params, hooks, progress, loop);
  }));
  VLARFT_RETURN_IF_ERROR(loop_status);
  result.train_loss = loop.train_loss;
  result.seconds = loop.seconds;
  result.complete = loop.complete;
  if (!loop.complete) return result;
  tokenizer->eval();
  VLARFT_RETURN_IF_ERROR(SaveTokenizer(output_stem, tokenizer, config.steps, storage));
  return result;
}

}  // namespace vlarft::models
