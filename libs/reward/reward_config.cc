#include "libs/reward/reward_config.h"

#include "libs/core/device.h"

#include <cmath>

#include "absl/strings/str_cat.h"
#include "libs/core/status.h"

namespace vlarft::reward {

absl::StatusOr<FrameAggregation> ParseFrameAggregation(const std::string& name) {
  if (name == "mean") return FrameAggregation::kMean;
  if (name == "last") return FrameAggregation::kLast;
  if (name == "discounted") return FrameAggregation::kDiscounted;
  return absl::InvalidArgumentError(
      absl::StrCat("aggregation must be mean, last or discounted, got '", name, "'"));
}

absl::StatusOr<PerceptualKind> ParsePerceptualKind(const std::string& name) {
  if (name == "none") return PerceptualKind::kNone;
  if (name == "lpips-vgg") return PerceptualKind::kLpipsVgg;
  if (name == "lpips-alex") return PerceptualKind::kLpipsAlex;
  if (name == "tokenizer") return PerceptualKind::kTokenizer;
  if (name == "ssim") return PerceptualKind::kSsim;
  return absl::InvalidArgumentError(absl::StrCat(
      "perceptual must be tokenizer, lpips-vgg, lpips-alex, ssim or none, got '", name, "'"));
}

const char* PerceptualKindName(PerceptualKind kind) {
  switch (kind) {
    case PerceptualKind::kNone: return "none";
    case PerceptualKind::kLpipsVgg: return "lpips-vgg";
    case PerceptualKind::kLpipsAlex: return "lpips-alex";
    case PerceptualKind::kTokenizer: return "tokenizer";
    case PerceptualKind::kSsim: return "ssim";
  }
  return "unknown";
}

FrameAggregation RewardConfig::frame_aggregation() const {
  return ParseFrameAggregation(aggregation).value_or(FrameAggregation::kMean);
}

PerceptualKind RewardConfig::perceptual_kind() const {
  return ParsePerceptualKind(perceptual).value_or(PerceptualKind::kNone);
}

absl::Status RewardConfig::Validate() const {
  if (type == RewardType::kUnspecified) {
    return absl::InvalidArgumentError(absl::StrCat("type must be one of ", core::EnumNameList<RewardType>()));
  }
  for (const auto& [name, value] : {std::pair<const char*, double>{"w_l1", w_l1},
                                    std::pair<const char*, double>{"w_perceptual", w_perceptual}}) {
    if (!std::isfinite(value) || value < 0) {
      return absl::InvalidArgumentError(absl::StrCat(name, " must be finite and >= 0, got ", value));
    }
  }
  // Both weights zero would make every frame reward 0: GRPO would see flat groups forever.
  if (w_l1 == 0 && w_perceptual == 0) {
    return absl::InvalidArgumentError("w_l1 and w_perceptual are both 0: frame rewards would be constant");
  }
  absl::Status aggregation_ok = ParseFrameAggregation(aggregation).status();
  if (!aggregation_ok.ok()) return aggregation_ok;
  if (!std::isfinite(gamma) || gamma <= 0 || gamma > 1) {
    return absl::InvalidArgumentError(absl::StrCat("gamma must be in (0, 1], got ", gamma));
  }
  absl::StatusOr<PerceptualKind> kind = ParsePerceptualKind(perceptual);
  if (!kind.ok()) return kind.status();
  if ((*kind == PerceptualKind::kLpipsVgg || *kind == PerceptualKind::kLpipsAlex) &&
      lpips_weights.empty()) {
    // The reference implementation fell back to a random VGG here; a random network is not a
    // reward, so this is a startup error.
    return absl::InvalidArgumentError(absl::StrCat(
        "perceptual '", perceptual,
        "' needs lpips_weights: set it to a safetensors file made by tools/convert_lpips_weights.py "
        "from the official LPIPS weights, or choose perceptual: tokenizer (or ssim)"));
  }
  // Spelling only: whether this machine has the device is asked where the scorer is built, so a
  // GPU configuration can be validated on a CPU machine (--validate=config).
  return core::ParseDeviceName(device, "device").status();
}

}  // namespace vlarft::reward
