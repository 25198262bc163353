// `vlarft study rft`: GRPO in one process (rft_study.h) from the configured SFT policy, then the
// paired benchmark evaluation of start vs tuned policy with the same tables and results.json layout
// as `vlarft rft`, plus reward / success curves. Reads the same config document as `vlarft rft`:
// learner.{grpo, optim, prompts_per_step}, rollout.{group_size, horizon, wm_*, seed,
// validation_fraction}, simulator.{tokenizer,world_model}_checkpoint, reward.scoring, rft.{base_policy,
// dataset, eval_*}; `--set` overrides any of them.
#include <filesystem>
#include <iostream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "libs/core/file_io.h"
#include "libs/core/mixed_precision.h"
#include "libs/core/command_line.h"
#include "libs/core/config.h"
#include "libs/core/status.h"
#include "libs/models/checkpoint.h"
#include "libs/tabletop/report.h"
#include "libs/viz/image.h"
#include "tools/vlarft/command.h"
#include "tools/vlarft/config_document.h"
#include "tools/vlarft/policy_evaluation.h"
#include "studies/rft_study.h"

namespace vlarft::cli {
namespace fs = std::filesystem;
namespace {

struct StudyFlags {
  std::string reward = "oracle";
  std::string control = "none";
  int64_t steps = 100;
  uint64_t seed = 1;
  std::string out = "out/study/rft";
  std::string base_eval;  // cache of the start policy's evaluation (read if it exists, else written)
  int eval_episodes_per_task = -1;  // -1: rft.eval_episodes_per_task
  int64_t eval_seed = -1;           // -1: rft.eval_seed
  std::string eval_mixed_precision;  // empty: rft.eval_mixed_precision
  std::string oracle_finish = "expert";
  std::string imagine = "parallel";
  double world_model_weight = 1.0;
  int torch_threads = 0;

