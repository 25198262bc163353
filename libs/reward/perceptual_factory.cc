#include "libs/reward/perceptual_factory.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "libs/core/status.h"
#include "libs/core/device.h"
#include "libs/reward/image_metrics.h"
#include "libs/reward/lpips.h"

namespace vlarft::reward {

absl::StatusOr<std::unique_ptr<PerceptualDistance>> MakePerceptualDistance(
    const RewardConfig& config, std::shared_ptr<MultiScaleFeatureExtractor> tokenizer_features) {
  VLARFT_RETURN_IF_ERROR(config.Validate());
  VLARFT_ASSIGN_OR_RETURN(const torch::Device device, core::ParseDevice(config.device, "scoring.device"));
  switch (config.perceptual_kind()) {
    case PerceptualKind::kNone:
      return std::unique_ptr<PerceptualDistance>();
    case PerceptualKind::kSsim:
      return MakeSsimDistance();
    case PerceptualKind::kTokenizer:
      if (tokenizer_features == nullptr) {
        return absl::FailedPreconditionError(
            "perceptual 'tokenizer' needs the world-model tokenizer's encoder features, and none was "
            "given: load the tokenizer checkpoint, or choose perceptual: lpips-vgg (with lpips_weights) "
            "or ssim");
      }
      return MakeTokenizerDistance(std::move(tokenizer_features));
    case PerceptualKind::kLpipsVgg:
    case PerceptualKind::kLpipsAlex: {
      const LpipsBackbone backbone =
          config.perceptual_kind() == PerceptualKind::kLpipsVgg ? LpipsBackbone::kVgg16 : LpipsBackbone::kAlexNet;
      absl::StatusOr<std::unique_ptr<PerceptualDistance>> lpips =
          LoadLpipsDistance(config.lpips_weights, backbone, device);
      if (!lpips.ok()) {
        return core::Annotate(lpips.status(),
                              absl::StrCat("perceptual '", config.perceptual,
                                           "' (set lpips_weights to a file from tools/convert_lpips_weights.py, "
                                           "or choose perceptual: tokenizer)"));
      }
      return lpips;
    }
  }
  return absl::InternalError("unhandled perceptual kind");
}

}  // namespace vlarft::reward
