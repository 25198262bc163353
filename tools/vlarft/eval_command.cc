// `vlarft eval`: a policy (scripted expert, random, or a trained checkpoint) in the benchmark; prints
// and writes (JSON + Markdown) the paper-style table, optionally with the perturbation table.
#include <filesystem>
#include <fstream>
#include <iostream>

#include "absl/strings/str_format.h"
#include "libs/models/policy.h"
#include "libs/tabletop/evaluation.h"
#include "tools/vlarft/command.h"
#include "tools/vlarft/command_options.h"
#include "tools/vlarft/policy_adapter.h"

namespace vlarft::cli {
namespace {

struct EvalCommandOptions {
  std::string policy = "expert";  // expert | random | <policy checkpoint stem>
  std::vector<std::string> suites;
  int episodes_per_task = 50;
  uint64_t seed = 0;
  std::string perturbation = "none";  // none | <mode>:<minor|major> | all
  int threads = 2;
  int image_size = 64;                // for expert/random; checkpoints use their own
  bool sde = false;
  int64_t torch_threads = 0;
  std::string out;                    // directory for eval.json / eval.md (empty: print only)

  template <typename V>
  void VisitFields(V& v) {
    v.Field("policy", policy, "expert | random | stem of a policy checkpoint");
    v.Field("suites", suites, "suites to evaluate (empty = all)");
    v.Field("episodes_per_task", episodes_per_task, "episodes per task (fixed seeds)");
    v.Field("seed", seed, "evaluation seed");
    v.Field("perturbation", perturbation, "none | object_position|goal_position|robot_init|combined[:minor|:major] | all");
    v.Field("threads", threads, "environment threads");
    v.Field("image_size", image_size, "frame size for expert/random");
    v.Field("sde", sde, "sample the stochastic (SDE) policy instead of the ODE");
    v.Field("torch_threads", torch_threads, "LibTorch intra-op threads (0 = default)");
    v.Field("out", out, "directory to write eval.json and eval.md");
  }
};

absl::Status RunEval(const std::vector<std::string>& args) {
  EvalCommandOptions options;
  VLARFT_ASSIGN_OR_RETURN(bool run, ParseOptionsOrHelp(args, "usage: vlarft eval [options]", &options));
  if (!run) return absl::OkStatus();
  if (options.torch_threads > 0) torch::set_num_threads(static_cast<int>(options.torch_threads));
  std::vector<tabletop::PerturbationSpec> perturbations;
  if (options.perturbation == "all") {
    perturbations.push_back({});
    for (const auto& p : tabletop::AllPerturbations()) perturbations.push_back(p);
  } else {
    VLARFT_ASSIGN_OR_RETURN(tabletop::PerturbationSpec p, tabletop::ParsePerturbation(options.perturbation));
    perturbations.push_back(p);
  }
  std::vector<const tabletop::TabletopEnv*> envs;
  std::unique_ptr<tabletop::Policy> policy;
  int image_size = options.image_size;
  if (options.policy == "expert") {
    policy = tabletop::MakeExpertPolicy(&envs);
  } else if (options.policy == "random") {
    policy = tabletop::MakeRandomPolicy(options.seed);
  } else {
    VLARFT_ASSIGN_OR_RETURN(models::VlaPolicy loaded, models::LoadPolicy(options.policy));
    image_size = static_cast<int>(loaded->config().encoder.image_size);
    policy = MakeVlaPolicyAdapter(loaded, std::filesystem::path(options.policy).filename().string(),
                                  {options.sde, options.seed, 256});
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
    VLARFT_ASSIGN_OR_RETURN(tabletop::EvalReport report, tabletop::Evaluate(*policy, eval, &envs));
    std::cout << absl::StrFormat("%s, perturbation %s: average %.1f%% (%.0f s)\n", report.policy, report.perturbation,
                                 100 * report.average.rate, report.seconds);
    reports.push_back(std::move(report));
  }
  const std::string markdown = tabletop::ReportMarkdown(reports);
  std::cout << "\n" << markdown;
  if (!options.out.empty()) {
    std::filesystem::create_directories(options.out);
    std::ofstream json(std::filesystem::path(options.out) / "eval.json");
    json << "[";
    for (size_t i = 0; i < reports.size(); ++i) json << (i ? ",\n" : "\n") << tabletop::ReportJson(reports[i]);
    json << "\n]\n";
    std::ofstream(std::filesystem::path(options.out) / "eval.md") << markdown;
    std::cout << "wrote " << options.out << "/eval.json and eval.md\n";
  }
  return absl::OkStatus();
}

}  // namespace

void AddEvalCommands(std::vector<Command>& commands) {
  commands.push_back({{"eval"}, "a policy in the tabletop benchmark (paper-style table)", &RunEval});
}

}  // namespace vlarft::cli
