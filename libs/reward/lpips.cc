#include "libs/reward/lpips.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "libs/core/safetensors.h"
#include "libs/core/state_dict.h"
#include "libs/core/status.h"

namespace vlarft::reward {
namespace {

// One entry of torchvision's `features` Sequential. Indices in the Sequential are the indices in
// torchvision, so parameter names come out as "features.<index>.weight".
struct Layer {
  enum Kind { kConv, kRelu, kPool } kind;
  int64_t in = 0, out = 0, kernel = 0, stride = 1, padding = 0;
};

Layer Conv(int64_t in, int64_t out, int64_t kernel, int64_t stride, int64_t padding) {
  return {Layer::kConv, in, out, kernel, stride, padding};
}
Layer Relu() { return {Layer::kRelu}; }
Layer Pool(int64_t kernel, int64_t stride) { return {Layer::kPool, 0, 0, kernel, stride, 0}; }

// torchvision.models.vgg16().features[:30] and alexnet().features[:12]: everything up to the last
// LPIPS tap (the trailing max-pool has no parameters and no tap after it).
std::vector<Layer> BackboneLayers(LpipsBackbone backbone) {
  if (backbone == LpipsBackbone::kVgg16) {
    return {Conv(3, 64, 3, 1, 1),    Relu(), Conv(64, 64, 3, 1, 1),   Relu(), Pool(2, 2),
            Conv(64, 128, 3, 1, 1),  Relu(), Conv(128, 128, 3, 1, 1), Relu(), Pool(2, 2),
            Conv(128, 256, 3, 1, 1), Relu(), Conv(256, 256, 3, 1, 1), Relu(), Conv(256, 256, 3, 1, 1),
            Relu(),                  Pool(2, 2),                      Conv(256, 512, 3, 1, 1), Relu(),
            Conv(512, 512, 3, 1, 1), Relu(), Conv(512, 512, 3, 1, 1), Relu(), Pool(2, 2),
            Conv(512, 512, 3, 1, 1), Relu(), Conv(512, 512, 3, 1, 1), Relu(), Conv(512, 512, 3, 1, 1),
            Relu()};
  }
  return {Conv(3, 64, 11, 4, 2),    Relu(), Pool(3, 2), Conv(64, 192, 5, 1, 2), Relu(), Pool(3, 2),
          Conv(192, 384, 3, 1, 1),  Relu(), Conv(384, 256, 3, 1, 1), Relu(), Conv(256, 256, 3, 1, 1),
          Relu()};
}

std::vector<int64_t> TapIndices(LpipsBackbone backbone) {
  if (backbone == LpipsBackbone::kVgg16) return {3, 8, 15, 22, 29};  // relu1_2 .. relu5_3
  return {1, 4, 7, 9, 11};                                           // relu1 .. relu5
}

// Adapts the network to the extractor interface so LPIPS reuses FeatureDistance.
class LpipsTaps : public MultiScaleFeatureExtractor {
 public:
  explicit LpipsTaps(LpipsNetwork network) : network_(std::move(network)) {}
  std::vector<torch::Tensor> Features(const torch::Tensor& images) override { return network_->Taps(images); }

