#include "libs/models/train_world_model.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "libs/core/config.h"
#include "libs/core/mixed_precision.h"
#include "libs/core/status.h"
#include "libs/models/checkpoint.h"
#include "libs/models/checkpoint_util.h"
#include "libs/models/strided_video_data.h"
#include "libs/models/supervised_training_loop.h"

namespace vlarft::models {

absl::Status WorldModelTrainConfig::Validate() const {
  if (steps < 1 || batch_size < 1 || frames < 1 || lr <= 0 || warmup_steps < 0 || log_every < 1 ||
      validation_batches < 1) {
    return absl::InvalidArgumentError(
        "need steps, batch_size, frames, log_every, validation_batches >= 1, lr > 0, warmup_steps >= 0");
  }
  VLARFT_RETURN_IF_ERROR(core::ValidateMixedPrecision(mixed_precision, "world_model.training.mixed_precision"));
  if (!(motion_weight >= 0) || !(motion_threshold >= 0)) {
    return absl::InvalidArgumentError("need motion_weight >= 0 and motion_threshold >= 0");
  }
  return ParseStorageDtype(storage_dtype).status();
}

torch::Tensor TokenizeClips(VideoTokenizer& tokenizer, WorldModel& model, const VideoClips& clips) {
  torch::NoGradGuard no_grad;
  const torch::Device device = model->device();
  const int64_t batch = clips.frames.size(0), length = clips.frames.size(1);
  const torch::Tensor contexts = FramesToModel(clips.frames.select(1, 0), device);
  const ContextEncoding ctx = tokenizer->EncodeContext(contexts);
  const torch::Tensor all = FramesToModel(clips.frames.flatten(0, 1), device);
  const torch::Tensor dyn = tokenizer->EncodeFuture(all, ctx).second.view({batch, length, -1});
  return model->BuildSequence(ctx.indices, dyn, model->ActionTokens(clips.actions.to(device)));
}

torch::Tensor MotionWeights(const VideoClips& clips, int64_t grid, double motion_weight, double threshold,
                            torch::Device device) {
  torch::NoGradGuard no_grad;
  const int64_t steps = clips.frames.size(1) - 1;
  const torch::Tensor frames = clips.frames.to(device).to(torch::kFloat32).div(255.0);  // [B, T+1, H, W, 3]
  const torch::Tensor change = (frames.narrow(1, 1, steps) - frames.narrow(1, 0, 1)).abs().mean(-1);  // [B, T, H, W]
  const torch::Tensor cells = torch::adaptive_avg_pool2d(change, {grid, grid});                       // [B, T, g, g]
  const torch::Tensor moving = cells.gt(threshold).to(torch::kFloat32);
  return (1.0 + motion_weight * moving).reshape({clips.frames.size(0), steps * grid * grid});
}

namespace {

// Compared with a stored sidecar: fields added since it was written pass at their defaults.
absl::Status CheckStoredGeometry(const ModelSidecar& stored, const WorldModelConfig& geometry, const std::string& what) {
  return CheckSidecarConfig(stored, core::ConfigToYaml(geometry), what, core::ConfigToYaml(WorldModelConfig{}));
}

// init_from: the stored model's weights, in place, as float32. A model stored without action
// features may start a run that adds them (docs/world_model.md, "Action values"): every stored
// weight is copied and the new projection stays at zero, so training starts from exactly the
// stored model's function — or, values only, is fitted to the stored bins' rows.
absl::Status LoadInitialWeights(const std::string& stem, const ModelSidecar& stored, const WorldModelConfig& geometry,
                                WorldModel& model) {
  // A run may change how many steps a frame spans (action_stride): the weights are the same shapes,
  // and the frame tokens they learned to predict are the same kind.
  WorldModelConfig same_stride = geometry;
  same_stride.action_stride = stored.config["action_stride"].as<int64_t>(1);
  const YAML::Node stored_features = stored.config["action_features"];
  const bool adds_features = geometry.action_features > 0 &&
                             (!stored_features.IsDefined() || stored_features.as<int64_t>(-1) == 0);
  if (!adds_features) {
    VLARFT_RETURN_IF_ERROR(CheckStoredGeometry(stored, same_stride, stem));
    return LoadModelWeightsConverting(stem, *model);
  }
  WorldModelConfig without = same_stride;
  without.action_features = 0;
  without.action_values_only = false;
  VLARFT_RETURN_IF_ERROR(CheckStoredGeometry(stored, without, stem));
  WorldModel from(without, model->action_normalizer());
  VLARFT_RETURN_IF_ERROR(LoadModelWeightsConverting(stem, *from));
  torch::NoGradGuard no_grad;
  const auto targets = model->named_parameters();
  for (const auto& source : from->named_parameters()) targets[source.key()].copy_(source.value());
  // Values only: start from the smooth part of the stored bins' rows instead of from no action input.
  if (geometry.action_values_only) model->FitActionValuesToTable();
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<WorldModelTrainResult> TrainWorldModel(const WorldModelConfig& model_config,
                                                      const WorldModelTrainConfig& config, VideoTokenizer tokenizer,
                                                      const std::string& tokenizer_stem, VideoDataSource& data,
                                                      const std::string& checkpoint_dir, const std::string& output_stem,
                                                      const std::function<void(const std::string&)>& progress) {
  VLARFT_RETURN_IF_ERROR(core::Annotate(config.Validate(), "world_model.training"));
  const WorldModelConfig geometry = WithTokenizerGeometry(model_config, tokenizer->config());
  VLARFT_RETURN_IF_ERROR(core::Annotate(geometry.Validate(), "world_model.model"));
  VLARFT_ASSIGN_OR_RETURN(const torch::Dtype storage, ParseStorageDtype(config.storage_dtype));
  if (config.frames > geometry.max_frames) {
    return absl::InvalidArgumentError(absl::StrCat("world_model.training.frames = ", config.frames,
                                                   " exceeds the model's max_frames ", geometry.max_frames));
  }
  if (data.image_size() != tokenizer->config().image_size) {
    return absl::FailedPreconditionError(absl::StrCat("data frames are ", data.image_size(),
                                                      " px but the tokenizer expects ", tokenizer->config().image_size));
  }
  // A model that imagines one frame every k steps trains on every k-th frame, its actions summed
  // (k = 1: the data as it is).
  StridedVideoData clips_source(&data, geometry.action_stride);
  VLARFT_ASSIGN_OR_RETURN(ActionNormalizer actions,
                          ActionNormalizer::Create(clips_source.ActionMin(), clips_source.ActionMax()));
  if (actions.dims() != geometry.action_dim) {
    return absl::FailedPreconditionError(absl::StrCat("data has ", actions.dims(), "-D actions; the world model expects ",
                                                      geometry.action_dim));
  }
  if (config.torch_threads > 0) torch::set_num_threads(static_cast<int>(config.torch_threads));
  // Denormal floats (tiny gradients and zero-initialised layers produce them) are ~100x slower on
  // x86; flushing them to zero changes nothing measurable in training.
  at::globalContext().setFlushDenormal(true);
  torch::manual_seed(config.seed);
  WorldModel model(geometry, std::move(actions));
  model->to(tokenizer->device());
  tokenizer->eval();
  for (auto& p : tokenizer->parameters()) p.set_requires_grad(false);
  model->train();
  const NamedParameters trainable = TrainableParameters(*model);
  std::vector<torch::Tensor> params;
  for (const auto& [name, p] : trainable) params.push_back(p);
  torch::optim::AdamW optimizer(params, torch::optim::AdamWOptions(config.lr).weight_decay(config.weight_decay));
  at::Generator generator = core::MakeCpuGenerator(config.seed);

  WorldModelTrainResult result;
  result.parameters = CountParameters(*model);
  progress(absl::StrFormat("world model: %d layers x %d, %d heads, vocab %d, %.2fM parameters; sequences of %d tokens",
                           geometry.layers, geometry.dim, geometry.heads, geometry.vocab_size(),
                           result.parameters / 1e6, geometry.SequenceLength(config.frames)));
  TrainingLoopResult loop;
  TrainingCheckpoints checkpoints(checkpoint_dir);
  int64_t start_step = 0;
  auto sidecar = [&](int64_t step) {
    ModelSidecar s = WorldModelSidecar(model, step);
    s.extra["tokenizer"]["checkpoint"] = tokenizer_stem;
    return s;
  };
  const bool resuming = !checkpoint_dir.empty() && checkpoints.Latest().has_value();
  if (!config.init_from.empty() && !resuming) {  // a resumed run already holds what it started from
    VLARFT_ASSIGN_OR_RETURN(ModelSidecar stored, ReadModelSidecar(config.init_from, "world_model"));
    VLARFT_RETURN_IF_ERROR(LoadInitialWeights(config.init_from, stored, geometry, model));
    progress(absl::StrCat("starting from the weights of ", config.init_from, " (step ", stored.step, ")"));
  }
  if (resuming) {
    VLARFT_ASSIGN_OR_RETURN(ModelSidecar stored, ReadModelSidecar(*checkpoints.Latest() + "/model", "world_model"));
    VLARFT_RETURN_IF_ERROR(CheckStoredGeometry(stored, geometry, *checkpoints.Latest()));
    VLARFT_ASSIGN_OR_RETURN(TrainerState state, checkpoints.Restore(*model, "world_model", optimizer, trainable));
    start_step = state.step;
    if (state.generator_state.defined()) generator.set_state(state.generator_state);
    loop.train_loss = HistoryFromYaml(state.extra["train_loss"]);
    result.validation_loss = HistoryFromYaml(state.extra["validation_loss"]);
    result.validation_accuracy = HistoryFromYaml(state.extra["validation_accuracy"]);
    progress(absl::StrCat("resumed from ", *checkpoints.Latest(), " at step ", start_step));
  }

  TrainingLoopHooks hooks;
  const c10::DeviceType device_type = model->device().type();
  const bool bf16 = *core::UseBf16(config.mixed_precision, device_type);
  hooks.loss = [&](int64_t) -> absl::StatusOr<torch::Tensor> {
    VLARFT_ASSIGN_OR_RETURN(VideoClips clips, clips_source.SampleClips(config.batch_size, config.frames, false, generator));
    const torch::Tensor sequence = TokenizeClips(tokenizer, model, clips);  // float32: outside autocast
    torch::Tensor weights;
    if (config.motion_weight > 0) {
      weights = MotionWeights(clips, tokenizer->config().future_grid(), config.motion_weight, config.motion_threshold,
                              model->device());
    }
    core::AutocastScope autocast(device_type, bf16);
    return model->FutureTokenLoss(sequence, config.frames, weights);
  };
  hooks.validate = [&](int64_t done) -> absl::Status {
    torch::NoGradGuard no_grad;
    model->eval();
    double loss = 0, accuracy = 0;
    auto [inputs, targets] = model->LossPositions(config.frames);
    for (int64_t i = 0; i < config.validation_batches; ++i) {
      VLARFT_ASSIGN_OR_RETURN(VideoClips clips, clips_source.SampleClips(config.batch_size, config.frames, true, generator));
      const torch::Tensor sequence = TokenizeClips(tokenizer, model, clips);
      core::AutocastScope autocast(device_type, bf16);
      loss += model->FutureTokenLoss(sequence, config.frames).item<double>();
      const torch::Tensor hidden = model->Hidden(sequence).index_select(1, inputs.to(sequence.device()));
      const torch::Tensor logits = model->FutureLogits(hidden);
      const torch::Tensor labels = sequence.index_select(1, targets.to(sequence.device())) - geometry.future_offset();
      accuracy += logits.argmax(-1).eq(labels).to(torch::kFloat32).mean().item<double>();
    }
    model->train();
    const double n = static_cast<double>(config.validation_batches);
    result.validation_loss.emplace_back(done, loss / n);
    result.validation_accuracy.emplace_back(done, accuracy / n);
    progress(absl::StrFormat("step %d validation loss %.4f  future-token accuracy %.3f", done, loss / n, accuracy / n));
    return absl::OkStatus();
  };
  hooks.checkpoint = [&](int64_t done) -> absl::Status {
    if (checkpoint_dir.empty()) return absl::OkStatus();
    TrainerState state;
    state.step = done;
    state.generator_state = generator.get_state();
    state.extra["train_loss"] = HistoryToYaml(loop.train_loss);
    state.extra["validation_loss"] = HistoryToYaml(result.validation_loss);
    state.extra["validation_accuracy"] = HistoryToYaml(result.validation_accuracy);
    return checkpoints.Save(*model, sidecar(done), optimizer, trainable, state);
  };

  const TrainingLoopSpec spec = LoopSpecFrom(config);
  absl::Status loop_status;
  VLARFT_RETURN_IF_ERROR(core::CatchTorchErrorsVoid("training the world model", [&] {
    loop_status = RunTrainingLoop(spec, start_step, optimizer, params, hooks, progress, loop);
  }));
  VLARFT_RETURN_IF_ERROR(loop_status);
  result.train_loss = loop.train_loss;
  result.seconds = loop.seconds;
  result.complete = loop.complete;
  if (!loop.complete) return result;
  model->eval();
  VLARFT_RETURN_IF_ERROR(SaveModelAs(output_stem, *model, sidecar(config.steps), storage));
  return result;
}

}  // namespace vlarft::models
