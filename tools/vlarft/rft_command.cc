// `vlarft rft`: the README's main job. On one machine: make sure demonstrations exist, evaluate the
// base SFT policy in the benchmark, launch simulator + verifier + learner ranks + rollout workers on
// loopback and run RFT to the configured number of steps, evaluate the fine-tuned policy, and write
// the base-vs-RFT table, the reward curve (PNG) and a JSON record.
#include <filesystem>
#include <fstream>
#include <iostream>
#include <numeric>
#include <optional>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "libs/core/mixed_precision.h"
#include "libs/core/command_line.h"
#include "libs/core/config.h"
#include "libs/core/status.h"
#include "libs/data/generate.h"
#include "libs/models/checkpoint.h"
#include "libs/models/policy.h"
#include "libs/tabletop/evaluation.h"
#include "libs/tabletop/paired_comparison.h"
#include "libs/tabletop/perturbation.h"
#include "libs/viz/image.h"
#include "nlohmann/json.hpp"
#include "services/learner/learner_config.h"
#include "tools/vlarft/command.h"
#include "tools/vlarft/policy_evaluation.h"
#include "tools/vlarft/rft_launcher.h"
#include "libs/evaluation/policy_adapter.h"
#include "libs/evaluation/success_probe.h"

namespace vlarft::cli {
namespace fs = std::filesystem;
namespace {

struct RftConfig {
  RftLaunchConfig launch;
  std::string dataset = "data/tabletop";
  int generate_demos_per_task = 50;  // when the dataset directory does not exist yet (as the quickstart)
  std::string base_policy = "checkpoints/tiny/policy_heatmap_15w";  // the shipped recommended SFT policy
  int eval_episodes_per_task = 50;
  std::vector<std::string> eval_suites;
  uint64_t eval_seed = 1000;
  int eval_threads = 2;
  int eval_policy_lanes = 1;
  int eval_torch_threads = 0;  // 0 = LibTorch's default
  std::string eval_mixed_precision = "auto";  // none | bf16 | auto (libs/core/mixed_precision.h)
  int probe_episodes_per_task = 0;         // success probe of each learner checkpoint during RFT
  int perturbation_episodes_per_task = 0;  // perturbation table for base and RFT after the run
  std::string results_markdown;  // e.g. docs/results.md section file; empty = only under out_dir

