// `vlarft train tokenizer` and `vlarft train world-model`: stage-1 training of the world model's
// video tokenizer and transformer on demonstrations (docs/world_model.md). Model and training settings
// come from the config document's `tokenizer:` / `world_model:` sections, overridable with --set.
#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>

#include "absl/strings/str_format.h"
#include "libs/core/command_line.h"
#include "libs/core/config.h"
#include "libs/core/device.h"
#include "libs/core/status.h"
#include "libs/data/demo_dataset.h"
#include "libs/models/train_tokenizer.h"
#include "libs/models/train_world_model.h"
#include "libs/rollout/demo_prompt_source.h"
#include "libs/rollout/policy_branch_video_data.h"
#include "libs/viz/image.h"
#include "tools/vlarft/command.h"
#include "libs/training/demo_video_data.h"
#include "tools/vlarft/world_model_sections.h"

namespace vlarft::cli {
namespace {

using History = std::vector<std::pair<int64_t, double>>;

struct DataOptions {
  std::string dataset = "data/tabletop";
  std::vector<std::string> suites;
  int max_demos_per_task = 0;
  double validation_fraction = 0.05;
  uint64_t split_seed = 0;
  std::string device = "cpu";

  template <typename V>
  void VisitFields(V& v) {
    v.Field("dataset", dataset, "directory of demonstrations (HDF5)");
    v.Field("suites", suites, "suites to train on (empty = all)");
    v.Field("max_demos_per_task", max_demos_per_task, "cap on demos per task (0 = all)");
    v.Field("validation_fraction", validation_fraction, "episodes held out for validation");
    v.Field("split_seed", split_seed, "seed of the episode split (same as the policy's and RFT's)");
    v.Field("device", device, "cpu | cuda | cuda:N");
  }
};

struct TrainTokenizerOptions {
  DataOptions data;
  std::string out = "checkpoints/tiny/tokenizer";
  std::string checkpoint_dir;

  template <typename V>
  void VisitFields(V& v) {
    data.VisitFields(v);
    v.Field("out", out, "stem of the trained tokenizer checkpoint");
    v.Field("checkpoint_dir", checkpoint_dir, "resumable training checkpoints (default <out>_ckpt)");
  }
};

struct TrainWorldModelOptions {
  DataOptions data;
  std::string tokenizer = "checkpoints/tiny/tokenizer";
  std::string out = "checkpoints/tiny/world_model";
  std::string checkpoint_dir;
  // Training on the policy's own SDE chunks executed in the benchmark (rollout/policy_branch_video_data.h).
  std::string branch_policy;
  double branch_fraction = 0.5;
  int64_t branch_chunks_per_state = 4;

