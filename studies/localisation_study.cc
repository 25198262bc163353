#include "studies/localisation_study.h"

#include <chrono>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "libs/core/rng.h"
#include "libs/core/status.h"
#include "libs/models/conv_blocks.h"
#include "libs/models/instruction_tokenizer.h"
#include "libs/models/train_policy.h"
#include "libs/models/supervised_training_loop.h"

namespace vlarft::studies {
namespace {

// The reference localiser (see the header): stride-2 convolution with x/y coordinate channels,
// two 3x3 convolutions with instruction FiLM between them, K spatial-softmax keypoints at half
// resolution, and an MLP on [keypoints, instruction] -> (x, y).
class SubgoalCnnImpl : public torch::nn::Module {
 public:
  SubgoalCnnImpl(int64_t vocab_size, int64_t keypoints) {
    embed = register_module("embed", torch::nn::Embedding(vocab_size, kWidth));
    conv1 = register_module("conv1", torch::nn::Conv2d(torch::nn::Conv2dOptions(5, 32, 3).stride(2).padding(1)));
    conv2 = register_module("conv2", torch::nn::Conv2d(torch::nn::Conv2dOptions(32, kWidth, 3).padding(1)));
    conv3 = register_module("conv3", torch::nn::Conv2d(torch::nn::Conv2dOptions(kWidth, kWidth, 3).padding(1)));
    film = register_module("film", torch::nn::Linear(kWidth, 2 * kWidth));
    maps = register_module("maps", torch::nn::Conv2d(torch::nn::Conv2dOptions(kWidth, keypoints, 1)));
    hidden = register_module("hidden", torch::nn::Linear(2 * keypoints + kWidth, 256));
    out = register_module("out", torch::nn::Linear(256, 2));
  }

  // pixels [B, 3, H, W] in [-1, 1], ids/mask [B, L] -> [B, 2]
  torch::Tensor forward(const torch::Tensor& pixels, const torch::Tensor& ids, const torch::Tensor& mask) {
    const torch::Tensor weights = mask.to(torch::kFloat32).unsqueeze(-1);
    const torch::Tensor instruction = (embed(ids) * weights).sum(1) / weights.sum(1).clamp_min(1.0);
    torch::Tensor x = torch::silu(conv1(models::AppendCoordinateChannels(pixels)));
    const auto gamma_beta = film(instruction).unsqueeze(-1).unsqueeze(-1).chunk(2, 1);
    x = torch::silu(conv2(x) * (1 + gamma_beta[0]) + gamma_beta[1]);
    x = torch::silu(conv3(x));
    return out(torch::silu(hidden(torch::cat({models::SpatialSoftmaxCoordinates(maps(x)), instruction}, 1))));
  }

