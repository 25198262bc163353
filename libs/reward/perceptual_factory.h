// Builds the perceptual distance a RewardConfig asks for, failing at startup rather than scoring
// with something the user did not configure.
#pragma once

#include <memory>

#include "absl/status/statusor.h"
#include "libs/reward/feature_distance.h"
#include "libs/reward/perceptual_distance.h"
#include "libs/reward/reward_config.h"

namespace vlarft::reward {

// perceptual = lpips-vgg / lpips-alex: loads config.lpips_weights onto config.device (errors: no
//   path, missing file, missing/extra/mismatched tensors — never a random network).
// perceptual = tokenizer: needs `tokenizer_features`, the world-model tokenizer encoder's
//   extractor (on config.device); FAILED_PRECONDITION without one.
// perceptual = ssim: 1 − SSIM.  perceptual = none: returns nullptr (D_p ≡ 0).
absl::StatusOr<std::unique_ptr<PerceptualDistance>> MakePerceptualDistance(
    const RewardConfig& config, std::shared_ptr<MultiScaleFeatureExtractor> tokenizer_features = nullptr);

}  // namespace vlarft::reward
