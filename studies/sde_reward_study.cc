#include "studies/sde_reward_study.h"

#include <array>
#include <memory>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "libs/core/rng.h"
#include "libs/core/status.h"
#include "libs/evaluation/policy_adapter.h"
#include "libs/reward/reward.h"
#include "libs/reward/tokenizer_features.h"
#include "libs/rollout/blended_imaginer.h"
#include "libs/rollout/policy_replica.h"
#include "libs/rollout/policy_state_prompt_source.h"
#include "libs/rollout/tabletop_imaginer.h"
#include "libs/rollout/tokenized_imaginer.h"
#include "libs/rollout/world_model_imaginer.h"

namespace vlarft::studies {
namespace {

bool AllEqual(const torch::Tensor& v) { return (v.max() - v.min()).item<double>() == 0.0; }

std::vector<double> ToVector(const torch::Tensor& t) {
  const torch::Tensor d = t.to(torch::kFloat64).contiguous();
  return {d.data_ptr<double>(), d.data_ptr<double>() + d.numel()};
}

// Mean absolute pixel difference (0..1) between the frames of two different samples of `frames`
// (uint8 [G, C, h, w, 3]), over all pairs.
double PairwiseSpread(const torch::Tensor& frames) {
  const torch::Tensor flat = frames.reshape({frames.size(0), -1}).to(torch::kFloat64).div(255.0);
  const int64_t g = flat.size(0);
  if (g < 2) return 0.0;
  const torch::Tensor sums = torch::cdist(flat, flat, /*p=*/1.0);  // zero diagonal
  return sums.sum().item<double>() / (static_cast<double>(g * (g - 1)) * static_cast<double>(flat.size(1)));
}

double MeanAbsDifference(const torch::Tensor& a, const torch::Tensor& b) {
  return (a.to(torch::kFloat64) - b.to(torch::kFloat64)).abs().mean().item<double>() / 255.0;
}

// The frames of `chunk` (and its reference) at steps k−1, 2k−1, …: the steps a world model with
// action_stride k imagines.
rollout::ImaginedChunk EveryKth(const rollout::ImaginedChunk& chunk, int64_t k) {
  if (k == 1) return chunk;
  return {chunk.frames.slice(1, k - 1, chunk.frames.size(1), k), chunk.reference.slice(0, k - 1, chunk.reference.size(0), k)};
}

// The breakdown's rewards of one group: frame t's −ℓ_t for t < T, then −L1 alone, −perceptual
// alone and the reward itself (SdeRewardStudyResult::Breakdown's rows, in order).
std::vector<std::vector<double>> BreakdownRewards(const reward::RewardBreakdown& b) {
  std::vector<std::vector<double>> rows;
  for (int64_t t = 0; t < b.per_frame.size(1); ++t) rows.push_back(ToVector(-b.per_frame.select(1, t)));
  rows.push_back(ToVector(-b.l1));
  rows.push_back(ToVector(-b.perceptual));
  rows.push_back(ToVector(b.rewards));
  return rows;
}

}  // namespace

absl::Status SdeRewardStudyOptions::Validate() const {
  if (groups < 1 || group_size < 2) {
    return absl::InvalidArgumentError(
        absl::StrCat("need groups >= 1 and group_size >= 2 (a rank needs two chunks), got ", groups, " and ", group_size));
  }
  if (states != "demo" && states != "policy") {
    return absl::InvalidArgumentError(absl::StrCat("states is '", states, "'; expected demo or policy"));
  }
  for (double w : blend_weights) {
    if (!rollout::IsBlendWeight(w)) {
      return absl::InvalidArgumentError(absl::StrCat("blend_weights holds ", w, "; each must lie in [0, 1]"));
    }
  }
  if (states == "policy" && max_decisions < 1) {
    return absl::InvalidArgumentError(absl::StrCat("states policy needs max_decisions >= 1, got ", max_decisions));
  }
  return absl::OkStatus();
}

absl::StatusOr<SdeRewardStudyResult> RunSdeRewardStudy(models::VlaPolicy policy, models::ImaginationEngine engine,
                                                       rollout::DemoPromptSource& prompts,
                                                       const SdeRewardStudyOptions& options,
                                                       const std::function<void(int64_t)>& progress) {
  VLARFT_RETURN_IF_ERROR(options.Validate());
  const int64_t chunk_length = policy->config().chunk_length;
  rollout::PolicyReplica replica(policy);
  rollout::PromptSource* prompt_source = &prompts;
  std::unique_ptr<tabletop::Policy> actor;  // states policy: deterministic ODE sampling, as evaluated
  std::unique_ptr<rollout::PolicyStatePromptSource> policy_states;
  if (options.states == "policy") {
    evaluation::PolicyAdapterOptions adapter;
    adapter.bf16 = options.policy_bf16;
    VLARFT_ASSIGN_OR_RETURN(actor, evaluation::MakeVlaPolicyAdapter(policy, "policy", adapter));
    rollout::PolicyStatePromptOptions state_options;
    state_options.max_decisions = static_cast<int>(options.max_decisions);
    state_options.chunk_length = static_cast<int>(chunk_length);
    state_options.expert_steps = chunk_length;
    policy_states = std::make_unique<rollout::PolicyStatePromptSource>(&prompts, actor.get(),
                                                                         data::DemoReplayOptions{}, state_options);
    prompt_source = policy_states.get();
  }
  models::VideoTokenizer tokenizer = engine.tokenizer();
  const int64_t stride = engine.world_model()->config().action_stride;  // steps per imagined frame
  auto features = std::make_shared<reward::TokenizerFeatureExtractor>(tokenizer);
  rollout::WorldModelImaginer world_model(std::move(engine));
  rollout::TabletopImaginer real(&prompts.dataset(), {});
  reward::RewardConfig config;  // the configured type-3 formula: L1 + tokenizer perceptual, mean over frames
  VLARFT_ASSIGN_OR_RETURN(std::unique_ptr<reward::RewardScorer> scorer, reward::RewardScorer::Create(config, features));

  SdeRewardStudyResult result;
  std::vector<reward::GroupedPairs> pairs(7);  // x = reward, y = ground-truth progress
  if (chunk_length % stride != 0) {
    return absl::FailedPreconditionError(absl::StrCat("the policy's chunks of ", chunk_length,
                                                      " steps do not divide into the world model's frames of ", stride,
                                                      " steps (action_stride)"));
  }
  const int64_t imagined_frames = chunk_length / stride;
  const int64_t breakdown_rows = imagined_frames + 3;
  // Per breakdown row: greedy, real, tokenized against the truth; greedy, tokenized against real — the real
  // and tokenized frames at the steps the world model imagines.
  std::vector<std::array<reward::GroupedPairs, 5>> breakdown(breakdown_rows);
  reward::GroupedPairs greedy_vs_l1, real_vs_l1;
  std::vector<reward::GroupedPairs> blend_pairs(options.blend_weights.size());
  for (double w : options.blend_weights) {
    result.blends.push_back({w, {absl::StrFormat("tokenized + %.2f x (greedy - tokenized)", w), {}, {}, 0, 0}, 0, 0});
  }
  for (const char* name : {"world model, greedy (type 3, the README run's)", "world model, sampled (type 3)",
                           "real frames (type 3 formula on rendered frames)",
                           "real frames through the tokenizer (encode, decode)",
                           "action L1 to the expert chunk (type 1)",
                           "world model, greedy tokens, expected codes decoded (type 3)",
                           "world model, sampled tokens, expected codes decoded (type 3)"}) {
    result.rewards.push_back({name, {}, {}, 0, 0});
  }
  const core::SeedPath root(options.seed);
  for (int64_t i = 0; i < options.groups; ++i) {
    VLARFT_ASSIGN_OR_RETURN(rollout::Prompt prompt, prompt_source->Get(root.Child("prompts").seed() % (1ull << 40) + i));
    models::PolicyObservation obs{prompt.frame.unsqueeze(0), {prompt.instruction}, prompt.proprio.unsqueeze(0)};
    VLARFT_ASSIGN_OR_RETURN(rollout::PolicyReplica::Sampled sampled,
                            replica.SampleGroup(obs, options.group_size, root.Child("policy").Child(i).seed()));
    const torch::Tensor actions = sampled.actions.to(torch::kFloat32);
    const torch::Tensor expert = prompt.expert_actions.narrow(0, 0, chunk_length).to(torch::kFloat32);
    rollout::ImagineSettings settings;
    settings.group_size = options.group_size;
    settings.seed = root.Child("world_model").Child(i).seed();
    VLARFT_ASSIGN_OR_RETURN(auto real_session, real.Start(prompt, settings));
    VLARFT_ASSIGN_OR_RETURN(rollout::ImaginedChunk real_chunk, real_session->Next(actions, expert));
    VLARFT_ASSIGN_OR_RETURN(rollout::GroundTruth truth, real_session->Outcome());
    settings.top_k = 1;
    VLARFT_ASSIGN_OR_RETURN(auto greedy_session, world_model.Start(prompt, settings));
    VLARFT_ASSIGN_OR_RETURN(rollout::ImaginedChunk greedy, greedy_session->Next(actions, expert));
    settings.top_k = 0;
    VLARFT_ASSIGN_OR_RETURN(auto sampled_session, world_model.Start(prompt, settings));
    VLARFT_ASSIGN_OR_RETURN(rollout::ImaginedChunk sampled_chunk, sampled_session->Next(actions, expert));
    settings.expected_codes = true;
    VLARFT_ASSIGN_OR_RETURN(auto sampled_expected_session, world_model.Start(prompt, settings));
    VLARFT_ASSIGN_OR_RETURN(rollout::ImaginedChunk sampled_expected, sampled_expected_session->Next(actions, expert));
    settings.top_k = 1;
    VLARFT_ASSIGN_OR_RETURN(auto greedy_expected_session, world_model.Start(prompt, settings));
    VLARFT_ASSIGN_OR_RETURN(rollout::ImaginedChunk greedy_expected, greedy_expected_session->Next(actions, expert));
    std::vector<torch::Tensor> rewards;
    std::vector<reward::RewardBreakdown> scored;  // greedy, sampled, real, tokenized (frames as imagined)
    for (const rollout::ImaginedChunk* c : {&greedy, &sampled_chunk, &real_chunk}) {
      VLARFT_ASSIGN_OR_RETURN(reward::RewardBreakdown b, scorer->ScoreTrajectories(c->frames, c->reference));
      rewards.push_back(b.rewards);
      scored.push_back(std::move(b));
    }
    const rollout::ImaginedChunk real_as_imagined = EveryKth(real_chunk, stride);
    if (stride > 1) {
      VLARFT_ASSIGN_OR_RETURN(scored[2], scorer->ScoreTrajectories(real_as_imagined.frames, real_as_imagined.reference));
    }
    const std::vector<double> y = ToVector(truth.progress);
    {
      VLARFT_ASSIGN_OR_RETURN(rollout::ImaginedChunk tokenized, rollout::RoundTripChunk(tokenizer, prompt.frame, real_chunk));
      const rollout::ImaginedChunk tokenized_as_imagined = EveryKth(tokenized, stride);
      for (size_t k = 0; k < options.blend_weights.size(); ++k) {
        VLARFT_ASSIGN_OR_RETURN(rollout::ImaginedChunk blend,
                                rollout::BlendChunks(tokenized_as_imagined, greedy, options.blend_weights[k]));
        VLARFT_ASSIGN_OR_RETURN(reward::RewardBreakdown b, scorer->ScoreTrajectories(blend.frames, blend.reference));
        blend_pairs[k].x.push_back(ToVector(b.rewards));
        blend_pairs[k].y.push_back(y);
        result.blends[k].reward.all_equal_groups += AllEqual(b.rewards);
        result.blends[k].error += MeanAbsDifference(blend.frames, real_as_imagined.frames);
        result.blends[k].tokenized_error += MeanAbsDifference(blend.frames, tokenized_as_imagined.frames);
        result.blends[k].spread += PairwiseSpread(blend.frames);
      }
      VLARFT_ASSIGN_OR_RETURN(reward::RewardBreakdown b, scorer->ScoreTrajectories(tokenized.frames, tokenized.reference));
      rewards.push_back(b.rewards);
      if (stride > 1) {
        VLARFT_ASSIGN_OR_RETURN(b, scorer->ScoreTrajectories(tokenized_as_imagined.frames, tokenized_as_imagined.reference));
      }
      scored.push_back(std::move(b));
      result.tokenized_spread += PairwiseSpread(tokenized.frames);
    }
    result.real_spread += PairwiseSpread(real_chunk.frames);  // sums over groups; means below
    result.greedy_spread += PairwiseSpread(greedy.frames);
    result.greedy_error += MeanAbsDifference(greedy.frames, real_as_imagined.frames);
    VLARFT_ASSIGN_OR_RETURN(reward::RewardBreakdown l1, scorer->ScoreActions(actions, expert));
    rewards.push_back(l1.rewards);
    for (const rollout::ImaginedChunk* c : {&greedy_expected, &sampled_expected}) {
      VLARFT_ASSIGN_OR_RETURN(reward::RewardBreakdown b, scorer->ScoreTrajectories(c->frames, c->reference));
      rewards.push_back(b.rewards);
    }
    result.expected_spread += PairwiseSpread(greedy_expected.frames);
    result.expected_error += MeanAbsDifference(greedy_expected.frames, real_as_imagined.frames);
    result.truth_all_equal_groups += AllEqual(truth.progress);
    result.groups_with_a_failure += !truth.success.all().item<bool>();
    for (size_t k = 0; k < pairs.size(); ++k) {
      pairs[k].x.push_back(ToVector(rewards[k]));
      pairs[k].y.push_back(y);
      result.rewards[k].all_equal_groups += AllEqual(rewards[k]);
    }
    greedy_vs_l1.x.push_back(ToVector(rewards[0]));
    greedy_vs_l1.y.push_back(ToVector(rewards[4]));
    real_vs_l1.x.push_back(ToVector(rewards[2]));
    real_vs_l1.y.push_back(ToVector(rewards[4]));
    const std::vector<std::vector<double>> greedy_rows = BreakdownRewards(scored[0]);
    const std::vector<std::vector<double>> real_rows = BreakdownRewards(scored[2]);
    const std::vector<std::vector<double>> tokenized_rows = BreakdownRewards(scored[3]);
    for (int64_t r = 0; r < breakdown_rows; ++r) {
      const std::pair<const std::vector<double>*, const std::vector<double>*> xy[5] = {
          {&greedy_rows[r], &y},
          {&real_rows[r], &y},
          {&tokenized_rows[r], &y},
          {&greedy_rows[r], &real_rows[r]},
          {&tokenized_rows[r], &real_rows[r]}};
      for (int k = 0; k < 5; ++k) {
        breakdown[r][k].x.push_back(*xy[k].first);
        breakdown[r][k].y.push_back(*xy[k].second);
      }
    }
    if (progress) progress(i + 1);
  }
  for (double* mean : {&result.real_spread, &result.tokenized_spread, &result.greedy_spread, &result.greedy_error,
                       &result.expected_spread, &result.expected_error}) {
    *mean /= static_cast<double>(options.groups);
  }
  auto summarise = [&](const reward::GroupedPairs& p, SdeRewardColumn& column) {
    column.spearman = reward::MeanWithinGroupSpearman(p, reward::AllGroups(p.groups()), &column.defined_groups);
    column.ci95 = reward::ClusterBootstrap(
        p.groups(), [&](const std::vector<int64_t>& g) { return reward::MeanWithinGroupSpearman(p, g); }, 1000,
        options.seed);
  };
  for (size_t k = 0; k < pairs.size(); ++k) summarise(pairs[k], result.rewards[k]);
  for (size_t k = 0; k < blend_pairs.size(); ++k) {
    summarise(blend_pairs[k], result.blends[k].reward);
    result.blends[k].error /= static_cast<double>(options.groups);
    result.blends[k].tokenized_error /= static_cast<double>(options.groups);
    result.blends[k].spread /= static_cast<double>(options.groups);
  }
  result.greedy_vs_action_l1 = reward::MeanWithinGroupSpearman(greedy_vs_l1, reward::AllGroups(greedy_vs_l1.groups()));
  result.real_vs_action_l1 = reward::MeanWithinGroupSpearman(real_vs_l1, reward::AllGroups(real_vs_l1.groups()));
  for (int64_t r = 0; r < breakdown_rows; ++r) {
    SdeRewardStudyResult::Breakdown row;
    row.name = r < imagined_frames        ? absl::StrCat("frame ", r + 1)
               : r == imagined_frames     ? std::string("L1 only")
               : r == imagined_frames + 1 ? std::string("perceptual only")
                                          : std::string("all frames (the reward)");
    std::optional<double>* cells[5] = {&row.greedy_vs_truth, &row.real_vs_truth, &row.tokenized_vs_truth,
                                       &row.greedy_vs_real, &row.tokenized_vs_real};
    for (int k = 0; k < 5; ++k) {
      *cells[k] = reward::MeanWithinGroupSpearman(breakdown[r][k], reward::AllGroups(breakdown[r][k].groups()));
    }
    result.breakdown.push_back(std::move(row));
  }
  return result;
}

}  // namespace vlarft::studies
