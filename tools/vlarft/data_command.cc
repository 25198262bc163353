// `vlarft data generate` and `vlarft data render`.
#include <filesystem>
#include <iostream>

#include "absl/strings/str_format.h"
#include "libs/core/command_line.h"
#include "libs/core/status.h"
#include "libs/data/demo_dataset.h"
#include "libs/data/generate.h"
#include "libs/tabletop/env.h"
#include "libs/tabletop/expert.h"
#include "libs/viz/image.h"
#include "tools/vlarft/command.h"
#include "tools/vlarft/command_options.h"

namespace vlarft::cli {
namespace {

absl::Status RunGenerate(const std::vector<std::string>& args) {
  data::GenerateOptions options;
  VLARFT_ASSIGN_OR_RETURN(bool run, ParseOptionsOrHelp(args, "usage: vlarft data generate [options]", &options));
  if (!run) return absl::OkStatus();
  VLARFT_ASSIGN_OR_RETURN(data::GenerateSummary summary,
                          data::GenerateDemos(options, [](const std::string& line) { std::cout << line << "\n"; }));
  uint64_t bytes = 0;
  for (const std::string& f : summary.files) bytes += std::filesystem::file_size(f);
  std::cout << absl::StrFormat(
      "generated %d demos for %d tasks (%d attempts, %d steps) in %.1f s -> %s (%.1f MB)\n", summary.demos,
      summary.tasks, summary.attempts, summary.steps, summary.seconds, options.out, bytes / 1e6);
  return absl::OkStatus();
}

struct RenderOptions {
  std::string dataset;        // render demos from a dataset directory, or
  std::string task;           // run the expert on this task
  uint64_t seed = 0;
  int demo = 0;
  int size = 128;
  int every = 4;              // frame stride in the strip
  std::string out = "episode.png";

  template <typename V>
  void VisitFields(V& v) {
    v.Field("dataset", dataset, "dataset directory to read a demo from (else the expert runs --task)");
    v.Field("task", task, "benchmark task name (see docs/benchmark.md)");
    v.Field("seed", seed, "layout seed when running the expert");
    v.Field("demo", demo, "which demo of the dataset (index over all loaded episodes)");
    v.Field("size", size, "frame size");
    v.Field("every", every, "keep every n-th frame in the strip");
    v.Field("out", out, "PNG to write");
  }
};

absl::Status RunRender(const std::vector<std::string>& args) {
  RenderOptions options;
  VLARFT_ASSIGN_OR_RETURN(bool run, ParseOptionsOrHelp(args, "usage: vlarft data render [options]", &options));
  if (!run) return absl::OkStatus();
  std::vector<viz::Image> frames;
  if (!options.dataset.empty()) {
    VLARFT_ASSIGN_OR_RETURN(data::DemoDataset dataset, data::LoadDemoDirectory(options.dataset, {}, options.size));
    if (options.demo < 0 || options.demo >= static_cast<int>(dataset.episodes.size())) {
      return absl::InvalidArgumentError(absl::StrFormat("demo %d out of range (%d loaded)", options.demo, dataset.episodes.size()));
    }
    const data::Episode& e = dataset.episodes[options.demo];
    for (int64_t t = 0; t < e.length; t += options.every) frames.push_back(viz::Image::FromPixels(e.size, e.size, e.frame(t)));
    std::cout << e.instruction << "\n";
  } else {
    VLARFT_ASSIGN_OR_RETURN(const tabletop::Task* task, tabletop::FindTask(options.task));
    tabletop::TabletopEnv env(*task, options.seed);
    tabletop::ScriptedExpert expert({}, options.seed);
    while (true) {
      if (env.steps() % options.every == 0 || env.done()) {
        const std::vector<uint8_t> f = env.Render(options.size);
        frames.push_back(viz::Image::FromPixels(options.size, options.size, f.data()));
      }
      if (env.done()) break;
      env.Step(expert.Act(env));
    }
    std::cout << task->instruction << (env.success() ? "  (success)" : "  (failure)") << "\n";
  }
  VLARFT_RETURN_IF_ERROR(viz::WritePng(options.out, viz::Grid(frames, 8)));
  std::cout << "wrote " << options.out << "\n";
  return absl::OkStatus();
}

}  // namespace

void AddDataCommands(std::vector<Command>& commands) {
  commands.push_back({{"data", "generate"}, "scripted-expert demonstrations (LIBERO HDF5 layout)", &RunGenerate});
  commands.push_back({{"data", "render"}, "an episode as a PNG strip", &RunRender});
}

}  // namespace vlarft::cli
