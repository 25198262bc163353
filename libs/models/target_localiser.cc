#include "libs/models/target_localiser.h"

#include <cmath>

#include "absl/strings/str_cat.h"

#include "libs/models/conv_blocks.h"

namespace vlarft::models {
namespace {

torch::nn::Conv2d Conv3x3(int64_t in, int64_t out, int64_t stride = 1, int64_t dilation = 1) {
  return torch::nn::Conv2d(
      torch::nn::Conv2dOptions(in, out, 3).stride(stride).padding(dilation).dilation(dilation));
}

torch::nn::Conv2d Conv1x1(int64_t in, int64_t out) { return torch::nn::Conv2d(torch::nn::Conv2dOptions(in, out, 1)); }

// A cosine of 1 against 0 elsewhere weighs e^sharpness more: 5 is a soft start, 40 lets one cell
// take nearly all the mass (ratios e^40 between the best and a neutral cell) without an unbounded logit.
constexpr double kInitialSharpness = 5.0;
constexpr double kMaxSharpness = 40.0;

}  // namespace

absl::Status TargetLocaliserOptions::Validate() const {
  if (channels < 2 || channels % 2 != 0) {
    return absl::InvalidArgumentError(absl::StrCat("heat-map localiser channels must be even and >= 2, got ", channels));
  }
  if (vocab_size < 1 || max_tokens < 1 || proprio_dim < 1) {
    return absl::InvalidArgumentError("heat-map localiser: vocab_size, max_tokens and proprio_dim must be positive");
  }
  if (scene_channels < 0) {
    return absl::InvalidArgumentError(absl::StrCat("heat-map localiser scene channels must be >= 0, got ", scene_channels));
  }
  return absl::OkStatus();
}

TargetLocaliserImpl::TargetLocaliserImpl(const TargetLocaliserOptions& options) : options_(options) {
  const absl::Status valid = options_.Validate();
  TORCH_CHECK(valid.ok(), std::string(valid.message()));
  const int64_t c = options_.channels;
  word_embed = register_module("word_embed", torch::nn::Embedding(std::max<int64_t>(options_.vocab_size, 1), c));
  word_pos_ = register_parameter("word_pos", torch::randn({1, options_.max_tokens, c}) * 0.02);
  token_mlp = register_module("token_mlp", torch::nn::Linear(c, c));
  query_hidden = register_module("query_hidden", torch::nn::Linear(c + options_.proprio_dim, 2 * c));
  query_out = register_module("query_out", torch::nn::Linear(2 * c, 3 * c));  // FiLM scale, shift; query
  full = register_module("full", Conv3x3(5, c / 2));
  half = register_module("half", Conv3x3(c / 2, c, /*stride=*/2));
  local = register_module("local", Conv3x3(c, c));
  quarter = register_module("quarter", Conv3x3(c, c, /*stride=*/2));
  dilated2 = register_module("dilated2", Conv3x3(c, c, 1, 2));
  dilated4 = register_module("dilated4", Conv3x3(c, c, 1, 4));
  fuse = register_module("fuse", Conv1x1(2 * c + 2, c));
  features = register_module("features", Conv1x1(c, c));
  if (options_.scene_channels > 0) {
    const int64_t s = options_.scene_channels;
    scene = register_module("scene", Conv1x1(c, s));
    scene_hidden = register_module("scene_hidden", torch::nn::Linear(c + options_.proprio_dim + 2 * s, 2 * c));
    scene_out = register_module("scene_out", torch::nn::Linear(2 * c, c));
  }
  calibration = register_module("calibration", torch::nn::Linear(2, 2));
  log_sharpness_ = register_parameter("log_sharpness", torch::full({1}, std::log(kInitialSharpness)));
  torch::NoGradGuard no_grad;
  // Image columns grow with table x, image rows against table y (the camera looks down with y away
  // from it): start from that orientation so the first gradients already point the right way.
  calibration->weight.copy_(torch::tensor({{1.0f, 0.0f}, {0.0f, -1.0f}}));
  calibration->bias.zero_();
  if (scene_out) {
    scene_out->weight.zero_();
    scene_out->bias.zero_();
  }
}

torch::Tensor TargetLocaliserImpl::forward(const torch::Tensor& pixels, const torch::Tensor& ids,
                                           const torch::Tensor& mask, const torch::Tensor& proprio,
                                           torch::Tensor* heatmap) {
  namespace F = torch::nn::functional;
  TORCH_CHECK(pixels.dim() == 4 && pixels.size(2) % 4 == 0 && pixels.size(3) % 4 == 0,
              "target localiser: frames must be [B, 3, S, S] with S divisible by 4");
  TORCH_CHECK(ids.size(1) <= options_.max_tokens, "target localiser: instruction longer than max_tokens");

  // Order-aware instruction summary: the per-token nonlinearity sees (word, position) together.
  const torch::Tensor tokens = torch::silu(token_mlp(word_embed(ids) + word_pos_.narrow(1, 0, ids.size(1))));
  const torch::Tensor weights = mask.to(tokens.scalar_type()).unsqueeze(-1);
  const torch::Tensor instruction = (tokens * weights).sum(1) / weights.sum(1).clamp_min(1.0);
  const torch::Tensor conditioning =
      query_out(torch::silu(query_hidden(torch::cat({instruction, proprio.to(instruction.scalar_type())}, 1))));
  const auto parts = conditioning.chunk(3, 1);
  const torch::Tensor scale = parts[0].unsqueeze(-1).unsqueeze(-1), shift = parts[1].unsqueeze(-1).unsqueeze(-1);
  torch::Tensor query = parts[2];

  torch::Tensor x = torch::silu(full(AppendCoordinateChannels(pixels)));
  x = torch::silu(half(x));
  const torch::Tensor local_features = torch::silu(local(x) * (1 + scale) + shift);
  torch::Tensor context = torch::silu(quarter(local_features));
  context = torch::silu(dilated2(context));
  context = torch::silu(dilated4(context));
  context = F::interpolate(context, F::InterpolateFuncOptions()
                                        .size(std::vector<int64_t>{local_features.size(2), local_features.size(3)})
                                        .mode(torch::kNearest));
  const torch::Tensor fused_hidden = torch::silu(fuse(AppendCoordinateChannels(torch::cat({local_features, context}, 1))));
  const torch::Tensor fused = features(fused_hidden);
  if (scene) {
    // What the whole frame shows, as seen through the instruction's FiLM: the max says whether a
    // pattern (the first object sitting in its receptacle) is anywhere, the mean how much of it.
    const torch::Tensor scene_map = scene(fused_hidden);
    const torch::Tensor pooled = torch::cat({scene_map.amax({2, 3}), scene_map.mean({2, 3})}, 1);
    query = query + scene_out(torch::silu(scene_hidden(
                        torch::cat({instruction, proprio.to(instruction.scalar_type()), pooled.to(instruction.scalar_type())}, 1))));
  }

  // Scores in float32: the softmax over ~1000 positions is where bf16 rounding would show.
  const torch::Tensor unit_features = torch::nn::functional::normalize(
      fused.to(torch::kFloat32), torch::nn::functional::NormalizeFuncOptions().dim(1).eps(1e-6));
  const torch::Tensor unit_query = torch::nn::functional::normalize(
      query.to(torch::kFloat32), torch::nn::functional::NormalizeFuncOptions().dim(1).eps(1e-6));
  const torch::Tensor sharpness = log_sharpness_.clamp_max(std::log(kMaxSharpness)).exp();
  const torch::Tensor scores =
      sharpness * (unit_features * unit_query.unsqueeze(-1).unsqueeze(-1)).sum(1, /*keepdim=*/true);
  if (heatmap != nullptr) {
    *heatmap = torch::softmax(scores.flatten(1), -1).view({scores.size(0), scores.size(2), scores.size(3)});
  }
  const torch::Tensor uv = SpatialSoftmaxCoordinates(scores);  // [B, 2]: expected column x, then row y
  return calibration(uv);
}

torch::Tensor TargetLocaliserImpl::ExpectedSquaredError(const torch::Tensor& heatmap, const torch::Tensor& target) {
  TORCH_CHECK(heatmap.dim() == 3 && target.dim() == 2 && target.size(1) == 2 && heatmap.size(0) == target.size(0),
              "target localiser: need a heat map [B, h, w] and targets [B, 2]");
  const int64_t h = heatmap.size(1), w = heatmap.size(2);
  const auto options = heatmap.options().dtype(torch::kFloat32);
  // Cell centres on the same [-1, 1] grid SpatialSoftmaxCoordinates uses, then calibrated.
  const torch::Tensor xs = torch::linspace(-1.0, 1.0, w, options).view({1, w}).expand({h, w});
  const torch::Tensor ys = torch::linspace(-1.0, 1.0, h, options).view({h, 1}).expand({h, w});
  // The calibration is held fixed here: through the cells, shrinking it would shrink the spread
  // term, a degenerate way down (every cell mapped onto one point). The estimate's error trains it.
  torch::Tensor cells;
  {
    torch::NoGradGuard no_grad;
    cells = calibration(torch::stack({xs, ys}, -1).view({h * w, 2})).to(torch::kFloat32);  // [hw, 2]
  }
  const torch::Tensor squared = (cells.unsqueeze(0) - target.to(torch::kFloat32).unsqueeze(1)).pow(2).sum(-1);  // [B, hw]
  return (heatmap.to(torch::kFloat32).flatten(1) * squared).sum(1);
}

torch::Tensor TargetLocaliserImpl::TrainingSquaredError(const torch::Tensor& estimate, const torch::Tensor& heatmap,
                                                        const torch::Tensor& target) {
  const torch::Tensor squared = (estimate.to(torch::kFloat32) - target.to(torch::kFloat32)).pow(2).sum(1);
  return 0.5 * (squared + ExpectedSquaredError(heatmap, target));
}

}  // namespace vlarft::models
