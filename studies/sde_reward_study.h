// `vlarft study sde-rewards`' experiment: how informative is each reward on the groups RFT actually
// trains on? Groups of G chunks sampled from the SDE policy (not perturbed expert chunks) at
// demonstration states, or (states "policy") at states the policy reached itself after
// 1..max_decisions of its own chunks from a demonstration's start (policy_state_prompt_source.h).
// Every chunk is executed in the real benchmark from the prompt's exact state (ground truth:
// tabletop_imaginer.h progress) and imagined by the world model, greedy and sampled; the real frames
// are also scored after a round trip through the tokenizer, which separates what the tokenizer
// cannot represent from what the dynamics model gets wrong, and on frames part way between those and
// the imagination (blend_weights: how good a world model must be). Per reward: the mean within-group
// Spearman ρ against the ground-truth progress (what GRPO's group-relative advantages use; 95%
// bootstrap interval over groups) and the share of groups whose G rewards are all equal (no
// learning signal at all). docs/reward_study.md reports it.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "libs/models/imagination_engine.h"
#include "libs/models/policy.h"
#include "libs/reward/rank_correlation.h"
#include "libs/rollout/demo_prompt_source.h"

namespace vlarft::studies {

struct SdeRewardStudyOptions {
  int64_t groups = 64;      // prompts, one group of G SDE chunks each
  uint64_t seed = 7;        // prompt draws, sampling and world-model noise, the bootstrap
  int64_t group_size = 16;  // G
  std::string states = "demo";  // demo (demonstration states) | policy (the policy's own)
  int64_t max_decisions = 6;    // states policy: the policy acts 1..N chunks before each group
  bool policy_bf16 = false;     // states policy: bf16 autocast while the policy acts, as in evaluation
  // The reward on frames part way from the real frames through the tokenizer (0) to the greedy
  // imagination (1): truth + w · (imagined − truth) (rollout::BlendChunks) — a world model whose
  // error is w times today's. Each in [0, 1].
  std::vector<double> blend_weights = {0.25, 0.5, 0.75};
  absl::Status Validate() const;
};

struct SdeRewardColumn {
  std::string name;
  std::optional<double> spearman;  // mean within-group ρ vs progress (none: no group defines it)
  std::optional<reward::ConfidenceInterval> ci95;
  int64_t defined_groups = 0;    // groups where ρ is defined (neither side constant)
  int64_t all_equal_groups = 0;  // groups whose G rewards are all equal
};

struct SdeRewardStudyResult {
  // In this order: world model greedy (type 3, the README run's), world model sampled, real frames
  // (type 3 formula on rendered frames), real frames through the tokenizer, action L1 (type 1),
  // world model with expected codes decoded (models::GroupJob::expected_codes): greedy tokens, sampled.
  std::vector<SdeRewardColumn> rewards;
  int64_t truth_all_equal_groups = 0;  // groups whose G chunks tie on the ground truth
  int64_t groups_with_a_failure = 0;   // groups where some chunk fails
  // How far apart a group's futures are: the mean absolute pixel difference (0..1) between two
  // chunks' frames, over the pairs of a group, averaged over groups — for the real frames, the real
  // frames through the tokenizer and the greedy imagination. A world model that ignores the action
  // differences has a spread far below the real one. `greedy_error`: the same distance between a
  // chunk's imagined and real frames (how wrong an imagined future is).
  // `expected_*`: the same two for greedy tokens decoded as expected codes.
  double real_spread = 0, tokenized_spread = 0, greedy_spread = 0, greedy_error = 0;
  double expected_spread = 0, expected_error = 0;
  // Where the imagination loses the ranking: the type-3 loss of each imagined frame t alone (frame
  // 0 = the first after the context), and each term of the formula alone, as within-group ρ against
  // the ground truth and against the same reward on the real frames (does the imagination rank a
  // group's chunks as the real frames do?).
  struct Breakdown {
    std::string name;                     // "frame 3", "L1 only", "perceptual only", "all frames"
    std::optional<double> greedy_vs_truth, real_vs_truth, tokenized_vs_truth, greedy_vs_real;
    std::optional<double> tokenized_vs_real;  // the agreement a dynamics model that got every token right would reach
  };
  std::vector<Breakdown> breakdown;
  // Within-group ρ of the type-3 reward with the type-1 reward (closeness of the chunk to the
  // expert's, no world model): how much of what the imagination ranks is "near the expert's chunk"
  // rather than progress. The same for the real frames.
  std::optional<double> greedy_vs_action_l1, real_vs_action_l1;
  // One per options.blend_weights: the reward on the blended frames (ρ vs progress, as `rewards`),
  // how far those frames are from the real ones of the same chunk (greedy_error's measure) and from
  // the real ones through the tokenizer (the dynamics model's own error: what it should have
  // predicted), and their spread between chunks.
  struct Blend {
    double weight = 0;
    SdeRewardColumn reward;
    double error = 0, tokenized_error = 0, spread = 0;
  };
  std::vector<Blend> blends;
};

// `prompts` must have been loaded with steps >= the policy's chunk length; the type-3 rewards use
// the default reward config (L1 + tokenizer perceptual distance, mean over frames) with the
// engine's tokenizer. `progress` gets the number of groups done.
absl::StatusOr<SdeRewardStudyResult> RunSdeRewardStudy(models::VlaPolicy policy, models::ImaginationEngine engine,
                                                       rollout::DemoPromptSource& prompts,
                                                       const SdeRewardStudyOptions& options,
                                                       const std::function<void(int64_t)>& progress);

}  // namespace vlarft::studies
