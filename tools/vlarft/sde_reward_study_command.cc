// `vlarft study sde-rewards`: the reward-informativeness study on SDE groups (studies/sde_reward_study.h)
// as a command: loads the policy, the world model and the prompt demonstrations, runs the study and
// writes its table (sde_rewards.md), record (sde_rewards.json) and chart (sde_rewards.png).
#include <filesystem>
#include <iostream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "libs/core/command_line.h"
#include "libs/core/config.h"
#include "libs/core/file_io.h"
#include "libs/core/mixed_precision.h"
#include "libs/core/progress_meter.h"
#include "libs/core/status.h"
#include "libs/viz/bar_chart.h"
#include "nlohmann/json.hpp"
#include "studies/sde_reward_study.h"
#include "tools/vlarft/command.h"

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
  std::vector<double> blend_weights = studies::SdeRewardStudyOptions{}.blend_weights;
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
    v.Field("blend_weights", blend_weights,
            "also score real frames through the tokenizer + w x (greedy imagination - them), each w in [0, 1]: a world "
            "model w times as wrong as this one");
    v.Field("out", out, "output directory (table, JSON, PNG)");
  }
};

absl::Status SdeRewardStudyCommand(const std::vector<std::string>& args) {
  VLARFT_ASSIGN_OR_RETURN(core::ParsedCommandLine parsed, core::ParseCommandLine(args));
  if (parsed.help) {
    std::cout << "usage: vlarft study sde-rewards [--groups N] [--seed S] [--out DIR] ...\n\n"
              << core::OptionsHelp(SdeRewardFlags{}, "", "--");
    return absl::OkStatus();
  }
  SdeRewardFlags flags;
  VLARFT_RETURN_IF_ERROR(core::BindOptions(parsed, &flags));
  auto say = [](const std::string& line) { std::cout << "[study sde-rewards] " << line << std::endl; };
  studies::SdeRewardStudyOptions options;
  options.groups = flags.groups;
  options.seed = flags.seed;
  options.group_size = flags.group_size;
  options.states = flags.states;
  options.max_decisions = flags.max_decisions;
  options.blend_weights = flags.blend_weights;
  VLARFT_ASSIGN_OR_RETURN(options.policy_bf16,
                          core::UseBf16(flags.mixed_precision, c10::DeviceType::CPU, "mixed_precision"));
  VLARFT_RETURN_IF_ERROR(
      core::Annotate(options.Validate(), "--groups / --group_size / --states / --max_decisions / --blend_weights"));
  VLARFT_ASSIGN_OR_RETURN(models::VlaPolicy policy, models::LoadPolicy(flags.policy));
  VLARFT_ASSIGN_OR_RETURN(std::unique_ptr<rollout::DemoPromptSource> prompts,
                          rollout::DemoPromptSource::Load(flags.dataset, {}, static_cast<int>(policy->config().encoder.image_size),
                                                          1, 0.1, policy->config().chunk_length));
  models::EngineLimits limits;
  limits.max_group_size = flags.group_size + 1;
  VLARFT_ASSIGN_OR_RETURN(models::ImaginationEngine engine,
                          models::ImaginationEngine::Load(flags.tokenizer, flags.world_model, torch::kCPU, limits));
  core::ProgressMeter meter({"", "groups", flags.groups, 10}, say);
  VLARFT_ASSIGN_OR_RETURN(studies::SdeRewardStudyResult result,
                          studies::RunSdeRewardStudy(policy, std::move(engine), *prompts, options,
                                                     [&](int64_t done) { meter.Update(done); }));

  std::string table = absl::StrFormat(
      "SDE groups from %s at %s: %d prompts x %d chunks (seed %d). Ground truth: progress (tabletop_imaginer.h); "
      "all %d chunks of a group tie on it in %d groups, and some chunk fails in %d.\n\n"
      "| reward | within-group Spearman ρ vs progress [95%% CI] | groups where ρ is defined | groups with all rewards equal |\n"
      "|---|---:|---:|---:|\n",
      flags.policy,
      flags.states == "policy" ? absl::StrCat("its own states (1..", flags.max_decisions, " chunks in)")
                               : std::string("demonstration states"),
      flags.groups, flags.group_size, flags.seed, flags.group_size, result.truth_all_equal_groups,
      result.groups_with_a_failure);
  nlohmann::json record;
  std::vector<viz::BarRow> rows;
  for (const studies::SdeRewardColumn& c : result.rewards) {
    const double rho = c.spearman.value_or(NAN);
    const double low = c.ci95 ? c.ci95->low : NAN, high = c.ci95 ? c.ci95->high : NAN;
    absl::StrAppendFormat(&table, "| %s | %+.3f [%+.3f, %+.3f] | %d | %d (%.0f%%) |\n", c.name, rho, low, high,
                          c.defined_groups, c.all_equal_groups,
                          100.0 * c.all_equal_groups / std::max<int64_t>(1, flags.groups));
    record["rewards"].push_back({{"reward", c.name}, {"spearman", rho}, {"ci95", {low, high}},
                                 {"defined_groups", c.defined_groups}, {"all_equal_groups", c.all_equal_groups}});
    rows.push_back({c.name, {rho}, {low}, {high}});
  }
  absl::StrAppendFormat(&table,
                        "\nHow far apart a group's futures are (mean |pixel difference| between two chunks' frames, "
                        "0..1): real %.4f, real through the tokenizer %.4f, imagined (greedy) %.4f, imagined (greedy, "
                        "expected codes) %.4f; imagined vs real frames of the same chunk: greedy %.4f, greedy with "
                        "expected codes %.4f.\n",
                        result.real_spread, result.tokenized_spread, result.greedy_spread, result.expected_spread,
                        result.greedy_error, result.expected_error);
  record["spread"] = {{"real", result.real_spread},         {"tokenized", result.tokenized_spread},
                      {"greedy", result.greedy_spread},     {"greedy_error", result.greedy_error},
                      {"expected", result.expected_spread}, {"expected_error", result.expected_error}};
  absl::StrAppend(&table,
                  "\nWhere the ranking is lost (within-group ρ; a frame's row scores that imagined frame alone, the "
                  "L1 / perceptual rows one term of the formula over all frames):\n\n"
                  "| part of the type-3 reward | imagined (greedy) vs progress | real frames vs progress | "
                  "through the tokenizer vs progress | imagined vs the same on real frames | through the tokenizer vs the "
                  "same on real frames |\n|---|---:|---:|---:|---:|---:|\n");
  for (const studies::SdeRewardStudyResult::Breakdown& b : result.breakdown) {
    const double cells[5] = {b.greedy_vs_truth.value_or(NAN), b.real_vs_truth.value_or(NAN),
                             b.tokenized_vs_truth.value_or(NAN), b.greedy_vs_real.value_or(NAN),
                             b.tokenized_vs_real.value_or(NAN)};
    absl::StrAppendFormat(&table, "| %s | %+.3f | %+.3f | %+.3f | %+.3f | %+.3f |\n", b.name, cells[0], cells[1],
                          cells[2], cells[3], cells[4]);
    record["breakdown"].push_back({{"part", b.name},
                                   {"greedy_vs_truth", cells[0]},
                                   {"real_vs_truth", cells[1]},
                                   {"tokenized_vs_truth", cells[2]},
                                   {"greedy_vs_real", cells[3]},
                                   {"tokenized_vs_real", cells[4]}});
  }
  if (!result.blends.empty()) {
    absl::StrAppendFormat(&table,
                          "\nHow good must the world model be? Frames part way from the real frames through the "
                          "tokenizer (w = 0) to the greedy imagination (w = 1): tokenized + w x (imagined - tokenized), "
                          "a world model w times as wrong as this one (tokenized: %+.3f, greedy: %+.3f above).\n\n"
                          "| w | within-group ρ vs progress [95%% CI] | vs real, same chunk | vs real through the "
                          "tokenizer, same chunk | spread between chunks |\n"
                          "|---:|---:|---:|---:|---:|\n",
                          result.rewards[3].spearman.value_or(NAN), result.rewards[0].spearman.value_or(NAN));
  }
  for (const studies::SdeRewardStudyResult::Blend& b : result.blends) {
    const double rho = b.reward.spearman.value_or(NAN);
    const double low = b.reward.ci95 ? b.reward.ci95->low : NAN, high = b.reward.ci95 ? b.reward.ci95->high : NAN;
    absl::StrAppendFormat(&table, "| %.2f | %+.3f [%+.3f, %+.3f] | %.4f | %.4f | %.4f |\n", b.weight, rho, low, high,
                          b.error, b.tokenized_error, b.spread);
    record["blends"].push_back({{"weight", b.weight}, {"spearman", rho}, {"ci95", {low, high}}, {"error", b.error},
                                {"tokenized_error", b.tokenized_error}, {"spread", b.spread},
                                {"all_equal_groups", b.reward.all_equal_groups}});
    rows.push_back({b.reward.name, {rho}, {low}, {high}});
  }
  const double greedy_l1 = result.greedy_vs_action_l1.value_or(NAN), real_l1 = result.real_vs_action_l1.value_or(NAN);
  absl::StrAppendFormat(&table,
                        "\nWithin-group ρ with the type-1 reward (how close a chunk is to the expert's): world model, "
                        "greedy %+.3f; real frames %+.3f.\n",
                        greedy_l1, real_l1);
  record["vs_action_l1"] = {{"greedy", greedy_l1}, {"real", real_l1}};
  record["groups"] = flags.groups;
  record["states"] = flags.states;
  record["group_size"] = flags.group_size;
  record["truth_all_equal_groups"] = result.truth_all_equal_groups;
  record["groups_with_a_failure"] = result.groups_with_a_failure;
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
                      &SdeRewardStudyCommand});
}

}  // namespace vlarft::cli
