// Reward study (issue #6): on benchmark states, do the rewards rank action chunks the way
// ground-truth task success does?
//
// States: the scripted expert (the demonstrations' noise and pauses) runs a random number of steps
// on a random task and layout; layouts come from their own seed, not the demonstrations'.
// Group per state: the expert's next chunk under M chunk perturbations (chunk_perturbation.h;
// "none" is the expert chunk itself).
// Ground truth per chunk (chunk_outcome.h): executed in the real environment, then the expert
// finishes the episode within the task's budget:
//   success    solved within the task's step budget (the benchmark's definition)
//   on_time    solved within the expert's own episode length + `on_time_slack` steps
//   progress   −(steps − expert's steps) when solved, every failure tied below every success
// Rewards per chunk (libs/reward/reward.h, the verifier's scorer):
//   type1            −L1 between the chunk and the expert chunk (no world model)
//   type2/<D>        world model's imagination of the chunk vs the real frames of the expert chunk
//   type3/<D>        imagination of the chunk vs imagination of the expert chunk (the default)
//   real/<D>         the real frames of the chunk vs the real frames of the expert chunk: types 2/3
//                    with a perfect world model, i.e. what the pixel reward itself can see
// for each perceptual distance D in `distances` (tokenizer | ssim | none = L1 only | lpips-*).
// Statistics (libs/reward/rank_correlation.h): Spearman ρ pooled over all chunks and the mean of
// within-state ρ (what GRPO's group-relative advantages use), with 95% bootstrap intervals over
// states, and AUROC of the reward for the binary ground truths.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "libs/models/imagination_engine.h"
#include "libs/reward/rank_correlation.h"
#include "libs/tabletop/chunk_perturbation.h"
#include "libs/viz/image.h"
#include "nlohmann/json.hpp"

namespace vlarft::studies {

struct RewardStudyOptions {
  int64_t states = 48;
  std::vector<std::string> suites;  // empty = all four
  std::vector<std::string> perturbations = tabletop::DefaultChunkPerturbationNames();
  int64_t chunk = 8;
  double expert_noise = 0.15;      // as `vlarft data generate`
  double expert_pause_prob = 0.03;
  uint64_t seed = 1;
  // World-model sampling (the rollout workers' defaults: temperature 1, no top-k/p).
  double temperature = 1.0;
  int64_t top_k = 0;
  double top_p = 0.0;
  bool greedy = false;
  int64_t states_per_batch = 4;  // groups imagined together in one decode loop
  // Reward (the verifier's formula; see libs/reward/reward_config.h).
  std::vector<std::string> distances = {"tokenizer", "ssim", "none"};
  double w_l1 = 1.0;
  double w_perceptual = 1.0;
  std::string aggregation = "mean";
  double gamma = 0.95;
  std::string lpips_weights;
  // Statistics and pictures.
  int64_t on_time_slack = 8;
  int64_t bootstrap = 1000;
  std::vector<std::string> example_perturbations = {"gripper_flip:8", "scale:-1", "gauss:1"};
  int64_t example_states = 2;

  template <typename V>
  void VisitFields(V& v) {
    v.Field("states", states, "benchmark states (groups) to sample");
    v.Field("suites", suites, "suites to draw tasks from (empty = all)");
    v.Field("perturbations", perturbations,
            "chunk perturbations per state (none | gauss:s | scale:s | drift:m | gripper_flip:k | rotation:s)");
    v.Field("chunk", chunk, "actions per chunk");
    v.Field("expert_noise", expert_noise, "scripted expert's action noise (as the demonstrations)");
    v.Field("expert_pause_prob", expert_pause_prob, "scripted expert's idle probability (as the demonstrations)");
    v.Field("seed", seed, "seed of states, perturbations, imagination and bootstrap");
    v.Field("temperature", temperature, "world-model sampling temperature");
    v.Field("top_k", top_k, "world-model top-k (0 = off)");
    v.Field("top_p", top_p, "world-model top-p (0 = off)");
    v.Field("greedy", greedy, "argmax world-model decoding");
    v.Field("states_per_batch", states_per_batch, "states imagined together in one decode loop");
    v.Field("distances", distances, "perceptual distances of the frame rewards: tokenizer | ssim | none | lpips-*");
    v.Field("w_l1", w_l1, "reward weight of the per-frame mean absolute pixel error");
    v.Field("w_perceptual", w_perceptual, "reward weight of the perceptual distance");
    v.Field("aggregation", aggregation, "per-frame losses to one reward: mean | last | discounted");
    v.Field("gamma", gamma, "discount for aggregation=discounted");
    v.Field("lpips_weights", lpips_weights, "LPIPS weights file (for lpips-* distances)");
    v.Field("on_time_slack", on_time_slack, "on_time: solved within the expert's steps + this");
    v.Field("bootstrap", bootstrap, "bootstrap resamples (over states) for the 95% intervals");
    v.Field("example_perturbations", example_perturbations, "perturbations drawn in examples_N.png");
    v.Field("example_states", example_states, "states drawn as real | imagined examples");
  }
};

// One ground truth or reward: a value per (state, chunk); higher is better.
struct StudyColumn {
  std::string name;
  std::string description;
  std::vector<std::vector<double>> values;  // [state][chunk]
};

struct CorrelationResult {
  std::optional<double> value;
  std::optional<reward::ConfidenceInterval> ci;
  int64_t defined_groups = 0;  // within-state statistics: states where it is defined
};

struct VariantResult {
  std::string reward;
  std::string truth;
  CorrelationResult pooled, within;
  CorrelationResult auroc;  // binary ground truths only
};

struct StudyState {
  std::string task;
  uint64_t layout_seed = 0;
  int start_step = 0;    // expert steps taken before the chunk
  int expert_steps = 0;  // the expert's whole episode (= its own chunk's outcome)
  int max_steps = 0;
};

struct RewardStudyReport {
  std::vector<std::string> perturbations;
  std::vector<StudyState> states;
  std::vector<std::vector<int>> steps;         // [state][chunk] episode steps
  std::vector<std::vector<bool>> success;      // [state][chunk]
  std::vector<StudyColumn> truths, rewards;
  std::vector<VariantResult> results;          // rewards × truths
  // [reward][perturbation]: mean within-state rank (1 = ranked best) over states; same for truths.
  std::vector<std::vector<double>> reward_ranks, truth_ranks;
  double sample_seconds = 0, imagine_seconds = 0, score_seconds = 0, stats_seconds = 0;
  int64_t imagined_frames = 0;
  std::vector<viz::Image> examples;
};

// Sample states, imagine, score and correlate. Errors: INVALID_ARGUMENT for bad options (naming
// them), whatever the engine or scorer returns.
absl::StatusOr<RewardStudyReport> RunRewardStudy(models::ImaginationEngine& engine, const RewardStudyOptions& options);

nlohmann::json StudyToJson(const RewardStudyReport& report, const RewardStudyOptions& options);
std::string StudyToMarkdown(const RewardStudyReport& report, const RewardStudyOptions& options);
// Spearman ρ per reward (rows) for the progress and success ground truths, with 95% intervals.
viz::Image CorrelationChart(const RewardStudyReport& report);

}  // namespace vlarft::studies