  template <typename V>
  void VisitFields(V& v) {
    v.Field("launch", launch);
    v.Field("dataset", dataset, "demonstrations for prompts (generated if missing)");
    v.Field("generate_demos_per_task", generate_demos_per_task, "demos per task when generating the dataset");
    v.Field("base_policy", base_policy, "stem of the SFT policy RFT starts from");
    v.Field("eval_episodes_per_task", eval_episodes_per_task, "benchmark episodes per task for base and RFT");
    v.Field("eval_suites", eval_suites, "suites to evaluate (empty = all)");
    v.Field("eval_seed", eval_seed, "evaluation seed (same for base and RFT)");
    v.Field("eval_threads", eval_threads, "environment threads during evaluation");
    v.Field("eval_policy_lanes", eval_policy_lanes,
            "policy forward passes at once during evaluation, each on its own thread (CPU: one per core)");
    v.Field("eval_torch_threads", eval_torch_threads,
            "LibTorch intra-op threads of this process, i.e. of its evaluations (0 = default; with one policy lane "
            "per core, 1)");
    v.Field("eval_mixed_precision", eval_mixed_precision,
            "none | bf16 | auto: bfloat16 autocast for every evaluation and probe (as vlarft eval "
            "--mixed_precision); auto = bf16 only where the CPU runs it natively (AVX512-BF16 or AMX), else float32");
    v.Field("probe_episodes_per_task", probe_episodes_per_task,
            "while RFT runs, a vlarft-evaluator process estimates the success of the newest learner version on "
            "this many episodes per task whenever its last estimate is done (the progress line's success~; 0 = off)");
    v.Field("perturbation_episodes_per_task", perturbation_episodes_per_task,
            "after RFT, evaluate base and RFT under the 8 perturbations (Table 1) with this many episodes per "
            "task (0 = off)");
    v.Field("results_markdown", results_markdown, "also write the results table to this file");
  }
};

evaluation::PolicyEvalSettings EvalSettings(const RftConfig& config, int episodes_per_task, int threads) {
  evaluation::PolicyEvalSettings settings;
  settings.suites = config.eval_suites;
  settings.episodes_per_task = episodes_per_task;
  settings.seed = config.eval_seed;
  settings.threads = threads;
  settings.policy_lanes = config.eval_policy_lanes;
  // Validated before any work (RunRft); the local pipeline evaluates on the CPU.
  settings.bf16 = core::UseBf16(config.eval_mixed_precision, c10::DeviceType::CPU).value_or(false);
  return settings;
}

// Every evaluation of a run uses the same suites and seed, so base and RFT face the same scenes; each
// gets a fresh adapter, so its sampling noise starts from the same seed too.
absl::StatusOr<tabletop::EvalReport> EvaluatePolicy(const models::VlaPolicy& policy, const std::string& name,
                                                    const RftConfig& config, int episodes_per_task, int threads,
                                                    const tabletop::PerturbationSpec& perturbation = {}) {
  return evaluation::EvaluateVlaPolicy(policy, name, EvalSettings(config, episodes_per_task, threads), perturbation);
}

// Table 1 in miniature: both policies under each of the 8 perturbations.
absl::StatusOr<std::vector<tabletop::EvalReport>> EvaluatePerturbations(const models::VlaPolicy& base,
                                                                        const models::VlaPolicy& tuned,
                                                                        const RftConfig& config,
                                                                        const std::function<void(const std::string&)>& say) {
  std::vector<tabletop::EvalReport> reports;
  for (const tabletop::PerturbationSpec& p : tabletop::AllPerturbations()) {
    for (const auto& [policy, name] : {std::pair{&base, "base SFT"}, std::pair{&tuned, "RFT"}}) {
      VLARFT_ASSIGN_OR_RETURN(tabletop::EvalReport report,
                              EvaluatePolicy(*policy, name, config, config.perturbation_episodes_per_task,
                                             config.eval_threads, p));
      say(absl::StrFormat("%s under %s: %.1f%% [%.1f, %.1f]", name, p.Name(), 100 * report.average.rate,
                          100 * report.average.low, 100 * report.average.high));
      reports.push_back(std::move(report));
    }
  }
  return reports;
}

// Success per GRPO step: the probes (small samples, with their intervals) and the two full evaluations.
absl::Status WriteSuccessCurve(const fs::path& png, const tabletop::EvalReport& base, const tabletop::EvalReport& tuned,
                               int64_t steps, const std::vector<evaluation::SuccessEstimate>& probes, int probe_episodes) {
  viz::Series estimate{absl::StrFormat("probe (%d episodes/task)", probe_episodes), {}, {}, viz::PaletteColor(0)};
  viz::Series low{"probe 95% interval", {}, {}, viz::PaletteColor(2)};
  viz::Series high{"", {}, {}, viz::PaletteColor(2)};
  for (const evaluation::SuccessEstimate& p : probes) {
    estimate.x.push_back(p.step), estimate.y.push_back(100 * p.success.rate);
    low.x.push_back(p.step), low.y.push_back(100 * p.success.low);
    high.x.push_back(p.step), high.y.push_back(100 * p.success.high);
  }
  viz::Series full{"full evaluation (base, RFT)", {0.0, static_cast<double>(steps)},
                   {100 * base.average.rate, 100 * tuned.average.rate}, viz::PaletteColor(1)};
  viz::PlotOptions plot;
  plot.title = "benchmark success during RFT";
  plot.x_label = "GRPO step";
  plot.y_label = "average success %";
  std::vector<viz::Series> series = {full};
  if (!probes.empty()) series.insert(series.end(), {estimate, low, high});
  return viz::WritePng(png.string(), viz::LinePlot(series, plot));
}

absl::Status RunRft(const std::vector<std::string>& args) {
  VLARFT_ASSIGN_OR_RETURN(core::ParsedCommandLine parsed, core::ParseCommandLine(args));
  if (parsed.help) {
    std::cout << "usage: vlarft rft [--config configs/tiny.yaml] [--set rft.x=y ...] [--set learner.max_steps=N ...]\n\n"
                 "launcher settings (section 'rft'):\n"
              << core::OptionsHelp(RftConfig{}, "rft", "--set ")
              << "\nEvery other section of the config document configures the service of that name.\n";
    return absl::OkStatus();
  }
  if (!parsed.positional.empty() || parsed.options.size() > 0) {
    return absl::InvalidArgumentError("vlarft rft takes only --config and --set");
  }
  VLARFT_ASSIGN_OR_RETURN(RftConfig config, core::LoadConfig<RftConfig>(parsed.config_file, parsed.config_overrides, "rft"));
  VLARFT_RETURN_IF_ERROR(core::ValidateMixedPrecision(config.eval_mixed_precision, "rft.eval_mixed_precision"));
  // Checked here, where the message can name the keys, before the base evaluation starts.
  if (config.eval_policy_lanes < 1 || config.eval_policy_lanes > evaluation::kMaxPolicyLanes ||
      config.eval_torch_threads < 0) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "rft.eval_policy_lanes is %d and rft.eval_torch_threads %d; need 1 to %d lanes and >= 0 threads",
        config.eval_policy_lanes, config.eval_torch_threads, evaluation::kMaxPolicyLanes));
  }
  if (config.eval_torch_threads > 0) torch::set_num_threads(config.eval_torch_threads);
  // The learner's section is checked here too, before the base evaluation, so a bad value fails in
  // seconds rather than after minutes of evaluation when the learner process refuses it.
  std::vector<std::string> learner_overrides = parsed.config_overrides;
  learner_overrides.push_back("learner.policy_checkpoint=" + config.base_policy);  // as the launch forces it
  VLARFT_ASSIGN_OR_RETURN(const services::LearnerConfig learner,
                          core::LoadConfig<services::LearnerConfig>(parsed.config_file, learner_overrides, "learner"));
  auto say = [](const std::string& line) { std::cout << "[rft] " << line << std::endl; };
  if (learner.checkpoint_every == 0 || learner.checkpoint_every > learner.max_steps) {
    say(absl::StrFormat("warning: learner.checkpoint_every = %d with learner.max_steps = %d: the learner checkpoints "
                        "only at the end, so a learner restart loses every step trained before it",
                        learner.checkpoint_every, learner.max_steps));
  }
  // The workers' seeds come from rollout.seed: a bad one fails now, not after the base evaluation.
  VLARFT_RETURN_IF_ERROR(
      RolloutRootSeed(parsed.config_file, parsed.config_overrides, config.launch.rollout_workers).status());
  const fs::path out = config.launch.out_dir;
  fs::create_directories(out);

  if (!fs::exists(config.base_policy + ".safetensors")) {
    return absl::FailedPreconditionError(absl::StrCat(
        "base policy ", config.base_policy, ".safetensors not found; train it with: vlarft train policy --config ",
        parsed.config_file.empty() ? "configs/tiny.yaml" : parsed.config_file, " --dataset ", config.dataset,
        " --out ", config.base_policy));
  }
  // Loaded (and so checked) before anything slow runs: a wrong or corrupt checkpoint fails now.
  VLARFT_ASSIGN_OR_RETURN(const models::VlaPolicy base_policy, models::LoadPolicy(config.base_policy));

  if (!fs::exists(config.dataset)) {
    say("no demonstrations at " + config.dataset + "; generating them");
    data::GenerateOptions generate;
    generate.out = config.dataset;
    generate.demos_per_task = config.generate_demos_per_task;
    VLARFT_RETURN_IF_ERROR(data::GenerateDemos(generate, [](const std::string&) {}).status());
  }
  say(absl::StrFormat("evaluating the base policy (%d episodes per task)", config.eval_episodes_per_task));
  VLARFT_ASSIGN_OR_RETURN(tabletop::EvalReport base, EvaluatePolicy(base_policy, "base SFT", config,
                                                                     config.eval_episodes_per_task, config.eval_threads));
  say(absl::StrFormat("base average success %.1f%%", 100 * base.average.rate));

  // Every service reads the same document, with the launcher's dataset/policy forced consistent.
  std::vector<std::string> overrides = parsed.config_overrides;
  overrides.push_back("learner.policy_checkpoint=" + config.base_policy);
  overrides.push_back("rollout.policy_checkpoint=" + config.base_policy);
  overrides.push_back("rollout.dataset=" + config.dataset);
  overrides.push_back("simulator.dataset=" + config.dataset);  // the tabletop backend replays the same demos
  // Success while training: the evaluator process, on the evaluation's suites, seed and precision
  // at probe size (docs/operations.md, "Measuring success on a cluster").
  std::optional<evaluation::SuccessProbe> probe;
  if (config.probe_episodes_per_task > 0) {
    probe.emplace((fs::absolute(config.launch.out_dir) / "evaluator_results.jsonl").string());
    std::string suites = "[";
    for (const std::string& suite : config.eval_suites) absl::StrAppend(&suites, suites.size() > 1 ? ", " : "", suite);
    for (const std::string& o :
         {"evaluator.policy_checkpoint=" + config.base_policy,
          absl::StrCat("evaluator.episodes_per_task=", config.probe_episodes_per_task), "evaluator.suites=" + suites + "]",
          absl::StrCat("evaluator.seed=", config.eval_seed), "evaluator.mixed_precision=" + config.eval_mixed_precision,
          std::string("evaluator.threads=1"), std::string("evaluator.torch_threads=1"),
          // About one evaluation per learner checkpoint interval, as the probe did (the evaluator
          // shares the cores with training), on a stride that divides max_steps so the final
          // version is one the evaluator asks for (the launcher waits for it).
          absl::StrCat("evaluator.version_stride=",
                       std::max<int64_t>(1, std::gcd(learner.checkpoint_every, learner.max_steps)))}) {
      overrides.push_back(o);
    }
  }
  VLARFT_ASSIGN_OR_RETURN(RftRunResult run, LaunchRft(config.launch, parsed.config_file, overrides, say,
                                                      probe ? &*probe : nullptr));
  // An unclean shutdown fails the command, but only after the results are evaluated and written.
  const absl::Status shutdown = CheckCleanShutdown(run.processes);
  say(shutdown.ok() ? std::string("all services exited with status 0") : std::string(shutdown.message()));

  const models::TrainingCheckpoints checkpoints(run.final_policy_dir);
  const std::optional<std::string> latest = checkpoints.Latest();
  if (!latest) return absl::DataLossError("the learner left no checkpoint in " + run.final_policy_dir);
  say("evaluating the fine-tuned policy from " + *latest);
  const std::string tuned_stem = (fs::path(*latest) / "model").string();
  VLARFT_ASSIGN_OR_RETURN(const models::VlaPolicy tuned_policy, models::LoadPolicy(tuned_stem));
  VLARFT_ASSIGN_OR_RETURN(tabletop::EvalReport tuned, EvaluatePolicy(tuned_policy, "RFT", config,
                                                                      config.eval_episodes_per_task, config.eval_threads));
  std::vector<tabletop::EvalReport> perturbed;
  if (config.perturbation_episodes_per_task > 0) {
    say(absl::StrFormat("perturbation table: base and RFT under 8 perturbations, %d episodes per task",
                        config.perturbation_episodes_per_task));
    VLARFT_ASSIGN_OR_RETURN(perturbed, EvaluatePerturbations(base_policy, tuned_policy, config, say));
  }

  // Results: table, curve, JSON.
  const int64_t steps = run.steps.empty() ? 0 : run.steps.back().step;
  // Both evaluations ran the same episodes (eval_seed), so the difference is judged pair by pair.
  // Should that ever fail, the results are still written, without the paired table.
  PairedResults paired = MakePairedResults(base, tuned);
  std::string table = paired.markdown;
  const std::string& paired_summary = paired.summary;
  if (paired.record.contains("paired_error")) {
    say("no paired comparison: " + paired.record["paired_error"].get<std::string>());
  }
  if (!perturbed.empty()) {
    absl::StrAppend(&table, "\nUnder perturbations (average success %, ", config.perturbation_episodes_per_task,
                    " episodes per task):\n\n", tabletop::PerturbationMarkdown(perturbed));
  }
  const std::string summary = absl::StrFormat(
      "RFT: %d steps in %.1f min on this machine (%d learner ranks, %d rollout workers, %d restarts, %d steps "
      "lost to restarts); average success %.1f%% -> %.1f%%%s",
      steps, run.seconds / 60, config.launch.learner_ranks, config.launch.rollout_workers, run.restarts,
      run.lost_steps,
      100 * base.average.rate, 100 * tuned.average.rate, paired_summary);
  std::cout << "\n" << table << "\n" << summary << "\n";
  std::ofstream(out / "results.md") << table << "\n" << summary << "\n";
  if (!config.results_markdown.empty()) std::ofstream(config.results_markdown) << table << "\n" << summary << "\n";
  viz::Series reward{"reward mean", {}, {}, viz::PaletteColor(0)};
  for (const RftStepRecord& r : run.steps) reward.x.push_back(r.step), reward.y.push_back(r.reward_mean);
  viz::PlotOptions plot;
  plot.title = "RFT reward (imagined vs expert)";
  plot.x_label = "GRPO step";
  plot.y_label = "reward mean";
  VLARFT_RETURN_IF_ERROR(viz::WritePng((out / "reward_curve.png").string(), viz::LinePlot({reward}, plot)));
  const std::vector<evaluation::SuccessEstimate> probes = probe ? probe->history() : std::vector<evaluation::SuccessEstimate>{};
  VLARFT_RETURN_IF_ERROR(
      WriteSuccessCurve(out / "success_curve.png", base, tuned, steps, probes, config.probe_episodes_per_task));
  nlohmann::json record = paired.record;
  record["steps"] = steps;
  record["seconds"] = run.seconds;
  record["restarts"] = run.restarts;
  record["lost_steps"] = run.lost_steps;
  for (const RftStepRecord& r : run.steps) record["curve"].push_back({r.step, r.reward_mean, r.seconds});
  for (const evaluation::SuccessEstimate& p : probes) {
    record["success_probes"].push_back(
        {{"step", p.step}, {"rate", p.success.rate}, {"low", p.success.low}, {"high", p.success.high}});
  }
  if (!perturbed.empty()) record["perturbations"] = nlohmann::json::parse(tabletop::ReportsJson(perturbed));
  for (const RftProcessRecord& p : run.processes) {
    record["processes"].push_back({{"name", p.name},
                                   {"restarts", p.restarts},
                                   {"exit_code", p.exit_code.has_value() ? nlohmann::json(*p.exit_code) : nlohmann::json()}});
  }
  std::ofstream(out / "results.json") << record.dump(2) << "\n";
  say("wrote " + (out / "results.md").string() + ", reward_curve.png, success_curve.png, results.json");
  return shutdown;
}

}  // namespace

void AddRftCommands(std::vector<Command>& commands) {
  commands.push_back({{"rft"}, "the local RFT pipeline: base eval, services, GRPO, RFT eval", &RunRft});
}

}  // namespace vlarft::cli
