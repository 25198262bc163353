// `vlarft eval`: a policy (scripted expert, random, or a trained checkpoint) in the tabletop
// benchmark; prints and writes (JSON + Markdown) the paper-style tables: success per suite with 95%
// Wilson intervals and the average, and with --perturbation=all the perturbation table.
#include <chrono>
#include <filesystem>
#include <iostream>

#include "absl/strings/str_format.h"
#include "libs/core/clock_format.h"
#include "libs/core/mixed_precision.h"
#include "libs/core/status.h"
#include "libs/models/policy.h"
#include "libs/tabletop/evaluation.h"
#include "libs/tabletop/policies.h"
#include "tools/vlarft/command.h"
#include "tools/vlarft/command_options.h"
#include "absl/strings/str_replace.h"
#include "tools/vlarft/eval_recording.h"
#include "libs/evaluation/policy_adapter.h"
#include "libs/evaluation/subgoal_error_table.h"

namespace vlarft::cli {
namespace {

struct EvalCommandOptions {
  std::string policy = "expert";  // expert | random | <policy checkpoint stem>
  std::string record_dir;
  int64_t record_episodes = 1;
  std::vector<std::string> suites;
  int episodes_per_task = 50;
  uint64_t seed = 0;
  std::string perturbation = "none";  // none | <mode>[:minor|:major] | all
  int threads = 2;
  int64_t policy_lanes = 1;
  int image_size = 64;  // for expert/random; checkpoints use their own
  int chunk_length = 8;
  double expert_noise = 0.0;
  double expert_pause_prob = 0.0;
  bool sde = false;
  bool oracle_subgoal = false;
  std::string mixed_precision = "auto";  // none | bf16 | auto (libs/core/mixed_precision.h)
  int64_t torch_threads = 0;
  std::string out;  // directory for <name>.json / <name>.md (empty: print only)
  std::string name = "eval";

