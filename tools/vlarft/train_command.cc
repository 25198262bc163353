// `vlarft train policy`: supervised flow-matching training of the VLA policy on demonstrations.
// Model and training settings come from the config document's `policy:` and `policy_training:`
// sections (configs/tiny.yaml, configs/paper.yaml), overridable with --set.
#include <filesystem>
#include <fstream>
#include <iostream>

#include "absl/strings/str_format.h"
#include "libs/core/command_line.h"
#include "libs/core/config.h"
#include "libs/core/status.h"
#include "libs/data/demo_dataset.h"
#include "libs/models/train_policy.h"
#include "libs/viz/image.h"
#include "tools/vlarft/command.h"
#include "libs/training/demo_policy_data.h"

namespace vlarft::cli {
namespace {

struct TrainPolicyOptions {
  std::string dataset = "data/tabletop";
  std::vector<std::string> suites;
  int max_demos_per_task = 0;
  double validation_fraction = 0.05;
  std::string out = "checkpoints/tiny/policy";
  std::string checkpoint_dir;  // default: <out>_ckpt

  template <typename V>
  void VisitFields(V& v) {
    v.Field("dataset", dataset, "directory of demonstrations (HDF5)");
    v.Field("suites", suites, "suites to train on (empty = all)");
    v.Field("max_demos_per_task", max_demos_per_task, "cap on demos per task (0 = all)");
    v.Field("validation_fraction", validation_fraction, "episodes held out for validation loss");
    v.Field("out", out, "stem of the trained policy checkpoint");
    v.Field("checkpoint_dir", checkpoint_dir, "resumable training checkpoints (default <out>_ckpt)");
  }
};

absl::Status WriteLossCurves(const std::string& stem, const models::PolicyTrainResult& result) {
  std::ofstream csv(stem + "_loss.csv");
  csv << "step,split,loss\n";
  viz::Series train{"train", {}, {}, viz::PaletteColor(0)}, val{"validation", {}, {}, viz::PaletteColor(1)};
  for (const auto& [step, loss] : result.train_loss) {
    csv << step << ",train," << loss << "\n";
    train.x.push_back(step), train.y.push_back(loss);
  }
  for (const auto& [step, loss] : result.validation_loss) {
    csv << step << ",validation," << loss << "\n";
    val.x.push_back(step), val.y.push_back(loss);
  }
  viz::PlotOptions plot;
  plot.title = "policy SFT (flow matching)";
  plot.x_label = "step";
  plot.y_label = "loss";
  plot.log_y = true;
  return viz::WritePng(stem + "_loss.png", viz::LinePlot({train, val}, plot));
}

absl::Status RunTrainPolicy(const std::vector<std::string>& args) {
  VLARFT_ASSIGN_OR_RETURN(core::ParsedCommandLine parsed, core::ParseCommandLine(args));
  TrainPolicyOptions options;
  if (parsed.help) {
    std::cout << "usage: vlarft train policy [options] [--config FILE] [--set policy.x=y ...]\n\noptions:\n"
              << core::OptionsHelp(options) << "\nmodel (section 'policy'):\n"
              << core::OptionsHelp(models::PolicyConfig{}, "policy", "--set ") << "\ntraining (section 'policy_training'):\n"
              << core::OptionsHelp(models::PolicyTrainConfig{}, "policy_training", "--set ");
    return absl::OkStatus();
  }
  VLARFT_RETURN_IF_ERROR(core::BindOptions(parsed, &options));
  VLARFT_ASSIGN_OR_RETURN(models::PolicyConfig model,
                          core::LoadConfig<models::PolicyConfig>(parsed.config_file, parsed.config_overrides, "policy"));
  VLARFT_ASSIGN_OR_RETURN(models::PolicyTrainConfig training,
                          core::LoadConfig<models::PolicyTrainConfig>(parsed.config_file, parsed.config_overrides,
                                                                      "policy_training"));
  VLARFT_ASSIGN_OR_RETURN(data::DemoDataset dataset,
                          data::LoadDemoDirectory(options.dataset, options.suites,
                                                  static_cast<int>(model.encoder.image_size), options.max_demos_per_task));
  std::cout << absl::StrFormat("loaded %d demonstrations from %s\n", dataset.episodes.size(), options.dataset);
  training::DemoPolicyData source(&dataset, model.chunk_length, training.seed, options.validation_fraction);
  const std::string checkpoint_dir = options.checkpoint_dir.empty() ? options.out + "_ckpt" : options.checkpoint_dir;
  VLARFT_ASSIGN_OR_RETURN(models::PolicyTrainResult result,
                          models::TrainPolicy(model, training, source, checkpoint_dir, options.out,
                                              [](const std::string& line) { std::cout << line << std::endl; }));
  if (!result.complete) {
    std::cout << "stopped early (stop_after_steps); rerun the same command to resume from " << checkpoint_dir << "\n";
    return absl::OkStatus();
  }
  VLARFT_RETURN_IF_ERROR(WriteLossCurves(options.out, result));
  std::cout << absl::StrFormat("trained in %.0f s -> %s.safetensors (+ .yaml, _loss.png)\n", result.seconds, options.out);
  return absl::OkStatus();
}

}  // namespace

void AddTrainCommands(std::vector<Command>& commands) {
  commands.push_back({{"train", "policy"}, "SFT of the VLA policy by flow matching", &RunTrainPolicy});
}

}  // namespace vlarft::cli
