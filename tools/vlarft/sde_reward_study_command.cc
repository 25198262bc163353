// `vlarft study sde-rewards`: how informative is each reward on the groups RFT actually trains on?
// Groups of G chunks sampled from the SDE policy (not perturbed expert chunks) at demonstration
// states, or (--states policy) at states the policy reached itself after 1..max_decisions of its own
// chunks from a demonstration's start (policy_state_prompt_source.h); every chunk is executed in the real benchmark from the prompt's exact state (ground truth:
// tabletop_imaginer.h progress) and imagined by the world model, greedy and sampled; the real
// frames are also scored after a round trip through the tokenizer, which separates what the
// tokenizer cannot represent from what the dynamics model gets wrong. Per reward,
// the mean within-group Spearman ρ against the ground-truth progress (what GRPO's group-relative
// advantages use; 95% bootstrap interval over groups) and the share of groups whose G rewards are
// all equal (no learning signal at all). docs/reward_study.md reports it.
#include <filesystem>
#include <iostream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "libs/core/file_io.h"
#include "libs/core/command_line.h"
#include "libs/core/config.h"
#include "libs/core/progress_meter.h"
#include "libs/core/rng.h"
#include "libs/core/status.h"
#include "libs/reward/rank_correlation.h"
#include "libs/reward/reward.h"
#include "libs/reward/tokenizer_features.h"
#include "libs/core/mixed_precision.h"
#include "libs/evaluation/policy_adapter.h"
#include "libs/rollout/demo_prompt_source.h"
#include "libs/rollout/policy_state_prompt_source.h"
#include "libs/rollout/policy_replica.h"
#include "libs/rollout/tabletop_imaginer.h"
#include "libs/rollout/world_model_imaginer.h"
#include "libs/viz/bar_chart.h"
#include "nlohmann/json.hpp"
#include "tools/vlarft/command.h"
#include "tools/vlarft/policy_evaluation.h"