 private:
  static constexpr int64_t kWidth = 64;
  torch::nn::Embedding embed{nullptr};
  torch::nn::Conv2d conv1{nullptr}, conv2{nullptr}, conv3{nullptr}, maps{nullptr};
  torch::nn::Linear film{nullptr}, hidden{nullptr}, out{nullptr};
};
TORCH_MODULE(SubgoalCnn);

}  // namespace

absl::Status LocalisationStudyOptions::Validate() const {
  if (model != "cnn" && model != "heatmap") {
    return absl::InvalidArgumentError(absl::StrCat("model must be cnn or heatmap, got '", model, "'"));
  }
  models::TargetLocaliserOptions localiser;
  localiser.channels = heatmap_channels;
  localiser.scene_channels = heatmap_scene;
  VLARFT_RETURN_IF_ERROR(core::Annotate(localiser.Validate(), "heatmap_channels / heatmap_scene"));
  if (heatmap_loss != "expected" && heatmap_loss != "estimate") {
    return absl::InvalidArgumentError(absl::StrCat("heatmap_loss must be expected or estimate, got '", heatmap_loss, "'"));
  }
  if (!(far_m >= 0)) return absl::InvalidArgumentError("far_m must be >= 0");
  if (steps < 1 || batch_size < 1 || lr <= 0 || warmup_steps < 0 || log_every < 1 || validation_batches < 1) {
    return absl::InvalidArgumentError(
        "need steps, batch_size, log_every, validation_batches >= 1, lr > 0 and warmup_steps >= 0");
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<LocalisationPoint>> RunLocalisationStudy(
    const models::PolicyConfig& config, training::DemoPolicyData& data, const LocalisationStudyOptions& options,
    const std::function<void(const LocalisationPoint&)>& progress) {
  VLARFT_RETURN_IF_ERROR(options.Validate());
  VLARFT_RETURN_IF_ERROR(config.Validate());
  torch::manual_seed(options.seed);
  at::Generator generator = core::MakeCpuGenerator(options.seed);
  // Subgoals are regressed in the proprio normaliser's x/y units, as the SFT subgoal loss does.
  const std::vector<double> lo = data.ProprioMin(), hi = data.ProprioMax();
  if (lo.size() < 2 || hi.size() < 2) return absl::FailedPreconditionError("the data has no proprio (x, y)");
  VLARFT_ASSIGN_OR_RETURN(models::ActionNormalizer xy, models::ActionNormalizer::Create({lo[0], lo[1]}, {hi[0], hi[1]}));
  VLARFT_ASSIGN_OR_RETURN(models::ActionNormalizer proprio, models::ActionNormalizer::Create(lo, hi));
  const models::InstructionTokenizer tokenizer = models::InstructionTokenizer::Build(data.Instructions());

  SubgoalCnn cnn{nullptr};
  models::TargetLocaliser heatmap{nullptr};
  if (options.model == "cnn") {
    cnn = SubgoalCnn(tokenizer.vocab_size(), 16);
  } else {
    models::TargetLocaliserOptions localiser;
    localiser.channels = options.heatmap_channels;
    localiser.scene_channels = options.heatmap_scene;
    localiser.vocab_size = tokenizer.vocab_size();
    localiser.max_tokens = config.encoder.max_instruction_tokens;
    localiser.proprio_dim = static_cast<int64_t>(lo.size());
    heatmap = models::TargetLocaliser(localiser);
  }
  torch::nn::Module& model = cnn ? static_cast<torch::nn::Module&>(*cnn) : static_cast<torch::nn::Module&>(*heatmap);
  const std::vector<torch::Tensor> params = model.parameters();
  torch::optim::AdamW optimizer(params, torch::optim::AdamWOptions(options.lr).weight_decay(0.0));

  // Squared error in metres², summed over the batch and both coordinates, and the loss; with
  // `split`, also the sums and counts (frames) over frames whose gripper is >= kFarFromSubgoalM
  // from the subgoal (where the gripper's own position does not give the answer away) and over
  // frames where it carries an object (the subgoal is then a place, not the object).
  struct SplitSums {
    double far_squared = 0, carrying_squared = 0;
    int64_t far_frames = 0, carrying_frames = 0;
  };
  auto evaluate = [&](bool validation, double* squared_metres, SplitSums* split = nullptr) -> absl::StatusOr<torch::Tensor> {
    VLARFT_ASSIGN_OR_RETURN(models::PolicyBatch batch, data.SampleBatch(options.batch_size, validation, generator));
    torch::Tensor predicted, heat;
    torch::Tensor ids, mask;
    VLARFT_RETURN_IF_ERROR(tokenizer.EncodeBatch(batch.instructions, config.encoder.max_instruction_tokens,
                                                 /*allow_unknown=*/false, &ids, &mask));
    const torch::Tensor pixels = batch.frames.permute({0, 3, 1, 2}).to(torch::kFloat32) / 127.5 - 1.0;
    predicted = cnn ? cnn->forward(pixels, ids, mask)
                    : heatmap->forward(pixels, ids, mask, proprio.Normalize(batch.proprio.to(torch::kFloat32)), &heat);
    const torch::Tensor target = xy.Normalize(batch.subgoals.to(torch::kFloat32));
    const torch::Tensor squared = (xy.Denormalize(predicted.detach()) - batch.subgoals).pow(2).sum(1);
    *squared_metres = squared.sum().item<double>();
    const torch::Tensor distance = models::GripperToSubgoalDistance(batch.subgoals, batch.proprio);
    if (split != nullptr) {
      const torch::Tensor is_far = distance >= models::kFarFromSubgoalM;
      split->far_squared += squared.index({is_far}).sum().item<double>();
      split->far_frames += is_far.sum().item<int64_t>();
      // LIBERO's gripper_states: finger opening, 0.04 open, 0 closed on nothing, the object's half
      // width while holding one (proprio dim 6).
      const torch::Tensor finger = batch.proprio.select(1, 6);
      const torch::Tensor carrying = (finger > 0.005) & (finger < 0.035);
      split->carrying_squared += squared.index({carrying}).sum().item<double>();
      split->carrying_frames += carrying.sum().item<int64_t>();
    }
    const torch::Tensor per_frame = heat.defined() && options.heatmap_loss == "expected"
                                        ? heatmap->TrainingSquaredError(predicted, heat, target)
                                        : (predicted - target).pow(2).sum(1);
    // The SFT trainer's subgoal loss and far weighting (policy_training.subgoal_far_m), for the same comparison.
    return models::FarWeightedSubgoalLoss(per_frame, distance, options.far_m);
  };

  // The shared trainer loop (warm-up, AdamW, clipping, non-finite check) with a constant rate after
  // warm-up: a cosine that ends at its peak.
  models::TrainingLoopSpec spec;
  spec.steps = options.steps;
  spec.log_every = options.log_every;
  spec.validate_every = options.log_every;
  spec.schedule = models::LrSchedule{options.lr, options.warmup_steps, options.steps, /*final_fraction=*/1.0};
  std::vector<LocalisationPoint> curve;
  const auto start = std::chrono::steady_clock::now();
  double train_squared = 0;
  int64_t train_values = 0;
  models::TrainingLoopHooks hooks;
  hooks.loss = [&](int64_t) -> absl::StatusOr<torch::Tensor> {
    double squared = 0;
    VLARFT_ASSIGN_OR_RETURN(torch::Tensor loss, evaluate(false, &squared));
    train_squared += squared;
    train_values += 2 * options.batch_size;
    return loss;
  };
  hooks.validate = [&](int64_t done) -> absl::Status {
    double validation_squared = 0;
    SplitSums split;
    {
      torch::NoGradGuard no_grad;
      model.eval();
      for (int64_t b = 0; b < options.validation_batches; ++b) {
        double squared_batch = 0;
        VLARFT_RETURN_IF_ERROR(evaluate(true, &squared_batch, &split).status());
        validation_squared += squared_batch;
      }
      model.train();
    }
    LocalisationPoint point;
    point.step = done;
    point.train_rms_cm = 100 * std::sqrt(train_squared / train_values);
    point.validation_rms_cm = 100 * std::sqrt(validation_squared / (2 * options.batch_size * options.validation_batches));
    auto rms_cm = [](double squared, int64_t frames) { return frames > 0 ? 100 * std::sqrt(squared / (2 * frames)) : 0.0; };
    point.validation_far_rms_cm = rms_cm(split.far_squared, split.far_frames);
    point.validation_carrying_rms_cm = rms_cm(split.carrying_squared, split.carrying_frames);
    point.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    curve.push_back(point);
    progress(point);
    train_squared = 0, train_values = 0;
    return absl::OkStatus();
  };
  models::TrainingLoopResult loop;
  VLARFT_RETURN_IF_ERROR(models::RunTrainingLoop(spec, /*start_step=*/0, optimizer, params, hooks,
                                                 [](const std::string&) {}, loop));
  return curve;
}

}  // namespace vlarft::studies
