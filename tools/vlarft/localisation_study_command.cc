// `vlarft study localisation`: how many steps does an encoder need to learn where the
// instruction's object is? (localisation_study.h). Prints the curve and writes
// <out>/localisation.csv and localisation.png.
#include <filesystem>
#include <fstream>
#include <iostream>

#include "absl/strings/str_format.h"
#include "libs/core/command_line.h"
#include "libs/core/config.h"
#include "libs/core/status.h"
#include "libs/data/demo_dataset.h"
#include "libs/viz/image.h"
#include "tools/vlarft/command.h"
#include "studies/localisation_study.h"

namespace vlarft::cli {
namespace {

struct StudyLocalisationOptions {
  std::string dataset = "data/tabletop";
  std::vector<std::string> suites;
  std::string task;  // only episodes whose instruction contains this (empty = all)
  double validation_fraction = 0.05;
  int64_t torch_threads = 1;
  std::string out = "results/localisation";
  studies::LocalisationStudyOptions study;

  template <typename V>
  void VisitFields(V& v) {
    v.Field("dataset", dataset, "directory of demonstrations (HDF5)");
    v.Field("suites", suites, "suites to use (empty = all)");
    v.Field("task", task, "only episodes whose instruction contains this text (empty = all)");
    v.Field("validation_fraction", validation_fraction, "episodes held out for the validation RMS");
    v.Field("torch_threads", torch_threads, "intra-op threads (0 = LibTorch default)");
    v.Field("out", out, "output directory (localisation.csv, localisation.png)");
    study.VisitFields(v);
  }
};

absl::Status WriteCurve(const std::string& dir, const std::string& title, const std::vector<studies::LocalisationPoint>& curve) {
  std::filesystem::create_directories(dir);
  std::ofstream csv(std::filesystem::path(dir) / "localisation.csv");
  csv << "step,train_rms_cm,validation_rms_cm,validation_far_rms_cm,validation_carrying_rms_cm,seconds\n";
  viz::Series train{"train", {}, {}, viz::PaletteColor(0)}, validation{"held out", {}, {}, viz::PaletteColor(1)},
      far{"held out, gripper >= 10 cm away", {}, {}, viz::PaletteColor(2)};
  for (const studies::LocalisationPoint& p : curve) {
    csv << p.step << "," << p.train_rms_cm << "," << p.validation_rms_cm << "," << p.validation_far_rms_cm << ","
        << p.validation_carrying_rms_cm << ","
        << p.seconds << "\n";
    far.x.push_back(p.step), far.y.push_back(p.validation_far_rms_cm);
    train.x.push_back(p.step), train.y.push_back(p.train_rms_cm);
    validation.x.push_back(p.step), validation.y.push_back(p.validation_rms_cm);
  }
  if (!csv) return absl::InternalError("cannot write " + dir + "/localisation.csv");
  viz::PlotOptions plot;
  plot.title = title;
  plot.x_label = "step";
  plot.y_label = "subgoal RMS error (cm per axis)";
  return viz::WritePng((std::filesystem::path(dir) / "localisation.png").string(),
                       viz::LinePlot({train, validation, far}, plot));
}

absl::Status RunStudyLocalisation(const std::vector<std::string>& args) {
  VLARFT_ASSIGN_OR_RETURN(core::ParsedCommandLine parsed, core::ParseCommandLine(args));
  StudyLocalisationOptions options;
  if (parsed.help) {
    std::cout << "usage: vlarft study localisation [options] [--config FILE] [--set policy.x=y ...]\n\noptions:\n"
              << core::OptionsHelp(options) << "\nthe policy model (section 'policy'):\n"
              << core::OptionsHelp(models::PolicyConfig{}, "policy", "--set ");
    return absl::OkStatus();
  }
  VLARFT_RETURN_IF_ERROR(core::BindOptions(parsed, &options));
  VLARFT_RETURN_IF_ERROR(options.study.Validate());
  VLARFT_ASSIGN_OR_RETURN(models::PolicyConfig model,
                          core::LoadConfig<models::PolicyConfig>(parsed.config_file, parsed.config_overrides, "policy"));
  if (options.torch_threads > 0) torch::set_num_threads(static_cast<int>(options.torch_threads));
  VLARFT_ASSIGN_OR_RETURN(data::DemoDataset dataset,
                          data::LoadDemoDirectory(options.dataset, options.suites, static_cast<int>(model.encoder.image_size)));
  if (!options.task.empty()) {
    std::vector<data::Episode> kept;
    for (data::Episode& e : dataset.episodes) {
      if (e.instruction.find(options.task) != std::string::npos) kept.push_back(std::move(e));
    }
    dataset.episodes = std::move(kept);
  }
  if (dataset.episodes.empty()) return absl::NotFoundError("no demonstrations match --suites / --task in " + options.dataset);
  training::DemoPolicyData source(&dataset, model.chunk_length, options.study.seed, options.validation_fraction);
  std::cout << absl::StrFormat("localisation study: model %s, %d episodes (%d instructions), %d steps x %d\n",
                               options.study.model, dataset.episodes.size(), source.Instructions().size(),
                               options.study.steps, options.study.batch_size);
  VLARFT_ASSIGN_OR_RETURN(
      const std::vector<studies::LocalisationPoint> curve,
      studies::RunLocalisationStudy(model, source, options.study, [](const studies::LocalisationPoint& p) {
        std::cout << absl::StrFormat("step %5d  train RMS %5.2f cm  held-out RMS %5.2f cm (gripper >= 10 cm away: "
                                     "%5.2f cm, carrying: %5.2f cm)  (%.0f s)\n",
                                     p.step, p.train_rms_cm, p.validation_rms_cm, p.validation_far_rms_cm,
                                     p.validation_carrying_rms_cm, p.seconds)
                  << std::flush;
      }));
  const std::string title = absl::StrFormat("subgoal localisation, %s, %d instructions", options.study.model,
                                            source.Instructions().size());
  VLARFT_RETURN_IF_ERROR(WriteCurve(options.out, title, curve));
  std::cout << "wrote " << options.out << "/localisation.csv and .png\n";
  return absl::OkStatus();
}

}  // namespace

void AddLocalisationStudyCommands(std::vector<Command>& commands) {
  commands.push_back({{"study", "localisation"}, "how fast does an encoder learn where the instruction's object is?",
                      &RunStudyLocalisation});
}

}  // namespace vlarft::cli
