// `vlarft study reward`: do the rewards rank perturbed expert chunks the way ground-truth task
// success does? (reward_study.h). Writes study.json, study.md, rho.png and examples_N.png.
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "libs/core/status.h"
#include "tools/vlarft/command.h"
#include "tools/vlarft/command_options.h"
#include "studies/reward_study.h"

namespace vlarft::cli {
namespace {

struct StudyRewardOptions {
  std::string tokenizer = "checkpoints/tiny/tokenizer";
  std::string world_model = "checkpoints/tiny/world_model";
  std::string device = "cpu";
  int64_t torch_threads = 1;
  std::string out = "results/reward_study";
  studies::RewardStudyOptions study;

  template <typename V>
  void VisitFields(V& v) {
    v.Field("tokenizer", tokenizer, "stem of the tokenizer checkpoint");
    v.Field("world_model", world_model, "stem of the world-model checkpoint");
    v.Field("device", device, "cpu | cuda | cuda:N");
    v.Field("torch_threads", torch_threads, "intra-op threads (0 = LibTorch default)");
    v.Field("out", out, "output directory (study.json, study.md, rho.png, examples_N.png)");
    study.VisitFields(v);
  }
};

absl::Status CheckCheckpoint(const std::string& flag, const std::string& stem) {
  for (const char* ext : {".safetensors", ".yaml"}) {
    if (!std::filesystem::exists(stem + ext)) {
      return absl::NotFoundError(absl::StrCat("--", flag, ": checkpoint ", stem, ext,
                                              " not found (train it with `vlarft train ", flag == "world_model" ? "world-model" : flag,
                                              "` or pass its stem)"));
    }
  }
  return absl::OkStatus();
}

absl::Status RunStudyReward(const std::vector<std::string>& args) {
  StudyRewardOptions options;
  VLARFT_ASSIGN_OR_RETURN(bool run, ParseOptionsOrHelp(args, "usage: vlarft study reward [options]", &options));
  if (!run) return absl::OkStatus();
  const auto begin = std::chrono::steady_clock::now();
  if (options.torch_threads > 0) torch::set_num_threads(static_cast<int>(options.torch_threads));
  VLARFT_RETURN_IF_ERROR(CheckCheckpoint("tokenizer", options.tokenizer));
  VLARFT_RETURN_IF_ERROR(CheckCheckpoint("world_model", options.world_model));
  VLARFT_ASSIGN_OR_RETURN(torch::Device device,
                          core::CatchTorchErrors("parsing --device", [&] { return torch::Device(options.device); }));
  VLARFT_ASSIGN_OR_RETURN(models::ImaginationEngine engine,
                          models::ImaginationEngine::Load(options.tokenizer, options.world_model, device));
  std::cout << absl::StrFormat("reward study: %d states x %d chunks, world model %s, tokenizer %s\n",
                               options.study.states, options.study.perturbations.size(), options.world_model,
                               options.tokenizer);
  VLARFT_ASSIGN_OR_RETURN(studies::RewardStudyReport report, studies::RunRewardStudy(engine, options.study));

  std::error_code ec;
  std::filesystem::create_directories(options.out, ec);
  if (ec) return absl::PermissionDeniedError(absl::StrCat("cannot create ", options.out, ": ", ec.message()));
  nlohmann::json json = studies::StudyToJson(report, options.study);
  json["checkpoints"] = {{"tokenizer", options.tokenizer}, {"world_model", options.world_model}};
  json["device"] = options.device;
  json["torch_threads"] = options.torch_threads;
  const std::string markdown = studies::StudyToMarkdown(report, options.study);
  std::ofstream(options.out + "/study.json") << json.dump(2) << "\n";
  std::ofstream(options.out + "/study.md") << markdown;
  VLARFT_RETURN_IF_ERROR(viz::WritePng(options.out + "/rho.png", studies::CorrelationChart(report)));
  for (size_t i = 0; i < report.examples.size(); ++i) {
    VLARFT_RETURN_IF_ERROR(viz::WritePng(absl::StrFormat("%s/examples_%d.png", options.out, i), report.examples[i]));
  }
  std::cout << markdown
            << absl::StrFormat("\ndone in %.1f s -> %s/\n",
                               std::chrono::duration<double>(std::chrono::steady_clock::now() - begin).count(),
                               options.out);
  return absl::OkStatus();
}

}  // namespace

void AddStudyCommands(std::vector<Command>& commands) {
  commands.push_back({{"study", "reward"}, "do rewards rank perturbed expert chunks like ground-truth success does?",
                      &RunStudyReward});
}

}  // namespace vlarft::cli
