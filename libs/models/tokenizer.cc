#include "libs/models/tokenizer.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "libs/core/config.h"
#include "libs/core/status.h"
#include "libs/core/tensor_codec.h"
#include "libs/models/checkpoint_util.h"

namespace vlarft::models {
namespace {

bool IsPowerOfTwo(int64_t x) { return x > 0 && (x & (x - 1)) == 0; }

int64_t Log2(int64_t x) {
  int64_t n = 0;
  while (x > 1) {
    x >>= 1;
    ++n;
  }
  return n;
}

torch::nn::Conv2d Conv(int64_t in, int64_t out, int64_t kernel) {
  return torch::nn::Conv2d(torch::nn::Conv2dOptions(in, out, kernel).padding(kernel / 2));
}

// The per-scale stack shared by encoders and decoders, finest scale first: where conditioned, a
// fuse with the context's features of that scale, then the residual blocks.
void AddScaleBlocks(const TokenizerConfig& config, int64_t scales, int64_t conditioned_scales,
                    torch::nn::ModuleList& fuses, torch::nn::ModuleList& blocks) {
  for (int64_t s = 0; s < scales; ++s) {
    const int64_t c = config.Channels(s);
    if (s < conditioned_scales) fuses->push_back(Fuse(c, c));
    torch::nn::Sequential seq;
    for (int64_t i = 0; i < config.res_blocks; ++i) seq->push_back(ResBlock(c, c));
    blocks->push_back(seq);
  }
}

// Cross-attention to the context at the coarsest conditioned scale, or none.
SpatialCrossAttention MakeContextCrossAttention(const TokenizerConfig& config, int64_t conditioned_scales) {
  if (conditioned_scales == 0 || !config.cross_attention) return nullptr;
  const int64_t c = config.Channels(conditioned_scales - 1);
  return SpatialCrossAttention(c, c);
}

}  // namespace

absl::Status TokenizerConfig::Validate() const {
  if (!IsPowerOfTwo(context_downsample) || !IsPowerOfTwo(future_downsample)) {
    return absl::InvalidArgumentError(absl::StrCat("context_downsample (", context_downsample,
                                                   ") and future_downsample (", future_downsample,
                                                   ") must be powers of two"));
  }
  if (!IsPowerOfTwo(patch_size) || patch_size > context_downsample) {
    return absl::InvalidArgumentError(absl::StrCat("patch_size ", patch_size,
                                                   " must be a power of two <= context_downsample"));
  }
  if (future_downsample < context_downsample) {
    return absl::InvalidArgumentError("future_downsample must be >= context_downsample (the future grid is smaller)");
  }
  if (image_size < future_downsample || image_size % future_downsample != 0) {
    return absl::InvalidArgumentError(absl::StrCat("image_size ", image_size, " is not a multiple of future_downsample ",
                                                   future_downsample));
  }
  if (base_channels < 1 || max_channels < base_channels || res_blocks < 1) {
    return absl::InvalidArgumentError("need 1 <= base_channels <= max_channels and res_blocks >= 1");
  }
  return Fsq::Create(fsq_levels).status();
}

int64_t TokenizerConfig::codebook_size() const {
  int64_t size = 1;
  for (int64_t level : fsq_levels) size *= level;
  return size;
}

int64_t TokenizerConfig::Channels(int64_t scale) const {
  return std::min(max_channels, base_channels << std::min<int64_t>(scale, 20));
}

int64_t TokenizerConfig::context_scales() const { return Log2(context_downsample / patch_size) + 1; }
int64_t TokenizerConfig::future_scales() const { return Log2(future_downsample / patch_size) + 1; }

FrameEncoderImpl::FrameEncoderImpl(const TokenizerConfig& config, int64_t scales, bool conditioned)
    : scales_(scales), conditioned_scales_(conditioned ? std::min(scales, config.context_scales()) : 0) {
  const int64_t dims = static_cast<int64_t>(config.fsq_levels.size());
  const int64_t p = config.patch_size;
  const int64_t in_channels = conditioned ? 6 : 3;  // [x, x − context] when conditioned
  stem = register_module("stem", p == 1 ? Conv(in_channels, config.Channels(0), 3)
                                        : torch::nn::Conv2d(torch::nn::Conv2dOptions(in_channels, config.Channels(0), p).stride(p)));
  blocks = register_module("blocks", torch::nn::ModuleList());
  downs = register_module("downs", torch::nn::ModuleList());
  fuses = register_module("fuses", torch::nn::ModuleList());
  AddScaleBlocks(config, scales_, conditioned_scales_, fuses, blocks);
  for (int64_t s = 0; s + 1 < scales_; ++s) downs->push_back(MakeDownsample(config.Channels(s), config.Channels(s + 1)));
  if (SpatialCrossAttention attention = MakeContextCrossAttention(config, conditioned_scales_)) {
    cross = register_module("cross", attention);
  }
  out_norm = register_module("out_norm", MakeGroupNorm(config.Channels(scales_ - 1)));
  out = register_module("out", Conv(config.Channels(scales_ - 1), dims, 1));
}

torch::Tensor FrameEncoderImpl::forward(const torch::Tensor& x, const torch::Tensor& context_image,
                                        const std::vector<torch::Tensor>& condition,
                                        std::vector<torch::Tensor>* features) {
  TORCH_CHECK(static_cast<int64_t>(condition.size()) >= conditioned_scales_, "encoder needs ", conditioned_scales_,
              " conditioning maps, got ", condition.size());
  torch::Tensor h = stem(conditioned_scales_ > 0 ? torch::cat({x, x - context_image}, 1) : x);
  for (int64_t s = 0; s < scales_; ++s) {
    if (s < conditioned_scales_) {
      h = fuses[s]->as<FuseImpl>()->forward(h, condition[s]);
      if (s == conditioned_scales_ - 1 && cross) h = cross(h, condition[s]);
    }
    h = blocks[s]->as<torch::nn::SequentialImpl>()->forward(h);
    if (features != nullptr) features->push_back(h);
    if (s + 1 < scales_) h = downs[s]->as<torch::nn::Conv2dImpl>()->forward(h);
  }
  return out(torch::silu(out_norm(h)));
}

FrameDecoderImpl::FrameDecoderImpl(const TokenizerConfig& config, int64_t scales, bool conditioned)
    : scales_(scales), conditioned_scales_(conditioned ? std::min(scales, config.context_scales()) : 0) {
  const int64_t dims = static_cast<int64_t>(config.fsq_levels.size());
  in = register_module("in", Conv(dims, config.Channels(scales_ - 1), 3));
  blocks = register_module("blocks", torch::nn::ModuleList());
  ups = register_module("ups", torch::nn::ModuleList());
  fuses = register_module("fuses", torch::nn::ModuleList());
  // Modules are listed finest scale first in every list, like the encoder's.
  AddScaleBlocks(config, scales_, conditioned_scales_, fuses, blocks);
  for (int64_t s = 0; s + 1 < scales_; ++s) ups->push_back(Upsample(config.Channels(s + 1), config.Channels(s)));
  if (SpatialCrossAttention attention = MakeContextCrossAttention(config, conditioned_scales_)) {
    cross = register_module("cross", attention);
  }
  out_norm = register_module("out_norm", MakeGroupNorm(config.Channels(0)));
  out = register_module("out", Conv(config.Channels(0), 3 * config.patch_size * config.patch_size, 3));
  patch_size_ = config.patch_size;
  if (conditioned && config.future_residual) {
    // The residual decoder starts near "nothing changed" (o_t + small), but not exactly: a zero
    // output layer would block the gradient to the codes, and the L1 loss then settles on its
    // median answer, "no change", before the codes learn to say what moved.
    torch::NoGradGuard no_grad;
    out->weight.mul_(0.1);
    out->bias.zero_();
  }
}

torch::Tensor FrameDecoderImpl::forward(const torch::Tensor& codes, const std::vector<torch::Tensor>& condition,
                                        std::vector<torch::Tensor>* features) {
  TORCH_CHECK(static_cast<int64_t>(condition.size()) >= conditioned_scales_, "decoder needs ", conditioned_scales_,
              " conditioning maps, got ", condition.size());
  std::vector<torch::Tensor> coarse_first;
  torch::Tensor h = in(codes);
  for (int64_t s = scales_ - 1; s >= 0; --s) {
    if (s < conditioned_scales_) {
      h = fuses[s]->as<FuseImpl>()->forward(h, condition[s]);
      if (s == conditioned_scales_ - 1 && cross) h = cross(h, condition[s]);
    }
    h = blocks[s]->as<torch::nn::SequentialImpl>()->forward(h);
    coarse_first.push_back(h);
    if (s > 0) h = ups[s - 1]->as<UpsampleImpl>()->forward(h);
  }
  if (features != nullptr) features->assign(coarse_first.rbegin(), coarse_first.rend());
  const torch::Tensor pixels = out(torch::silu(out_norm(h)));
  return patch_size_ == 1 ? pixels : torch::pixel_shuffle(pixels, patch_size_);
}

VideoTokenizerImpl::VideoTokenizerImpl(const TokenizerConfig& config)
    : config_(config), fsq_(Fsq::Create(config.fsq_levels).value()) {
  context_encoder = register_module("context_encoder", FrameEncoder(config_, config_.context_scales(), false));
  context_decoder = register_module("context_decoder", FrameDecoder(config_, config_.context_scales(), false));
  future_encoder = register_module("future_encoder", FrameEncoder(config_, config_.future_scales(), true));
  future_decoder = register_module("future_decoder", FrameDecoder(config_, config_.future_scales(), true));
}

torch::Device VideoTokenizerImpl::device() const { return parameters().front().device(); }

ContextEncoding ContextEncoding::Rows(int64_t start, int64_t count) const {
  ContextEncoding out{image.narrow(0, start, count), codes.narrow(0, start, count), indices.narrow(0, start, count), {}};
  for (const torch::Tensor& f : encoder_features) out.encoder_features.push_back(f.narrow(0, start, count));
  return out;
}

ContextEncoding ContextEncoding::Repeat(int64_t times) const {
  if (times == 1) return *this;
  ContextEncoding out{image.repeat_interleave(times, 0), codes.repeat_interleave(times, 0),
                      indices.repeat_interleave(times, 0), {}};
  for (const torch::Tensor& f : encoder_features) out.encoder_features.push_back(f.repeat_interleave(times, 0));
  return out;
}

ContextEncoding VideoTokenizerImpl::EncodeContext(const torch::Tensor& x) {
  ContextEncoding encoding;
  encoding.image = x;
  const torch::Tensor latent = context_encoder->forward(x, torch::Tensor(), {}, &encoding.encoder_features);
  encoding.codes = fsq_.Quantize(latent.permute({0, 2, 3, 1})).permute({0, 3, 1, 2});
  encoding.indices = fsq_.CodesToIndices(encoding.codes.permute({0, 2, 3, 1})).flatten(1);
  return encoding;
}

std::pair<torch::Tensor, torch::Tensor> VideoTokenizerImpl::EncodeFuture(const torch::Tensor& x,
                                                                         const ContextEncoding& context) {
  const int64_t times = x.size(0) / context.image.size(0);
  const ContextEncoding repeated = context.Repeat(times);
  const torch::Tensor latent = future_encoder->forward(x, repeated.image, repeated.encoder_features);
  const torch::Tensor codes = fsq_.Quantize(latent.permute({0, 2, 3, 1})).permute({0, 3, 1, 2});
  return {codes, fsq_.CodesToIndices(codes.permute({0, 2, 3, 1})).flatten(1)};
}

torch::Tensor VideoTokenizerImpl::DecodeContext(const torch::Tensor& codes) {
  return context_decoder->forward(codes, {});
}

torch::Tensor VideoTokenizerImpl::DecodeFuture(const torch::Tensor& codes, const ContextEncoding& context) {
  const int64_t times = codes.size(0) / context.image.size(0);
  const ContextEncoding repeated = context.Repeat(times);
  const torch::Tensor out = future_decoder->forward(codes, repeated.encoder_features);
  return config_.future_residual ? repeated.image + out : out;
}

torch::Tensor VideoTokenizerImpl::CodesFromIndices(const torch::Tensor& indices, int64_t grid) const {
  return fsq_.IndicesToCodes(indices).view({indices.size(0), grid, grid, fsq_.dims()}).permute({0, 3, 1, 2});
}

std::vector<torch::Tensor> VideoTokenizerImpl::MultiScaleFeatures(const torch::Tensor& x) {
  std::vector<torch::Tensor> features;
  context_encoder->forward(x, torch::Tensor(), {}, &features);
  return features;
}

torch::Tensor VideoTokenizerImpl::PerceptualDistance(const torch::Tensor& a, const torch::Tensor& b) {
  const std::vector<torch::Tensor> fa = MultiScaleFeatures(a);
  const std::vector<torch::Tensor> fb = MultiScaleFeatures(b);
  torch::Tensor total = torch::zeros({a.size(0)}, a.options());
  for (size_t s = 0; s < fa.size(); ++s) {
    const torch::Tensor na = fa[s] / (fa[s].norm(2, 1, /*keepdim=*/true) + 1e-10);
    const torch::Tensor nb = fb[s] / (fb[s].norm(2, 1, /*keepdim=*/true) + 1e-10);
    total = total + (na - nb).pow(2).sum(1).mean({1, 2});
  }
  return total / static_cast<double>(fa.size());
}

absl::Status VideoTokenizerImpl::CheckFrames(const torch::Tensor& frames, const std::string& field) const {
  core::TensorExpectation spec;
  spec.dtype = core::DType::kUInt8;
  std::vector<int64_t> shape(std::max<int64_t>(frames.defined() ? frames.dim() : 4, 3), -1);
  shape[shape.size() - 3] = config_.image_size;
  shape[shape.size() - 2] = config_.image_size;
  shape[shape.size() - 1] = 3;
  spec.shape = shape;
  if (!frames.defined()) return absl::InvalidArgumentError(absl::StrCat("field '", field, "' is missing"));
  return core::CheckTensor(field, frames, spec);
}

absl::StatusOr<ContextEncoding> VideoTokenizerImpl::TokenizeContext(const torch::Tensor& frames) {
  VLARFT_RETURN_IF_ERROR(CheckFrames(frames, "frames"));
  if (frames.dim() != 4) return absl::InvalidArgumentError("field 'frames' must be [B, H, W, 3]");
  return core::CatchTorchErrors("tokenizing context frames", [&] {
    torch::NoGradGuard no_grad;
    return EncodeContext(FramesToModel(frames, device()));
  });
}

absl::StatusOr<torch::Tensor> VideoTokenizerImpl::TokenizeFuture(const torch::Tensor& future,
                                                                 const torch::Tensor& context) {
  VLARFT_RETURN_IF_ERROR(CheckFrames(future, "future"));
  VLARFT_RETURN_IF_ERROR(CheckFrames(context, "context"));
  if (future.dim() != 5 || context.dim() != 4 || future.size(0) != context.size(0)) {
    return absl::InvalidArgumentError("need future [B, K, H, W, 3] and context [B, H, W, 3] with the same B");
  }
  return core::CatchTorchErrors("tokenizing future frames", [&] {
    torch::NoGradGuard no_grad;
    const ContextEncoding ctx = EncodeContext(FramesToModel(context, device()));
    const torch::Tensor x = FramesToModel(future.flatten(0, 1), device());
    return EncodeFuture(x, ctx).second.view({future.size(0), future.size(1), -1});
  });
}

absl::StatusOr<std::vector<torch::Tensor>> VideoTokenizerImpl::MultiScaleFeaturesOfFrames(const torch::Tensor& frames) {
  VLARFT_RETURN_IF_ERROR(CheckFrames(frames, "frames"));
  return core::CatchTorchErrors("computing tokenizer features", [&] {
    return MultiScaleFeatures(FramesToModel(frames.reshape({-1, config_.image_size, config_.image_size, 3}), device()));
  });
}

torch::Tensor FramesToModel(const torch::Tensor& frames, const torch::Device& device) {
  const int64_t d = frames.dim();
  // Contiguous NCHW: a channels-last view would make LibTorch run every convolution in that
  // layout, which on CPU (1.13) is several times slower for these narrow layers.
  return (frames.to(device).movedim(d - 1, d - 3).to(torch::kFloat32) / 127.5 - 1.0).contiguous();
}

torch::Tensor ModelToFrames(const torch::Tensor& images) {
  const int64_t d = images.dim();
  return ((images.detach().to(torch::kCPU, torch::kFloat32) + 1.0) * 127.5)
      .round()
      .clamp(0, 255)
      .to(torch::kUInt8)
      .movedim(d - 3, d - 1)
      .contiguous();
}

torch::Tensor RoundTripFutureFrames(VideoTokenizerImpl& tokenizer, const torch::Tensor& context,
                                    const torch::Tensor& frames) {
  torch::NoGradGuard no_grad;
  const torch::Device device = tokenizer.device();
  const ContextEncoding ctx = tokenizer.EncodeContext(FramesToModel(context.unsqueeze(0), device));
  const torch::Tensor flat = frames.reshape({-1, frames.size(-3), frames.size(-2), 3});
  const torch::Tensor codes = tokenizer.EncodeFuture(FramesToModel(flat, device), ctx).first;
  return ModelToFrames(tokenizer.DecodeFuture(codes, ctx)).reshape(frames.sizes());
}

ModelSidecar TokenizerSidecar(const VideoTokenizer& tokenizer, int64_t step) {
  ModelSidecar sidecar;
  sidecar.kind = "tokenizer";
  sidecar.step = step;
  sidecar.config = core::ConfigToYaml(tokenizer->config());
  sidecar.extra["codebook_size"] = tokenizer->config().codebook_size();
  sidecar.extra["context_tokens"] = tokenizer->config().context_tokens();
  sidecar.extra["future_tokens"] = tokenizer->config().future_tokens();
  return sidecar;
}

absl::Status SaveTokenizer(const std::string& stem, const VideoTokenizer& tokenizer, int64_t step,
                           torch::Dtype storage_dtype) {
  return SaveModelAs(stem, *tokenizer, TokenizerSidecar(tokenizer, step), storage_dtype);
}

absl::StatusOr<VideoTokenizer> LoadTokenizer(const std::string& stem, const torch::Device& device) {
  VLARFT_ASSIGN_OR_RETURN(ModelSidecar sidecar, ReadModelSidecar(stem, "tokenizer"));
  TokenizerConfig config;
  VLARFT_RETURN_IF_ERROR(core::Annotate(core::BindConfig(sidecar.config, &config, "tokenizer"), stem + ".yaml"));
  VLARFT_ASSIGN_OR_RETURN(VideoTokenizer tokenizer, core::CatchTorchErrors("building the tokenizer", [&] {
                            return VideoTokenizer(config);
                          }));
  VLARFT_RETURN_IF_ERROR(LoadModelWeightsConverting(stem, *tokenizer));
  tokenizer->to(device);
  tokenizer->eval();
  return tokenizer;
}

}  // namespace vlarft::models
