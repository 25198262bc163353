// `vlarft eval world-model`: imagined vs real frames on held-out demonstrations, per horizon step
// (PSNR, SSIM, MSE, perceptual), written as JSON + Markdown, a PSNR plot and real | imagined strips.
#include <filesystem>
#include <fstream>
#include <iostream>

#include "absl/strings/str_format.h"
#include "libs/core/command_line.h"
#include "libs/core/status.h"
#include "libs/data/demo_dataset.h"
#include "tools/vlarft/command.h"
#include "tools/vlarft/command_options.h"
#include "libs/training/demo_video_data.h"
#include "tools/vlarft/world_model_eval.h"

namespace vlarft::cli {
namespace {

struct EvalWorldModelOptions {
  std::string dataset = "data/tabletop";
  std::vector<std::string> suites;
  int max_demos_per_task = 0;
  double validation_fraction = 0.05;
  uint64_t split_seed = 0;
  std::string tokenizer = "checkpoints/tiny/tokenizer";
  std::string world_model = "checkpoints/tiny/world_model";
  std::string device = "cpu";
  int64_t torch_threads = 2;
  std::string out = "results/world_model";
  WorldModelEvalOptions eval;

  template <typename V>
  void VisitFields(V& v) {
    v.Field("dataset", dataset, "directory of demonstrations (HDF5)");
    v.Field("suites", suites, "suites to evaluate on (empty = all)");
    v.Field("max_demos_per_task", max_demos_per_task, "cap on demos per task (0 = all)");
    v.Field("validation_fraction", validation_fraction, "held-out fraction (same split as training)");
    v.Field("split_seed", split_seed, "seed of the episode split (same as training)");
    v.Field("tokenizer", tokenizer, "stem of the tokenizer checkpoint");
    v.Field("world_model", world_model, "stem of the world-model checkpoint");
    v.Field("device", device, "cpu | cuda | cuda:N");
    v.Field("torch_threads", torch_threads, "intra-op threads (0 = LibTorch default)");
    v.Field("out", out, "output directory (metrics.json, metrics.md, psnr.png, strip_N.png)");
    eval.VisitFields(v);
  }
};

absl::Status RunEvalWorldModel(const std::vector<std::string>& args) {
  EvalWorldModelOptions options;
  VLARFT_ASSIGN_OR_RETURN(bool run, ParseOptionsOrHelp(args, "usage: vlarft eval world-model [options]", &options));
  if (!run) return absl::OkStatus();
  if (options.torch_threads > 0) torch::set_num_threads(static_cast<int>(options.torch_threads));
  VLARFT_ASSIGN_OR_RETURN(torch::Device device,
                          core::CatchTorchErrors("parsing --device", [&] { return torch::Device(options.device); }));
  VLARFT_ASSIGN_OR_RETURN(models::ImaginationEngine engine,
                          models::ImaginationEngine::Load(options.tokenizer, options.world_model, device));
  VLARFT_ASSIGN_OR_RETURN(data::DemoDataset dataset,
                          data::LoadDemoDirectory(options.dataset, options.suites,
                                                  static_cast<int>(engine.tokenizer()->config().image_size),
                                                  options.max_demos_per_task));
  training::DemoVideoData source(&dataset, options.split_seed, options.validation_fraction);
  std::cout << absl::StrFormat("evaluating on %d held-out episodes of %s\n", source.validation_episodes(), options.dataset);
  VLARFT_ASSIGN_OR_RETURN(WorldModelEvalReport report, EvaluateWorldModel(engine, source, options.eval));

  std::error_code ec;
  std::filesystem::create_directories(options.out, ec);
  if (ec) return absl::PermissionDeniedError(absl::StrCat("cannot create ", options.out, ": ", ec.message()));
  const std::string markdown = ReportToMarkdown(report);
  std::ofstream(options.out + "/metrics.json") << ReportToJson(report, options.eval).dump(2) << "\n";
  std::ofstream(options.out + "/metrics.md") << markdown;
  VLARFT_RETURN_IF_ERROR(viz::WritePng(options.out + "/psnr.png", PsnrPlot(report)));
  for (size_t i = 0; i < report.strips.size(); ++i) {
    VLARFT_RETURN_IF_ERROR(viz::WritePng(absl::StrFormat("%s/strip_%d.png", options.out, i), report.strips[i]));
  }
  std::cout << markdown << absl::StrFormat("\nimagined %d frames in %.1f s (%.1f frames/s) -> %s/\n",
                                           report.imagined_frames, report.imagine_seconds,
                                           report.imagined_frames / std::max(1e-9, report.imagine_seconds), options.out);
  return absl::OkStatus();
}

}  // namespace

void AddEvalWorldModelCommands(std::vector<Command>& commands) {
  commands.push_back({{"eval", "world-model"}, "imagined vs real frames: PSNR/SSIM/MSE/perceptual per step",
                      &RunEvalWorldModel});
}

}  // namespace vlarft::cli
