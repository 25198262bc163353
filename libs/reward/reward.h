// The reward verifier's scoring (docs/architecture.md, "The math and where it lives"); the gRPC layer in services/reward wraps
// RewardScorer.
//
//   type 1:     per_frame_t = mean_d |a_{t,d} − a*_{t,d}|,        R = −mean_t per_frame_t
//               (the paper's −L1 between chunks; w_* and the frame aggregation do not apply)
//   types 2, 3: ℓ_t = w_l1·mean_{c,h,w}|o_t − ô_t| + w_perceptual·D_p(o_t, ô_t),
//               R = −aggregate_t ℓ_t  (reward_config.h defines mean / last / discounted)
//
// Types 2 and 3 are the *same* computation, ScoreTrajectories(): a group's imagined frames against
// a reference trajectory. Only the reference's origin differs — the real dataset frames that
// followed the prompt (type 2) or the world model's imagination of the expert's chunk (type 3) —
// and that is the caller's business. All aggregations are weighted means over frames, so the
// reported components satisfy rewards = −(w_l1·l1 + w_perceptual·perceptual) exactly in math.
//
// Identical trajectories score exactly 0, the maximum, for every type, aggregation and distance.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "absl/status/statusor.h"
#include "libs/core/torch_compat.h"
#include "libs/reward/feature_distance.h"
#include "libs/reward/perceptual_distance.h"
#include "libs/reward/reward_config.h"

namespace vlarft::reward {

// Frame weights w_t (t = 0 is the first imagined frame) with Σ w_t = 1 such that
// aggregate(ℓ) = Σ_t w_t ℓ_t: 1/T each (mean), one-hot on T − 1 (last), γ^t / Σ_s γ^s (discounted).
torch::Tensor FrameWeights(int64_t frames, FrameAggregation aggregation, double gamma,
                           const torch::TensorOptions& options = {});
// per_frame [G, T] -> [G].
torch::Tensor AggregateFrames(const torch::Tensor& per_frame, FrameAggregation aggregation, double gamma);

// All tensors float32 on the CPU.
struct RewardBreakdown {
  torch::Tensor rewards;               // [G]; higher is better, 0 is a perfect match
  torch::Tensor l1;                    // [G]; aggregate_t of mean|o_t − ô_t| (type 1: mean|a − a*|)
  torch::Tensor perceptual;            // [G]; aggregate_t of D_p (zeros for type 1 and perceptual=none)
  torch::Tensor per_frame;             // [G, T]; ℓ_t (type 1: per-step action L1)
  torch::Tensor per_frame_l1;          // [G, T]
  torch::Tensor per_frame_perceptual;  // [G, T]
};

struct RewardRequest {
  RewardType type = RewardType::kUnspecified;  // kUnspecified: the configured default
  // Types 2 and 3 (reward_inputs.h has the accepted layouts):
  torch::Tensor frames;            // uint8 [G, T, H, W, 3] or float [G, T, 3, H, W] in [0, 1]
  torch::Tensor reference_frames;  // [T, ...] shared by the group, or [G, T, ...]
  // Type 1:
  torch::Tensor actions;            // float [G, T, A]
  torch::Tensor reference_actions;  // float [T, A] or [G, T, A]
};

class RewardScorer {
 public:
  // Builds the configured perceptual distance (perceptual_factory.h); `tokenizer_features` is
  // needed for perceptual = tokenizer. Startup errors (bad config, missing LPIPS weights) here.
  static absl::StatusOr<std::unique_ptr<RewardScorer>> Create(
      const RewardConfig& config, std::shared_ptr<MultiScaleFeatureExtractor> tokenizer_features = nullptr);
  // With a caller-built distance (nullptr: D_p ≡ 0); config.perceptual is then not consulted.
  static absl::StatusOr<std::unique_ptr<RewardScorer>> CreateWithDistance(
      const RewardConfig& config, std::unique_ptr<PerceptualDistance> distance);

  const RewardConfig& config() const { return config_; }
  // nullptr when the reward has no perceptual term.
  const PerceptualDistance* distance() const { return distance_.get(); }
  // The distance's name, or "none".
  std::string perceptual_name() const;

  // One group. Errors are INVALID_ARGUMENT naming the field ("frames: ...").
  absl::StatusOr<RewardBreakdown> Score(const RewardRequest& request);
  // Many groups (of any types, sizes and horizons) at once: the perceptual network runs once per
  // distinct frame size over every trajectory frame and every unique reference frame of the batch.
  // Errors name the request ("requests[3].reference_frames: ..."); one bad request fails the call,
  // so callers that batch strangers' requests validate them first (the service does).
  absl::StatusOr<std::vector<RewardBreakdown>> ScoreBatch(const std::vector<RewardRequest>& requests);

  // Shorthands. ScoreTrajectories is types 2 and 3; ScoreActions is type 1.
  absl::StatusOr<RewardBreakdown> ScoreTrajectories(const torch::Tensor& frames, const torch::Tensor& reference);
  absl::StatusOr<RewardBreakdown> ScoreActions(const torch::Tensor& actions, const torch::Tensor& reference);

 private:
  RewardScorer(RewardConfig config, torch::Device device, std::unique_ptr<PerceptualDistance> distance);
  absl::StatusOr<std::vector<RewardBreakdown>> ScoreAll(const std::vector<RewardRequest>& requests,
                                                        bool name_by_index);

  RewardConfig config_;
  FrameAggregation aggregation_;
  torch::Device device_;
  std::unique_ptr<PerceptualDistance> distance_;
};

}  // namespace vlarft::reward