  template <typename V>
  void VisitFields(V& v) {
    v.Field("reward", reward,
            "oracle | real_frames | tokenized_frames (real frames through the tokenizer) | world_model | "
            "world_model_blend (tokenized real frames + w x (imagination - them))");
    v.Field("control", control, "none | shuffled (rewards permuted within each group) | zero (advantages 0)");
    v.Field("steps", steps, "GRPO steps");
    v.Field("seed", seed, "training seed (prompts, policy and world-model noise, learner draws)");
    v.Field("out", out, "output directory");
    v.Field("base_eval", base_eval,
            "JSON file caching the start policy's evaluation: read if it exists (its seed and episodes must match), "
            "else evaluated and written there");
    v.Field("eval_episodes_per_task", eval_episodes_per_task, "episodes per task (default rft.eval_episodes_per_task)");
    v.Field("eval_seed", eval_seed, "evaluation seed (default rft.eval_seed)");
    v.Field("eval_mixed_precision", eval_mixed_precision, "none | bf16 | auto (default rft.eval_mixed_precision)");
    v.Field("oracle_finish", oracle_finish,
            "expert | policy: who finishes each sample's episode for the oracle reward (policy = the policy "
            "being trained, deterministic, in the evaluation's precision)");
    v.Field("imagine", imagine,
            "parallel | batched: with reward world_model, whether a step's groups are imagined at the same time "
            "on separate threads (fastest on a multi-core CPU) or in one batched decode loop (a GPU)");
    v.Field("world_model_weight", world_model_weight,
            "w in [0, 1] for reward world_model_blend: a world model w times as wrong as the configured one");
    v.Field("torch_threads", torch_threads, "intra-op threads (0 = LibTorch default)");
  }
};

template <typename T>
absl::Status Section(const YAML::Node& root, const std::string& path, T* out) {
  return core::BindConfig(core::NodeAtPath(root, path), out, path);
}

absl::StatusOr<studies::RftStudyOptions> StudyOptions(const YAML::Node& root, const StudyFlags& flags) {
  studies::RftStudyOptions o;
  VLARFT_ASSIGN_OR_RETURN(o.reward, studies::ParseStudyReward(flags.reward));
  VLARFT_ASSIGN_OR_RETURN(o.control, studies::ParseStudyControl(flags.control));
  o.steps = flags.steps;
  o.seed = flags.seed;
  VLARFT_ASSIGN_OR_RETURN(o.policy, ConfigScalar<std::string>(root, "rft.base_policy", "checkpoints/tiny/policy_heatmap_15w"));
  VLARFT_ASSIGN_OR_RETURN(o.dataset, ConfigScalar<std::string>(root, "rft.dataset", "data/tabletop"));
  VLARFT_ASSIGN_OR_RETURN(o.suites, ConfigScalar<std::vector<std::string>>(root, "rollout.suites", {}));
  VLARFT_ASSIGN_OR_RETURN(o.split_seed, ConfigScalar<uint64_t>(root, "rollout.seed", 1));
  VLARFT_ASSIGN_OR_RETURN(o.validation_fraction, ConfigScalar<double>(root, "rollout.validation_fraction", 0.1));
  VLARFT_ASSIGN_OR_RETURN(o.tokenizer, ConfigScalar<std::string>(root, "simulator.tokenizer_checkpoint", ""));
  VLARFT_ASSIGN_OR_RETURN(o.world_model, ConfigScalar<std::string>(root, "simulator.world_model_checkpoint", ""));
  VLARFT_ASSIGN_OR_RETURN(o.prompts_per_step, ConfigScalar<int64_t>(root, "learner.prompts_per_step", 2));
  VLARFT_ASSIGN_OR_RETURN(o.producer.group_size, ConfigScalar<int64_t>(root, "rollout.group_size", 16));
  VLARFT_ASSIGN_OR_RETURN(o.producer.horizon, ConfigScalar<int64_t>(root, "rollout.horizon", 1));
  VLARFT_ASSIGN_OR_RETURN(o.producer.wm_temperature, ConfigScalar<double>(root, "rollout.wm_temperature", 1.0));
  VLARFT_ASSIGN_OR_RETURN(o.producer.wm_top_k, ConfigScalar<int64_t>(root, "rollout.wm_top_k", 0));
  VLARFT_ASSIGN_OR_RETURN(o.producer.wm_top_p, ConfigScalar<double>(root, "rollout.wm_top_p", 0.0));
  VLARFT_RETURN_IF_ERROR(Section(root, "learner.grpo", &o.grpo));
  VLARFT_RETURN_IF_ERROR(Section(root, "learner.optim", &o.optim));
  VLARFT_RETURN_IF_ERROR(Section(root, "reward.scoring", &o.scoring));
  if ((o.reward == studies::StudyReward::kWorldModel || o.reward == studies::StudyReward::kWorldModelBlend) &&
      (o.tokenizer.empty() || o.world_model.empty())) {
    return absl::InvalidArgumentError(absl::StrCat("--reward ", flags.reward,
                                                   " needs simulator.tokenizer_checkpoint and simulator.world_model_checkpoint"));
  }
  o.world_model_weight = flags.world_model_weight;
  if (o.tokenizer.empty()) {
    VLARFT_ASSIGN_OR_RETURN(o.tokenizer, ConfigScalar<std::string>(root, "reward.tokenizer_checkpoint", ""));
  }
  return o;
}

absl::StatusOr<tabletop::EvalReport> BaseEvaluation(const std::string& policy_stem, const evaluation::PolicyEvalSettings& settings,
                                                    const std::string& cache,
                                                    const std::function<void(const std::string&)>& say) {
  if (!cache.empty() && fs::exists(cache)) {
    VLARFT_ASSIGN_OR_RETURN(const std::string text, core::ReadFileToString(cache));
    VLARFT_ASSIGN_OR_RETURN(std::vector<tabletop::EvalReport> reports, tabletop::ParseReportsJson(text));
    const std::string want_precision = core::PrecisionName(settings.bf16);
    if (reports.size() != 1 || reports[0].seed != settings.seed ||
        reports[0].episodes_per_task != settings.episodes_per_task ||
        (!reports[0].precision.empty() && reports[0].precision != want_precision)) {
      return absl::FailedPreconditionError(absl::StrCat(
          "--base_eval ", cache, " holds another evaluation (seed ", reports.empty() ? 0 : reports[0].seed,
          ", episodes per task ", reports.empty() ? 0 : reports[0].episodes_per_task, ", precision ",
          reports.empty() || reports[0].precision.empty() ? "?" : reports[0].precision, "); want seed ", settings.seed,
          ", ", settings.episodes_per_task, " and ", want_precision, " (delete it or name another file)"));
    }
    say("start policy's evaluation read from " + cache);
    return reports[0];
  }
  VLARFT_ASSIGN_OR_RETURN(const models::VlaPolicy policy, models::LoadPolicy(policy_stem));
  VLARFT_ASSIGN_OR_RETURN(tabletop::EvalReport report, evaluation::EvaluateVlaPolicy(policy, "base SFT", settings));
  if (!cache.empty()) VLARFT_RETURN_IF_ERROR(core::WriteFileAtomically(cache, tabletop::ReportJson(report) + "\n"));
  return report;
}

absl::Status RunRftStudyCommand(const std::vector<std::string>& args) {
  VLARFT_ASSIGN_OR_RETURN(core::ParsedCommandLine parsed, core::ParseCommandLine(args));
  if (parsed.help) {
    std::cout << "usage: vlarft study rft [--config configs/tiny.yaml] [--reward oracle|real_frames|tokenized_frames|world_model|world_model_blend]\n"
                 "                        [--control none|shuffled|zero] [--steps N] [--seed S] [--out DIR]\n"
                 "                        [--base_eval FILE] [--set section.key=value ...]\n\n"
                 "GRPO in one process (same rollout loop and learner step as `vlarft rft`), then the paired\n"
                 "evaluation of the start policy vs the tuned one. Options:\n"
              << core::OptionsHelp(StudyFlags{}, "", "--");
    return absl::OkStatus();
  }
  StudyFlags flags;
  VLARFT_RETURN_IF_ERROR(core::BindOptions(parsed, &flags));
  if (!parsed.positional.empty()) return absl::InvalidArgumentError("vlarft study rft takes no positional arguments");
  VLARFT_ASSIGN_OR_RETURN(const YAML::Node root, LoadConfigDocument(parsed.config_file, parsed.config_overrides));
  VLARFT_ASSIGN_OR_RETURN(studies::RftStudyOptions options, StudyOptions(root, flags));
  evaluation::PolicyEvalSettings eval;
  VLARFT_ASSIGN_OR_RETURN(eval.suites, ConfigScalar<std::vector<std::string>>(root, "rft.eval_suites", {}));
  VLARFT_ASSIGN_OR_RETURN(eval.episodes_per_task, ConfigScalar<int>(root, "rft.eval_episodes_per_task", 50));
  VLARFT_ASSIGN_OR_RETURN(eval.seed, ConfigScalar<uint64_t>(root, "rft.eval_seed", 1000));
  VLARFT_ASSIGN_OR_RETURN(eval.threads, ConfigScalar<int>(root, "rft.eval_threads", 2));
  VLARFT_ASSIGN_OR_RETURN(std::string precision, ConfigScalar<std::string>(root, "rft.eval_mixed_precision", "auto"));
  if (flags.eval_episodes_per_task > 0) eval.episodes_per_task = flags.eval_episodes_per_task;
  if (flags.eval_seed >= 0) eval.seed = static_cast<uint64_t>(flags.eval_seed);
  if (!flags.eval_mixed_precision.empty()) precision = flags.eval_mixed_precision;
  VLARFT_ASSIGN_OR_RETURN(eval.bf16, core::UseBf16(precision, c10::DeviceType::CPU, "eval_mixed_precision"));
  precision = core::PrecisionName(eval.bf16);  // what ran, in results.json
  options.oracle_finisher = flags.oracle_finish;
  if (flags.imagine != "parallel" && flags.imagine != "batched") {
    return absl::InvalidArgumentError(absl::StrCat("--imagine is '", flags.imagine, "'; expected parallel or batched"));
  }
  options.imagine = flags.imagine;
  options.finisher_bf16 = eval.bf16;
  if (flags.torch_threads > 0) torch::set_num_threads(flags.torch_threads);

  auto say = [](const std::string& line) { std::cout << "[study rft] " << line << std::endl; };
  const fs::path out = flags.out;
  fs::create_directories(out);
  say(absl::StrFormat("reward %s, control %s, %d steps, %d prompts x %d samples per step, seed %d, from %s",
                      flags.reward, flags.control, options.steps, options.prompts_per_step,
                      options.producer.group_size, options.seed, options.policy));
  VLARFT_ASSIGN_OR_RETURN(studies::RftStudyResult run, studies::RunRftStudy(options, say));
  const std::string tuned_stem = (out / "policy").string();
  VLARFT_RETURN_IF_ERROR(models::SaveModel(tuned_stem, *run.tuned, models::PolicySidecar(run.tuned, options.steps)));
  say(absl::StrFormat("trained in %.1f min: sampling %.0f s, simulator %.0f s, reward %.0f s, learner %.0f s; saved %s",
                      run.seconds / 60, run.stage_seconds.policy, run.stage_seconds.simulator,
                      run.stage_seconds.reward, run.learner_seconds, tuned_stem));

  VLARFT_ASSIGN_OR_RETURN(tabletop::EvalReport base, BaseEvaluation(options.policy, eval, flags.base_eval, say));
  VLARFT_ASSIGN_OR_RETURN(const models::VlaPolicy tuned, models::LoadPolicy(tuned_stem));
  VLARFT_ASSIGN_OR_RETURN(tabletop::EvalReport tuned_report, evaluation::EvaluateVlaPolicy(tuned, "RFT", eval));
  PairedResults results = MakePairedResults(base, tuned_report);
  const std::string summary = absl::StrFormat(
      "study rft (reward %s, control %s, seed %d): %d steps in %.1f min; average success %.1f%% -> %.1f%%%s",
      flags.reward, flags.control, options.seed, options.steps, run.seconds / 60, 100 * base.average.rate,
      100 * tuned_report.average.rate, results.summary);
  std::cout << "\n" << results.markdown << "\n" << summary << "\n";
  VLARFT_RETURN_IF_ERROR(core::WriteFileAtomically((out / "results.md").string(), results.markdown + "\n" + summary + "\n"));

  nlohmann::json& record = results.record;
  record["study"] = {{"reward", flags.reward},       {"control", flags.control},
                     {"seed", options.seed},         {"steps", options.steps},
                     {"prompts_per_step", options.prompts_per_step},
                     {"group_size", options.producer.group_size},
                     {"eval_seed", eval.seed},       {"eval_mixed_precision", precision},
                     {"oracle_finish", flags.oracle_finish},
                     {"imagine", flags.imagine},
                     {"world_model_weight", flags.world_model_weight},
                     {"policy", options.policy}};
  record["seconds"] = {{"total", run.seconds},
                       {"sampling", run.stage_seconds.policy},
                       {"simulator", run.stage_seconds.simulator},
                       {"reward", run.stage_seconds.reward},
                       {"learner", run.learner_seconds}};
  viz::Series reward{"reward mean", {}, {}, viz::PaletteColor(0)};
  for (const studies::RftStudyStep& s : run.steps) {
    reward.x.push_back(s.step), reward.y.push_back(s.reward_mean);
    record["curve"].push_back({{"step", s.step}, {"reward_mean", s.reward_mean}, {"reward_std", s.metrics.reward_std},
                               {"zero_variance_groups", s.metrics.zero_variance_groups},
                               {"clip_fraction", s.metrics.clip_fraction}, {"approx_kl", s.metrics.approx_kl},
                               {"sigma_mean", s.metrics.sigma_mean}, {"grad_norm", s.metrics.grad_norm},
                               {"flow_matching", s.metrics.flow_matching}, {"seconds", s.seconds}});
  }
  VLARFT_RETURN_IF_ERROR(core::WriteFileAtomically((out / "results.json").string(), record.dump(2) + "\n"));
  viz::PlotOptions plot;
  plot.title = absl::StrCat("study rft: ", flags.reward, " reward (", flags.control, " control), seed ", options.seed);
  plot.x_label = "GRPO step";
  plot.y_label = "reward mean (true rewards)";
  VLARFT_RETURN_IF_ERROR(viz::WritePng((out / "reward_curve.png").string(), viz::LinePlot({reward}, plot)));
  viz::Series success{"average success %", {0.0, static_cast<double>(options.steps)},
                      {100 * base.average.rate, 100 * tuned_report.average.rate}, viz::PaletteColor(1)};
  plot.y_label = "average success % (start, tuned)";
  VLARFT_RETURN_IF_ERROR(viz::WritePng((out / "success_curve.png").string(), viz::LinePlot({success}, plot)));
  say("wrote " + (out / "results.md").string() + ", results.json, reward_curve.png, success_curve.png, policy.*");
  return absl::OkStatus();
}

}  // namespace

void AddRftStudyCommands(std::vector<Command>& commands) {
  commands.push_back({{"study", "rft"}, "GRPO in one process with a chosen reward and control, then paired eval",
                      &RunRftStudyCommand});
}

}  // namespace vlarft::cli