  template <typename V>
  void VisitFields(V& v) {
    data.VisitFields(v);
    v.Field("tokenizer", tokenizer, "stem of the trained tokenizer checkpoint");
    v.Field("out", out, "stem of the trained world-model checkpoint");
    v.Field("checkpoint_dir", checkpoint_dir, "resumable training checkpoints (default <out>_ckpt)");
    v.Field("branch_policy", branch_policy,
            "policy stem: mix in clips of its SDE chunks executed in the benchmark from training-split "
            "demonstration states (empty = demonstrations only)");
    v.Field("branch_fraction", branch_fraction, "with --branch_policy: share of each training batch that is branch clips");
    v.Field("branch_chunks_per_state", branch_chunks_per_state,
            "with --branch_policy: SDE chunks sampled and executed per state (the contrast the reward ranks)");
  }
};

void Print(const std::string& line) { std::cout << line << std::endl; }

// CSV of every curve and one PNG per group of curves sharing a y axis.
struct Curve {
  std::string name;
  const History* values;
};

absl::Status WriteCurves(const std::string& stem, const std::string& title,
                         const std::vector<std::vector<Curve>>& panels, const std::vector<std::string>& y_labels,
                         const std::vector<bool>& log_y) {
  std::ofstream csv(stem + "_curves.csv");
  csv << "curve,step,value\n";
  for (size_t p = 0; p < panels.size(); ++p) {
    std::vector<viz::Series> series;
    for (size_t i = 0; i < panels[p].size(); ++i) {
      viz::Series s{panels[p][i].name, {}, {}, viz::PaletteColor(static_cast<int>(i))};
      for (const auto& [step, value] : *panels[p][i].values) {
        csv << panels[p][i].name << "," << step << "," << value << "\n";
        s.x.push_back(static_cast<double>(step));
        s.y.push_back(value);
      }
      series.push_back(std::move(s));
    }
    viz::PlotOptions plot;
    plot.title = title;
    plot.x_label = "step";
    plot.y_label = y_labels[p];
    plot.log_y = log_y[p];
    const std::string suffix = p == 0 ? "_loss.png" : absl::StrFormat("_%s.png", y_labels[p]);
    VLARFT_RETURN_IF_ERROR(viz::WritePng(stem + suffix, viz::LinePlot(series, plot)));
  }
  return absl::OkStatus();
}

// Parses options, --config and --set; prints help (returning false) on --help.
template <typename Options, typename Section>
absl::StatusOr<bool> ParseTrainCommand(const std::vector<std::string>& args, const std::string& usage,
                                       const std::string& section_name, Options* options, Section* section) {
  VLARFT_ASSIGN_OR_RETURN(core::ParsedCommandLine parsed, core::ParseCommandLine(args));
  if (parsed.help) {
    std::cout << usage << "\n\noptions:\n" << core::OptionsHelp(*options) << "\nconfig section '" << section_name
              << "':\n" << core::OptionsHelp(Section{}, section_name, "--set ");
    return false;
  }
  if (!parsed.positional.empty()) return absl::InvalidArgumentError("unexpected argument '" + parsed.positional[0] + "'");
  VLARFT_RETURN_IF_ERROR(core::BindOptions(parsed, options));
  VLARFT_ASSIGN_OR_RETURN(*section,
                          core::LoadConfig<Section>(parsed.config_file, parsed.config_overrides, section_name));
  return true;
}

absl::StatusOr<data::DemoDataset> LoadDemos(const DataOptions& options, int64_t image_size) {
  VLARFT_ASSIGN_OR_RETURN(data::DemoDataset dataset,
                          data::LoadDemoDirectory(options.dataset, options.suites, static_cast<int>(image_size),
                                                  options.max_demos_per_task));
  std::cout << absl::StrFormat("loaded %d demonstrations from %s\n", dataset.episodes.size(), options.dataset);
  return dataset;
}

absl::Status RunTrainTokenizer(const std::vector<std::string>& args) {
  TrainTokenizerOptions options;
  TokenizerSection section;
  VLARFT_ASSIGN_OR_RETURN(
      bool run, ParseTrainCommand(args, "usage: vlarft train tokenizer [options] [--config FILE] [--set tokenizer.x=y ...]",
                                  "tokenizer", &options, &section));
  if (!run) return absl::OkStatus();
  VLARFT_ASSIGN_OR_RETURN(torch::Device device, core::ParseDevice(options.data.device, "--device"));
  VLARFT_ASSIGN_OR_RETURN(data::DemoDataset dataset, LoadDemos(options.data, section.model.image_size));
  training::DemoVideoData source(&dataset, options.data.split_seed, options.data.validation_fraction);
  const std::string checkpoint_dir = options.checkpoint_dir.empty() ? options.out + "_ckpt" : options.checkpoint_dir;
  VLARFT_ASSIGN_OR_RETURN(models::TokenizerTrainResult result,
                          models::TrainTokenizer(section.model, section.training, source, checkpoint_dir, options.out, Print,
                                                 device));
  if (!result.complete) {
    std::cout << "stopped early (stop_after_steps); rerun the same command to resume from " << checkpoint_dir << "\n";
    return absl::OkStatus();
  }
  VLARFT_RETURN_IF_ERROR(WriteCurves(
      options.out, "tokenizer",
      {{{"train", &result.train_loss}, {"validation", &result.validation_loss}},
       {{"context", &result.validation_context_psnr}, {"future", &result.validation_future_psnr}}},
      {"loss", "psnr"}, {true, false}));
  std::cout << absl::StrFormat("trained in %.0f s -> %s.safetensors (+ .yaml, _loss.png, _psnr.png)\n", result.seconds,
                               options.out);
  return absl::OkStatus();
}

absl::Status RunTrainWorldModel(const std::vector<std::string>& args) {
  TrainWorldModelOptions options;
  WorldModelSection section;
  VLARFT_ASSIGN_OR_RETURN(
      bool run,
      ParseTrainCommand(args, "usage: vlarft train world-model [options] [--config FILE] [--set world_model.x=y ...]",
                        "world_model", &options, &section));
  if (!run) return absl::OkStatus();
  VLARFT_ASSIGN_OR_RETURN(torch::Device device, core::ParseDevice(options.data.device, "--device"));
  VLARFT_ASSIGN_OR_RETURN(models::VideoTokenizer tokenizer, models::LoadTokenizer(options.tokenizer, device));
  const int64_t image_size = tokenizer->config().image_size;
  // With --branch_policy the prompt source owns the demonstrations (the real simulator replays its
  // states from them); otherwise they are loaded here.
  rollout::PolicyBranchOptions branch_options;
  branch_options.fraction = options.branch_fraction;
  branch_options.chunks_per_state = options.branch_chunks_per_state;
  if (!options.branch_policy.empty()) {  // before the slow loads
    VLARFT_RETURN_IF_ERROR(core::Annotate(branch_options.Validate(), "--branch_fraction / --branch_chunks_per_state"));
  }
  std::unique_ptr<rollout::DemoPromptSource> prompts;
  std::unique_ptr<data::DemoDataset> loaded;
  std::optional<models::VlaPolicy> branch_policy;
  if (options.branch_policy.empty()) {
    VLARFT_ASSIGN_OR_RETURN(data::DemoDataset dataset, LoadDemos(options.data, image_size));
    loaded = std::make_unique<data::DemoDataset>(std::move(dataset));
  } else {
    if (options.data.max_demos_per_task != 0) {
      return absl::InvalidArgumentError("--max_demos_per_task cannot be combined with --branch_policy");
    }
    VLARFT_ASSIGN_OR_RETURN(branch_policy, models::LoadPolicy(options.branch_policy));
    VLARFT_ASSIGN_OR_RETURN(prompts, rollout::DemoPromptSource::Load(
                                         options.data.dataset, options.data.suites, static_cast<int>(image_size),
                                         options.data.split_seed, options.data.validation_fraction,
                                         (*branch_policy)->config().chunk_length));
    std::cout << absl::StrFormat("loaded %d demonstrations from %s; branch clips from %s\n", prompts->episodes(),
                                 options.data.dataset, options.branch_policy);
  }
  const data::DemoDataset& dataset = prompts ? prompts->dataset() : *loaded;
  training::DemoVideoData demos(&dataset, options.data.split_seed, options.data.validation_fraction);
  std::unique_ptr<rollout::PolicyBranchVideoData> branches;
  if (branch_policy) {
    VLARFT_ASSIGN_OR_RETURN(branches, rollout::PolicyBranchVideoData::Create(*branch_policy, prompts.get(), &demos,
                                                                             branch_options));
  }
  models::VideoDataSource& source = branches ? static_cast<models::VideoDataSource&>(*branches) : demos;
  const std::string checkpoint_dir = options.checkpoint_dir.empty() ? options.out + "_ckpt" : options.checkpoint_dir;
  VLARFT_ASSIGN_OR_RETURN(models::WorldModelTrainResult result,
                          models::TrainWorldModel(section.model, section.training, tokenizer, options.tokenizer, source,
                                                  checkpoint_dir, options.out, Print));
  if (!result.complete) {
    std::cout << "stopped early (stop_after_steps); rerun the same command to resume from " << checkpoint_dir << "\n";
    return absl::OkStatus();
  }
  VLARFT_RETURN_IF_ERROR(WriteCurves(options.out, "world model",
                                     {{{"train", &result.train_loss}, {"validation", &result.validation_loss}},
                                      {{"validation", &result.validation_accuracy}}},
                                     {"loss", "accuracy"}, {true, false}));
  std::cout << absl::StrFormat("trained in %.0f s -> %s.safetensors (+ .yaml, _loss.png, _accuracy.png)\n",
                               result.seconds, options.out);
  return absl::OkStatus();
}

}  // namespace

void AddTrainWorldModelCommands(std::vector<Command>& commands) {
  commands.push_back({{"train", "tokenizer"}, "train the world model's video tokenizer (FSQ)", &RunTrainTokenizer});
  commands.push_back({{"train", "world-model"}, "train the world-model transformer on tokenized demos", &RunTrainWorldModel});
}

}  // namespace vlarft::cli