namespace vlarft::cli {
namespace fs = std::filesystem;
namespace {

struct SdeRewardFlags {
  int64_t groups = 64;
  uint64_t seed = 7;
  std::string policy = "checkpoints/tiny/policy_heatmap_15w";
  std::string tokenizer = "checkpoints/tiny/tokenizer";
  std::string world_model = "checkpoints/tiny/world_model";
  std::string dataset = "data/tabletop";
  int64_t group_size = 16;
  std::string states = "demo";
  int64_t max_decisions = 6;
  std::string mixed_precision = "auto";
  std::string out = "out/study/sde_rewards";
  template <typename V>
  void VisitFields(V& v) {
    v.Field("groups", groups, "prompts (groups of G SDE chunks)");
    v.Field("seed", seed, "prompt draws and sampling noise");
    v.Field("policy", policy, "stem of the policy to sample");
    v.Field("tokenizer", tokenizer, "tokenizer stem (world model and the perceptual distance)");
    v.Field("world_model", world_model, "world-model stem");
    v.Field("dataset", dataset, "prompt demonstrations");
    v.Field("group_size", group_size, "G");
    v.Field("states", states, "where the groups start: demo (demonstration states) or policy (the policy's own)");
    v.Field("max_decisions", max_decisions, "--states policy: the policy acts 1..N chunks before each group");
    v.Field("mixed_precision", mixed_precision, "--states policy: how the policy acts (auto, bf16, none), as in eval");
    v.Field("out", out, "output directory (table, JSON, PNG)");
  }
};

struct RewardColumn {
  explicit RewardColumn(std::string n) : name(std::move(n)) {}
  std::string name;
  reward::GroupedPairs pairs;  // x = reward, y = ground-truth progress
  int64_t all_equal = 0;
};

bool AllEqual(const torch::Tensor& v) { return (v.max() - v.min()).item<double>() == 0.0; }

// Real frames passed through the tokenizer (context o_t encoded; each frame encoded against it and
// decoded): the best any dynamics model could imagine through this tokenizer. `frames` uint8
// [N, T, H, W, 3], `context` uint8 [H, W, 3]; returns the reconstructions, same shape.
torch::Tensor ThroughTokenizer(models::VideoTokenizer& tokenizer, const torch::Tensor& context,
                               const torch::Tensor& frames) {
  torch::NoGradGuard no_grad;
  const torch::Device device = tokenizer->device();
  const models::ContextEncoding ctx = tokenizer->EncodeContext(models::FramesToModel(context.unsqueeze(0), device));
  const torch::Tensor flat = frames.reshape({-1, frames.size(-3), frames.size(-2), 3});
  const auto [codes, indices] = tokenizer->EncodeFuture(models::FramesToModel(flat, device), ctx);
  return models::ModelToFrames(tokenizer->DecodeFuture(codes, ctx)).to(torch::kCPU).reshape(frames.sizes());
}

absl::Status RunSdeRewardStudy(const std::vector<std::string>& args) {
  VLARFT_ASSIGN_OR_RETURN(core::ParsedCommandLine parsed, core::ParseCommandLine(args));
  if (parsed.help) {
    std::cout << "usage: vlarft study sde-rewards [--groups N] [--seed S] [--out DIR] ...\n\n"
              << core::OptionsHelp(SdeRewardFlags{}, "", "--");
    return absl::OkStatus();
  }
  SdeRewardFlags flags;
  VLARFT_RETURN_IF_ERROR(core::BindOptions(parsed, &flags));
  auto say = [](const std::string& line) { std::cout << "[study sde-rewards] " << line << std::endl; };
  VLARFT_ASSIGN_OR_RETURN(models::VlaPolicy policy, models::LoadPolicy(flags.policy));
  const models::PolicyConfig pc = policy->config();
  rollout::PolicyReplica replica(policy);
  VLARFT_ASSIGN_OR_RETURN(std::unique_ptr<rollout::DemoPromptSource> prompts,
                          rollout::DemoPromptSource::Load(flags.dataset, {}, static_cast<int>(pc.encoder.image_size), 1,
                                                          0.1, pc.chunk_length));
  rollout::PromptSource* prompt_source = prompts.get();
  std::unique_ptr<tabletop::Policy> actor;  // --states policy: deterministic ODE sampling, as evaluated
  std::unique_ptr<rollout::PolicyStatePromptSource> policy_states;
  if (flags.states == "policy") {
    evaluation::PolicyAdapterOptions adapter;
    VLARFT_ASSIGN_OR_RETURN(adapter.bf16, core::UseBf16(flags.mixed_precision, c10::DeviceType::CPU, "mixed_precision"));
    VLARFT_ASSIGN_OR_RETURN(actor, evaluation::MakeVlaPolicyAdapter(policy, "policy", adapter));
    rollout::PolicyStatePromptOptions options;
    options.max_decisions = static_cast<int>(flags.max_decisions);
    options.chunk_length = static_cast<int>(pc.chunk_length);
    options.expert_steps = pc.chunk_length;
    policy_states = std::make_unique<rollout::PolicyStatePromptSource>(prompts.get(), actor.get(),
                                                                         data::DemoReplayOptions{}, options);
    prompt_source = policy_states.get();
  } else if (flags.states != "demo") {
    return absl::InvalidArgumentError(absl::StrCat("--states is '", flags.states, "'; expected demo or policy"));
  }
  models::EngineLimits limits;
  limits.max_group_size = flags.group_size + 1;
  VLARFT_ASSIGN_OR_RETURN(models::ImaginationEngine engine,
                          models::ImaginationEngine::Load(flags.tokenizer, flags.world_model, torch::kCPU, limits));
  models::VideoTokenizer tokenizer = engine.tokenizer();
  auto features = std::make_shared<reward::TokenizerFeatureExtractor>(tokenizer);
  rollout::WorldModelImaginer world_model(std::move(engine));
  rollout::TabletopImaginer real(&prompts->dataset(), {});
  reward::RewardConfig config;  // the configured type-3 formula: L1 + tokenizer perceptual, mean over frames
  VLARFT_ASSIGN_OR_RETURN(std::unique_ptr<reward::RewardScorer> scorer, reward::RewardScorer::Create(config, features));

  std::vector<RewardColumn> columns;
  for (const char* name : {"world model, greedy (type 3, the README run's)", "world model, sampled (type 3)",
                           "real frames (type 3 formula on rendered frames)",
                           "real frames through the tokenizer (encode, decode)",
                           "action L1 to the expert chunk (type 1)"}) {
    columns.emplace_back(name);
  }
  int64_t truth_all_equal = 0, truth_any_failure = 0;
  const core::SeedPath root(flags.seed);
  core::ProgressMeter meter({"", "groups", flags.groups, 10}, say);
  for (int64_t i = 0; i < flags.groups; ++i) {
    VLARFT_ASSIGN_OR_RETURN(rollout::Prompt prompt, prompt_source->Get(root.Child("prompts").seed() % (1ull << 40) + i));
    models::PolicyObservation obs{prompt.frame.unsqueeze(0), {prompt.instruction}, prompt.proprio.unsqueeze(0)};
    VLARFT_ASSIGN_OR_RETURN(rollout::PolicyReplica::Sampled sampled,
                            replica.SampleGroup(obs, flags.group_size, root.Child("policy").Child(i).seed()));
    const torch::Tensor actions = sampled.actions.to(torch::kFloat32);
    const torch::Tensor expert = prompt.expert_actions.narrow(0, 0, pc.chunk_length).to(torch::kFloat32);
    rollout::ImagineSettings settings;
    settings.group_size = flags.group_size;
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
    std::vector<torch::Tensor> rewards;
    for (const rollout::ImaginedChunk* c : {&greedy, &sampled_chunk, &real_chunk}) {
      VLARFT_ASSIGN_OR_RETURN(reward::RewardBreakdown b, scorer->ScoreTrajectories(c->frames, c->reference));
      rewards.push_back(b.rewards);
    }
    {
      // The group and the reference in one pass: the context is encoded once.
      const torch::Tensor all = ThroughTokenizer(
          tokenizer, prompt.frame, torch::cat({real_chunk.frames, real_chunk.reference.unsqueeze(0)}));
      const int64_t group = real_chunk.frames.size(0);
      VLARFT_ASSIGN_OR_RETURN(reward::RewardBreakdown b, scorer->ScoreTrajectories(all.narrow(0, 0, group), all[group]));
      rewards.push_back(b.rewards);
    }
    VLARFT_ASSIGN_OR_RETURN(reward::RewardBreakdown l1, scorer->ScoreActions(actions, expert));
    rewards.push_back(l1.rewards);
    const torch::Tensor progress = truth.progress.to(torch::kFloat64).contiguous();
    const std::vector<double> y(progress.data_ptr<double>(), progress.data_ptr<double>() + progress.numel());
    truth_all_equal += AllEqual(truth.progress);
    truth_any_failure += !truth.success.all().item<bool>();
    for (size_t k = 0; k < columns.size(); ++k) {
      const torch::Tensor r = rewards[k].to(torch::kFloat64).contiguous();
      columns[k].pairs.x.emplace_back(r.data_ptr<double>(), r.data_ptr<double>() + r.numel());
      columns[k].pairs.y.push_back(y);
      columns[k].all_equal += AllEqual(rewards[k]);
    }
    meter.Update(i + 1);
  }

  std::string table = absl::StrFormat(
      "SDE groups from %s at %s: %d prompts x %d chunks (seed %d). Ground truth: progress (tabletop_imaginer.h); "
      "all %d chunks of a group tie on it in %d groups, and some chunk fails in %d.\n\n"
      "| reward | within-group Spearman ρ vs progress [95%% CI] | groups where ρ is defined | groups with all rewards equal |\n"
      "|---|---:|---:|---:|\n",
      flags.policy,
      flags.states == "policy" ? absl::StrCat("its own states (1..", flags.max_decisions, " chunks in)")
                               : std::string("demonstration states"),
      flags.groups, flags.group_size, flags.seed, flags.group_size, truth_all_equal, truth_any_failure);
  nlohmann::json record;
  std::vector<viz::BarRow> rows;
  for (RewardColumn& c : columns) {
    int64_t defined = 0;
    const std::optional<double> rho = reward::MeanWithinGroupSpearman(c.pairs, reward::AllGroups(c.pairs.groups()), &defined);
    const auto ci = reward::ClusterBootstrap(
        c.pairs.groups(), [&](const std::vector<int64_t>& g) { return reward::MeanWithinGroupSpearman(c.pairs, g); }, 1000,
        flags.seed);
    absl::StrAppendFormat(&table, "| %s | %+.3f [%+.3f, %+.3f] | %d | %d (%.0f%%) |\n", c.name, rho.value_or(NAN),
                          ci ? ci->low : NAN, ci ? ci->high : NAN, defined, c.all_equal,
                          100.0 * c.all_equal / std::max<int64_t>(1, flags.groups));
    record["rewards"].push_back({{"reward", c.name}, {"spearman", rho.value_or(NAN)},
                                 {"ci95", {ci ? ci->low : NAN, ci ? ci->high : NAN}}, {"defined_groups", defined},
                                 {"all_equal_groups", c.all_equal}});
    rows.push_back({c.name, {rho.value_or(NAN)}, {ci ? ci->low : NAN}, {ci ? ci->high : NAN}});
  }
  record["groups"] = flags.groups;
  record["states"] = flags.states;
  record["group_size"] = flags.group_size;
  record["truth_all_equal_groups"] = truth_all_equal;
  record["groups_with_a_failure"] = truth_any_failure;
  std::cout << "\n" << table;
  const fs::path out = flags.out;
  fs::create_directories(out);
  VLARFT_RETURN_IF_ERROR(core::WriteFileAtomically((out / "sde_rewards.md").string(), table));
  VLARFT_RETURN_IF_ERROR(core::WriteFileAtomically((out / "sde_rewards.json").string(), record.dump(2) + "\n"));
  viz::BarChartOptions chart;
  chart.title = "rewards vs true progress, SDE groups";
  chart.value_label = "mean within-group Spearman rho, 95% CI";
  chart.series = {"rho"};
  chart.min = -0.2;
  chart.max = 1.0;
  VLARFT_RETURN_IF_ERROR(viz::WritePng((out / "sde_rewards.png").string(), viz::HorizontalBarChart(rows, chart)));
  say("wrote " + (out / "sde_rewards.md").string() + ", sde_rewards.json, sde_rewards.png");
  return absl::OkStatus();
}

}  // namespace

void AddSdeRewardStudyCommands(std::vector<Command>& commands) {
  commands.push_back({{"study", "sde-rewards"}, "reward vs ground truth on groups sampled from the SDE policy",
                      &RunSdeRewardStudy});
}

}  // namespace vlarft::cli