 private:
  LpipsNetwork network_;
};

}  // namespace

const char* LpipsBackboneName(LpipsBackbone backbone) {
  return backbone == LpipsBackbone::kVgg16 ? "vgg16" : "alexnet";
}

int64_t LpipsMinImageSize(LpipsBackbone backbone) { return backbone == LpipsBackbone::kVgg16 ? 16 : 31; }

LpipsNetworkImpl::LpipsNetworkImpl(LpipsBackbone backbone) : backbone_(backbone), tap_after_(TapIndices(backbone)) {
  features_ = torch::nn::Sequential();
  std::vector<int64_t> tap_channels;
  int64_t channels = 3;
  for (const Layer& layer : BackboneLayers(backbone)) {
    switch (layer.kind) {
      case Layer::kConv:
        features_->push_back(torch::nn::Conv2d(torch::nn::Conv2dOptions(layer.in, layer.out, layer.kernel)
                                                   .stride(layer.stride)
                                                   .padding(layer.padding)));
        channels = layer.out;
        break;
      case Layer::kRelu:
        features_->push_back(torch::nn::ReLU());
        break;
      case Layer::kPool:
        features_->push_back(
            torch::nn::MaxPool2d(torch::nn::MaxPool2dOptions(layer.kernel).stride(layer.stride)));
        break;
    }
    const int64_t index = static_cast<int64_t>(features_->size()) - 1;
    for (int64_t tap : tap_after_) {
      if (tap == index) tap_channels.push_back(channels);
    }
  }
  // Named "net" so the backbone's tensors read "net.features.<i>.*", as in the LPIPS package.
  auto net = std::make_shared<torch::nn::Module>();
  net->register_module("features", features_);
  register_module("net", net);
  for (size_t i = 0; i < tap_channels.size(); ++i) {
    lins_.push_back(register_module(absl::StrCat("lin", i),
                                    torch::nn::Conv2d(torch::nn::Conv2dOptions(tap_channels[i], 1, 1).bias(false))));
  }
}

std::vector<torch::Tensor> LpipsNetworkImpl::Taps(const torch::Tensor& images) {
  const auto options = images.options();
  const torch::Tensor shift = torch::tensor({-0.030, -0.088, -0.188}, options).view({1, 3, 1, 1});
  const torch::Tensor scale = torch::tensor({0.458, 0.448, 0.450}, options).view({1, 3, 1, 1});
  // LPIPS expects [−1, 1] inputs (its normalize=True maps [0, 1] there), then its ScalingLayer.
  torch::Tensor x = (images * 2.0 - 1.0 - shift) / scale;
  std::vector<torch::Tensor> taps;
  taps.reserve(tap_after_.size());
  int64_t index = 0;
  for (auto& layer : *features_) {
    x = layer.forward(x);
    if (taps.size() < tap_after_.size() && index == tap_after_[taps.size()]) taps.push_back(x);
    ++index;
  }
  return taps;
}

std::vector<torch::Tensor> LpipsNetworkImpl::LinearWeights() const {
  std::vector<torch::Tensor> weights;
  for (const auto& lin : lins_) weights.push_back(lin->weight.reshape({-1}));
  return weights;
}

absl::StatusOr<LpipsNetwork> LoadLpipsNetwork(const std::string& weights_path, LpipsBackbone backbone,
                                              torch::Device device) {
  const std::string what = absl::StrCat("LPIPS ", LpipsBackboneName(backbone), " weights '", weights_path, "'");
  if (weights_path.empty()) {
    return absl::InvalidArgumentError(
        "LPIPS weights path is empty: convert the official weights with tools/convert_lpips_weights.py");
  }
  absl::StatusOr<core::SafetensorsFile> file = core::SafetensorsFile::Open(weights_path);
  if (!file.ok()) return core::Annotate(file.status(), what);
  const auto backbone_meta = file->metadata().find("backbone");
  if (backbone_meta != file->metadata().end() && backbone_meta->second != LpipsBackboneName(backbone)) {
    return absl::InvalidArgumentError(absl::StrCat(what, ": the file is for backbone '", backbone_meta->second,
                                                   "', not '", LpipsBackboneName(backbone), "'"));
  }
  absl::StatusOr<LpipsNetwork> network =
      core::CatchTorchErrors(what, [&]() { return LpipsNetwork(backbone); });
  if (!network.ok()) return network.status();
  absl::Status loaded = core::LoadModuleState(*file, **network);
  if (!loaded.ok()) return core::Annotate(loaded, what);

  absl::Status sane = core::CatchTorchErrorsVoid(what, [&]() {
    torch::NoGradGuard no_grad;
    for (const auto& [name, tensor] : core::NamedStateTensors(**network)) {
      TORCH_CHECK(torch::isfinite(tensor).all().item<bool>(), "tensor '", name, "' contains NaN or Inf");
    }
    const std::vector<torch::Tensor> lins = (*network)->LinearWeights();
    for (size_t i = 0; i < lins.size(); ++i) {
      // LPIPS trains its linear layers clamped to >= 0 (a distance must not reward differences);
      // negative values mean the file holds something else.
      TORCH_CHECK(lins[i].min().item<float>() >= 0, "lin", i,
                  ".weight has negative entries; LPIPS linear weights are non-negative");
    }
    (*network)->to(device);
    (*network)->eval();
    for (auto& parameter : (*network)->parameters()) parameter.set_requires_grad(false);
  });
  if (!sane.ok()) return sane;
  return network;
}

absl::StatusOr<std::unique_ptr<PerceptualDistance>> LoadLpipsDistance(const std::string& weights_path,
                                                                      LpipsBackbone backbone,
                                                                      torch::Device device) {
  absl::StatusOr<LpipsNetwork> network = LoadLpipsNetwork(weights_path, backbone, device);
  if (!network.ok()) return network.status();
  FeatureDistance::Options options;
  options.name = backbone == LpipsBackbone::kVgg16 ? "lpips-vgg" : "lpips-alex";
  options.channel_weights = (*network)->LinearWeights();
  options.reduction = ScaleReduction::kSum;
  options.min_image_size = LpipsMinImageSize(backbone);
  return std::unique_ptr<PerceptualDistance>(
      std::make_unique<FeatureDistance>(std::make_shared<LpipsTaps>(*network), std::move(options)));
}

}  // namespace vlarft::reward