  template <typename V>
  void VisitFields(V& v) {
    v.Field("policy", policy, "expert | random | stem of a policy checkpoint");
    v.Field("suites", suites, "suites to evaluate, e.g. [spatial,goal] (empty = all)");
    v.Field("episodes_per_task", episodes_per_task, "episodes per task (fixed seeds)");
    v.Field("seed", seed, "evaluation seed: episode e of task t starts from layout StreamSeed(seed, t, e)");
    v.Field("perturbation", perturbation,
            "none | object_position|goal_position|robot_init|combined[:minor|:major] | all (none + the 8 of Table 1)");
    v.Field("threads", threads, "environment threads");
    v.Field("policy_lanes", policy_lanes,
            "policy forward passes at once, each on its own thread over part of the episodes (CPU: one per core, "
            "with --torch_threads 1)");
    v.Field("image_size", image_size, "frame size for expert/random");
    v.Field("chunk_length", chunk_length, "actions executed open-loop per decision");
    v.Field("expert_noise", expert_noise, "--policy=expert: Gaussian noise on its xyz actions (as in data generate)");
    v.Field("expert_pause_prob", expert_pause_prob, "--policy=expert: probability of an idle step");
    v.Field("sde", sde, "sample the stochastic (SDE) policy instead of the ODE");
    v.Field("oracle_subgoal", oracle_subgoal,
            "diagnostic, for policies with a subgoal head (policy.subgoal_localiser): steer by the simulator's true next "
            "subgoal instead of the subgoal head's estimate (success of the controller alone)");
    v.Field("mixed_precision", mixed_precision,
            "none | bf16 | auto: bfloat16 autocast for the policy (its training regime); auto = bf16 where the "
            "device runs it natively (CUDA, CPUs with AVX512-BF16 or AMX; ~4.5x faster there), else float32");
    v.Field("torch_threads", torch_threads, "LibTorch intra-op threads (0 = default)");
    v.Field("out", out, "directory to write <name>.json and <name>.md");
    v.Field("record_dir", record_dir, "write captioned PNG strips of the decision frames of recorded episodes here");
    v.Field("record_episodes", record_episodes, "with --record_dir: episodes recorded per task");
    v.Field("name", name, "file stem of the written results");
  }
};

absl::StatusOr<std::vector<tabletop::PerturbationSpec>> Perturbations(const std::string& spec) {
  if (spec != "all") {
    VLARFT_ASSIGN_OR_RETURN(tabletop::PerturbationSpec p, tabletop::ParsePerturbation(spec));
    return std::vector<tabletop::PerturbationSpec>{p};
  }
  std::vector<tabletop::PerturbationSpec> all = {tabletop::PerturbationSpec{}};
  for (const tabletop::PerturbationSpec& p : tabletop::AllPerturbations()) all.push_back(p);
  return all;
}

absl::Status RunEval(const std::vector<std::string>& args) {
  EvalCommandOptions options;
  VLARFT_ASSIGN_OR_RETURN(bool run, ParseOptionsOrHelp(args, "usage: vlarft eval [options]", &options));
  if (!run) return absl::OkStatus();
  VLARFT_RETURN_IF_ERROR(core::ValidateMixedPrecision(options.mixed_precision, "--mixed_precision"));
  if (options.oracle_subgoal && (options.policy == "expert" || options.policy == "random")) {
    return absl::InvalidArgumentError("--oracle_subgoal needs a policy checkpoint (one with a subgoal head, policy.subgoal_localiser)");
  }
  if (options.torch_threads > 0) torch::set_num_threads(static_cast<int>(options.torch_threads));
  VLARFT_ASSIGN_OR_RETURN(std::vector<tabletop::PerturbationSpec> perturbations, Perturbations(options.perturbation));
  std::vector<const tabletop::TabletopEnv*> envs;
  std::unique_ptr<tabletop::Policy> policy;
  std::string precision;  // the network policy's (none | bf16); empty for expert / random
  evaluation::SubgoalErrorTable subgoal_errors;  // filled for subgoal-conditioned policies
  int image_size = options.image_size;
  if (options.policy == "expert") {
    policy = tabletop::MakeExpertPolicy(&envs, {options.expert_noise, options.expert_pause_prob});
  } else if (options.policy == "random") {
    policy = tabletop::MakeRandomPolicy(options.seed);
  } else {
    VLARFT_ASSIGN_OR_RETURN(models::VlaPolicy loaded, models::LoadPolicy(options.policy));
    image_size = static_cast<int>(loaded->config().encoder.image_size);
    evaluation::PolicyAdapterOptions adapter;
    adapter.sde = options.sde;
    adapter.seed = options.seed;
    adapter.lanes = options.policy_lanes;
    VLARFT_ASSIGN_OR_RETURN(adapter.bf16,
                            core::UseBf16(options.mixed_precision, loaded->parameters().front().device().type()));
    precision = core::PrecisionName(adapter.bf16);
    adapter.oracle_subgoal = options.oracle_subgoal;
    if (loaded->config().HasSubgoalHead()) {
      adapter.subgoal_error = [&subgoal_errors](int task, int step, double error_m) {
        subgoal_errors.Add(task, step, error_m);
      };
    }
    VLARFT_ASSIGN_OR_RETURN(policy, evaluation::MakeVlaPolicyAdapter(loaded, std::filesystem::path(options.policy).filename().string(),
                                                         adapter));
  }
  std::vector<tabletop::EvalReport> reports;
  for (const tabletop::PerturbationSpec& p : perturbations) {
    tabletop::EvalOptions eval;
    eval.suites = options.suites;
    eval.episodes_per_task = options.episodes_per_task;
    eval.seed = options.seed;
    eval.perturbation = p;
    eval.image_size = image_size;
    eval.threads = options.threads;
    eval.chunk_length = options.chunk_length;
    // A progress line at most every 10 s (long evaluations used to print nothing for minutes).
    const auto started = std::chrono::steady_clock::now();
    auto last_line = started;
    eval.progress = [&](const tabletop::EpisodeProgress& at) {
      const auto now = std::chrono::steady_clock::now();
      if (now - last_line < std::chrono::seconds(10)) return;
      last_line = now;
      const double elapsed = std::chrono::duration<double>(now - started).count();
      const double eta = elapsed / at.decisions * std::max(0, at.max_decisions - at.decisions);
      std::cout << absl::StrFormat("[eval] %s: decision %d of at most %d, %d/%d episodes finished, %s elapsed, "
                                   "at most %s left\n",
                                   p.Name(), at.decisions, at.max_decisions, at.finished, at.episodes,
                                   core::FormatClock(elapsed), core::FormatClock(eta))
                << std::flush;
    };
    RecordingPolicy recording(policy.get(), &envs, static_cast<int>(options.episodes_per_task),
                              options.record_dir.empty() ? 0 : static_cast<int>(options.record_episodes));
    VLARFT_ASSIGN_OR_RETURN(tabletop::EvalReport report, tabletop::Evaluate(recording, eval, &envs));
    if (!precision.empty()) report.precision = precision;
    if (!options.record_dir.empty()) {
      VLARFT_RETURN_IF_ERROR(recording.WriteStrips(options.record_dir, p.Name() == "none" ? "" : absl::StrReplaceAll(p.Name(), {{":", "-"}}) + "_"));
    }
    std::cout << absl::StrFormat("%s, perturbation %s: average %.1f%% [%.1f, %.1f] (%.0f s)\n", report.policy,
                                 report.perturbation, 100 * report.average.rate, 100 * report.average.low,
                                 100 * report.average.high, report.seconds)
              << std::flush;
    if (!subgoal_errors.empty()) {
      std::cout << "\nsubgoal head vs the simulator's next subgoal, every decision:\n\n"
                << subgoal_errors.Markdown() << "\n" << std::flush;
      subgoal_errors.Clear();
    }
    reports.push_back(std::move(report));
  }
  std::vector<tabletop::EvalReport> unperturbed;
  for (const tabletop::EvalReport& r : reports) {
    if (r.perturbation == "none") unperturbed.push_back(r);
  }
  if (!unperturbed.empty()) std::cout << "\n" << tabletop::ReportMarkdown(unperturbed);
  if (unperturbed.size() != reports.size()) std::cout << "\n" << tabletop::PerturbationMarkdown(reports);
  if (!options.out.empty()) {
    VLARFT_RETURN_IF_ERROR(tabletop::WriteReports(options.out, options.name, reports));
    std::cout << "\nwrote " << (std::filesystem::path(options.out) / options.name).string() << ".json and .md\n";
  }
  return absl::OkStatus();
}

}  // namespace

void AddEvalCommands(std::vector<Command>& commands) {
  commands.push_back({{"eval"}, "a policy in the tabletop benchmark (paper-style tables)", &RunEval});
}

}  // namespace vlarft::cli
