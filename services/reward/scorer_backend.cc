#include "services/reward/scorer_backend.h"

#include "absl/strings/str_cat.h"
#include "libs/core/device.h"
#include "libs/core/status.h"
#include "services/common/reward_type_proto.h"

namespace vlarft::services {

absl::StatusOr<ScoreResults> ScorerBackend::ScoreBatch(const std::vector<const ScoreJob*>& jobs) {
  std::vector<reward::RewardRequest> requests;
  for (const ScoreJob* job : jobs) {
    reward::RewardRequest r;
    r.type = RewardTypeFromProto(job->type);
    r.frames = job->frames;
    r.reference_frames = job->reference_frames;
    r.actions = job->actions;
    r.reference_actions = job->reference_actions;
    requests.push_back(std::move(r));
  }
  VLARFT_ASSIGN_OR_RETURN(std::vector<reward::RewardBreakdown> scored, scorer_->ScoreBatch(requests));
  ScoreResults out;
  for (reward::RewardBreakdown& b : scored) out.push_back(ScoreResult{b.rewards, b.l1, b.perceptual, b.per_frame});
  return out;
}

absl::StatusOr<std::unique_ptr<ScorerBackend>> LoadScorerBackend(const reward::RewardConfig& config,
                                                                 const std::string& tokenizer_stem, int64_t frame_size,
                                                                 int64_t max_group_size, int64_t max_frames) {
  std::shared_ptr<reward::MultiScaleFeatureExtractor> features;
  if (config.perceptual == "tokenizer") {
    if (tokenizer_stem.empty()) {
      return absl::InvalidArgumentError(
          "reward.perceptual is 'tokenizer' but reward.tokenizer_checkpoint is empty; set it or choose lpips/ssim");
    }
    VLARFT_ASSIGN_OR_RETURN(const torch::Device device, core::ParseDevice(config.device, "reward.scoring.device"));
    VLARFT_ASSIGN_OR_RETURN(models::VideoTokenizer tokenizer, models::LoadTokenizer(tokenizer_stem, device));
    frame_size = tokenizer->config().image_size;
    features = std::make_shared<TokenizerFeatureExtractor>(tokenizer);
  }
  VLARFT_ASSIGN_OR_RETURN(std::unique_ptr<reward::RewardScorer> scorer, reward::RewardScorer::Create(config, features));
  VerifierFacts facts;
  facts.default_type = RewardTypeToProto(config.type);
  facts.perceptual_distance = scorer->perceptual_name();
  facts.aggregation = config.aggregation;
  facts.w_l1 = config.w_l1;
  facts.w_perceptual = config.w_perceptual;
  facts.frame_height = frame_size;
  facts.frame_width = frame_size;
  facts.max_group_size = max_group_size;
  facts.max_frames = max_frames;
  return std::make_unique<ScorerBackend>(std::move(scorer), std::move(facts));
}

}  // namespace vlarft::services
