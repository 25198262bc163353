// Configuration of the reward verifier's scoring (docs/architecture.md, "The math and where it lives").
//
//   ℓ_t = w_l1·mean|o_t − ô_t| + w_perceptual·D_p(o_t, ô_t)      pixels in [0, 1]
//   R   = −aggregate_t ℓ_t                                         aggregate ∈ {mean, last, discounted}
//
// Reward types (config names; numbers match vlarft.v1.RewardType and are accepted in configs too):
//   action_l1                    1  R = −mean_{t,d} |a_{t,d} − a^expert_{t,d}|  (no world model, no aggregation)
//   imagined_vs_real             2  imagined frames vs the real dataset frames that followed the prompt
//   imagined_vs_imagined_expert  3  imagined frames vs the frames the same world model imagined for the
//                                   expert's chunk (the paper's reward, the default)
// Types 2 and 3 are one computation with a different reference (see reward.h).
#pragma once

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "libs/core/config.h"
#include "libs/core/torch_compat.h"

namespace vlarft::reward {

enum class RewardType : int {
  kUnspecified = 0,  // "use the configured default" (a request's value, never a config's)
  kActionL1 = 1,
  kImaginedVsReal = 2,
  kImaginedVsImaginedExpert = 3,
};

}  // namespace vlarft::reward

namespace vlarft::core {
template <>
struct EnumNames<reward::RewardType> {
  static constexpr std::pair<reward::RewardType, const char*> kEntries[] = {
      {reward::RewardType::kActionL1, "action_l1"},
      {reward::RewardType::kImaginedVsReal, "imagined_vs_real"},
      {reward::RewardType::kImaginedVsImaginedExpert, "imagined_vs_imagined_expert"},
  };
};
}  // namespace vlarft::core

namespace vlarft::reward {

// How per-frame losses ℓ_0..ℓ_{T−1} (index 0 = first imagined frame) become one number per sample:
//   mean:        (1/T) Σ_t ℓ_t
//   last:        ℓ_{T−1}
//   discounted:  Σ_t γ^t ℓ_t / Σ_t γ^t
// The discounted form is a *normalised* weighted mean, so it stays on the same scale as `mean`
// (it equals `mean` at γ = 1 and `ℓ_0` as γ → 0) whatever T and γ are; reward magnitudes, the
// verifier's histograms and the w_* weights therefore mean the same thing across horizons. Early
// frames weigh more because world-model errors compound with the imagination horizon, so late
// frames are the least trustworthy evidence about the action chunk.
enum class FrameAggregation { kMean, kLast, kDiscounted };

enum class PerceptualKind {
  kNone,       // D_p ≡ 0: an L1-only reward
  kLpipsVgg,   // LPIPS, VGG16 backbone (weights from `lpips_weights`)
  kLpipsAlex,  // LPIPS, AlexNet backbone (weights from `lpips_weights`)
  kTokenizer,  // LPIPS-style distance over the world-model tokenizer encoder's features
  kSsim,       // 1 − SSIM
};

struct RewardConfig {
  RewardType type = RewardType::kImaginedVsImaginedExpert;
  double w_l1 = 1.0;
  double w_perceptual = 1.0;
  std::string aggregation = "mean";
  double gamma = 0.95;
  std::string perceptual = "tokenizer";
  std::string lpips_weights;
  std::string device = "cpu";

  template <typename V>
  void VisitFields(V& v) {
    v.Field("type", type,
            "default reward type: action_l1 | imagined_vs_real | imagined_vs_imagined_expert (or 1 | 2 | 3)");
    v.Field("w_l1", w_l1, "weight of the per-frame mean absolute pixel error");
    v.Field("w_perceptual", w_perceptual, "weight of the per-frame perceptual distance");
    v.Field("aggregation", aggregation, "per-frame losses to one reward: mean | last | discounted");
    v.Field("gamma", gamma, "discount for aggregation=discounted: sum g^t l_t / sum g^t, t=0 first frame");
    v.Field("perceptual", perceptual, "perceptual distance: tokenizer | lpips-vgg | lpips-alex | ssim | none");
    v.Field("lpips_weights", lpips_weights,
            "safetensors file with LPIPS weights (tools/convert_lpips_weights.py); required for lpips-*");
    v.Field("device", device, "device the scoring runs on: cpu | cuda | cuda:N");
  }
  // INVALID_ARGUMENT naming the offending field.
  absl::Status Validate() const;

  // Typed views; valid only after Validate() succeeded.
  FrameAggregation frame_aggregation() const;
  PerceptualKind perceptual_kind() const;
};

absl::StatusOr<FrameAggregation> ParseFrameAggregation(const std::string& name);
absl::StatusOr<PerceptualKind> ParsePerceptualKind(const std::string& name);
const char* PerceptualKindName(PerceptualKind kind);  // "lpips-vgg", ... (the config spelling)

}  // namespace vlarft::reward
