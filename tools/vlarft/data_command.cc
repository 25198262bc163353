// `vlarft data generate` (scripted-expert demonstrations in LIBERO's HDF5 layout) and
// `vlarft data render` (an episode, from a dataset or a fresh expert run, as a PNG strip and/or an
// animated GIF; or a suite's tasks side by side).
#include <filesystem>
#include <iostream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "libs/core/status.h"
#include "libs/data/demo_dataset.h"
#include "libs/data/generate.h"
#include "libs/tabletop/env.h"
#include "libs/tabletop/expert.h"
#include "libs/tabletop/random.h"
#include "libs/viz/gif.h"
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
                          data::GenerateDemos(options, [](const std::string& line) { std::cout << line << std::endl; }));
  uint64_t bytes = 0;
  for (const std::string& f : summary.files) bytes += std::filesystem::file_size(f);
  std::cout << absl::StrFormat(
      "generated %d demos for %d tasks in %.1f s (%d episodes tried, %d steps kept) -> %s (%.1f MB, statistics in "
      "dataset.json)\n",
      summary.demos, summary.tasks, summary.seconds, summary.attempts, summary.kept_steps, options.out, bytes / 1e6);
  if (!summary.short_tasks.empty()) {
    return absl::FailedPreconditionError(absl::StrCat(
        summary.short_tasks.size(), " task(s) got fewer than ", options.demos_per_task, " successful demos (first: ",
        summary.short_tasks[0], "); lower --noise/--pause_prob or raise --max_attempts_factor"));
  }
  return absl::OkStatus();
}

struct RenderOptions {
  std::string dataset;  // render a demo of a dataset directory, or
  std::string task;     // run the scripted expert on this task, or
  std::string suite;    // show the first frame of every task of this suite
  uint64_t seed = 0;
  std::string perturbation = "none";
  double noise = 0.0;
  int demo = 0;
  int size = 128;
  int every = 4;
  int columns = 8;
  std::string png;
  std::string gif;
  int gif_delay_cs = 8;

  template <typename V>
  void VisitFields(V& v) {
    v.Field("dataset", dataset, "dataset directory to read a demo from");
    v.Field("task", task, "benchmark task to run the scripted expert on (see docs/benchmark.md)");
    v.Field("suite", suite, "show the initial scene of every task of this suite instead");
    v.Field("seed", seed, "layout seed (expert runs and --suite)");
    v.Field("perturbation", perturbation, "none | <mode>[:minor|:major] (expert runs and --suite)");
    v.Field("noise", noise, "expert action noise (expert runs)");
    v.Field("demo", demo, "which demo of the dataset (index over all loaded episodes)");
    v.Field("size", size, "frame size in pixels");
    v.Field("every", every, "keep every n-th frame in the PNG strip");
    v.Field("columns", columns, "frames per row of the PNG");
    v.Field("png", png, "PNG to write: a strip of every --every-th frame, or the --suite grid");
    v.Field("gif", gif, "animated GIF of every frame to write");
    v.Field("gif_delay_cs", gif_delay_cs, "GIF frame delay in 1/100 s");
  }
};

// Every frame of the episode to show, and a one-line description.
absl::StatusOr<std::vector<viz::Image>> EpisodeFrames(const RenderOptions& options, std::string* caption) {
  std::vector<viz::Image> frames;
  if (!options.dataset.empty()) {
    VLARFT_ASSIGN_OR_RETURN(data::DemoDataset dataset, data::LoadDemoDirectory(options.dataset, {}, options.size));
    if (options.demo < 0 || options.demo >= static_cast<int>(dataset.episodes.size())) {
      return absl::InvalidArgumentError(
          absl::StrFormat("--demo=%d out of range (%d demos loaded)", options.demo, dataset.episodes.size()));
    }
    const data::Episode& e = dataset.episodes[options.demo];
    for (int64_t t = 0; t < e.length; ++t) frames.push_back(viz::Image::FromPixels(e.size, e.size, e.frame(t)));
    *caption = absl::StrCat(e.instruction, " (", e.length, " steps)");
    return frames;
  }
  VLARFT_ASSIGN_OR_RETURN(const tabletop::Task* task, tabletop::FindTask(options.task));
  VLARFT_ASSIGN_OR_RETURN(tabletop::PerturbationSpec perturbation, tabletop::ParsePerturbation(options.perturbation));
  // The seeds `data generate --seed` gives its first attempt, so --noise shows that demo.
  const uint64_t seed = tabletop::StreamSeed(options.seed, task->index, 0);
  tabletop::TabletopEnv env(*task, seed, perturbation);
  tabletop::ScriptedExpert expert({options.noise, options.noise > 0 ? 0.03 : 0.0}, seed);
  while (true) {
    const std::vector<uint8_t> f = env.Render(options.size);
    frames.push_back(viz::Image::FromPixels(options.size, options.size, f.data()));
    if (env.done()) break;
    env.Step(expert.Act(env));
  }
  *caption = absl::StrCat(task->instruction, " (", env.steps(), " steps, ", env.success() ? "success" : "failure", ")");
  return frames;
}

absl::Status RunRender(const std::vector<std::string>& args) {
  RenderOptions options;
  VLARFT_ASSIGN_OR_RETURN(bool run, ParseOptionsOrHelp(args, "usage: vlarft data render (--dataset=DIR [--demo=i] | --task=NAME | --suite=NAME) [options]", &options));
  if (!run) return absl::OkStatus();
  if (options.size < 8 || options.every < 1 || options.columns < 1) {
    return absl::InvalidArgumentError("need --size >= 8, --every >= 1, --columns >= 1");
  }
  if (options.dataset.empty() + options.task.empty() + options.suite.empty() != 2) {
    return absl::InvalidArgumentError("pass exactly one of --dataset, --task, --suite");
  }
  if (options.png.empty() && (options.gif.empty() || !options.suite.empty())) {
    return absl::InvalidArgumentError(options.suite.empty() ? "pass --png=FILE and/or --gif=FILE" : "pass --png=FILE");
  }
  if (!options.suite.empty()) {  // one tile per task: the initial scene
    VLARFT_ASSIGN_OR_RETURN(tabletop::PerturbationSpec perturbation, tabletop::ParsePerturbation(options.perturbation));
    std::vector<viz::Image> tiles;
    for (const tabletop::Task* task : tabletop::TasksOfSuites({options.suite})) {
      tabletop::TabletopEnv env(*task, tabletop::StreamSeed(options.seed, task->index, 0), perturbation);
      const std::vector<uint8_t> f = env.Render(options.size);
      tiles.push_back(viz::Image::FromPixels(options.size, options.size, f.data()));
      std::cout << tiles.size() << ". " << task->instruction << "\n";
    }
    if (tiles.empty()) return absl::InvalidArgumentError(absl::StrCat("unknown suite '", options.suite, "'"));
    VLARFT_RETURN_IF_ERROR(viz::WritePng(options.png, viz::Grid(tiles, options.columns)));
    std::cout << "wrote " << options.png << "\n";
    return absl::OkStatus();
  }
  std::string caption;
  VLARFT_ASSIGN_OR_RETURN(std::vector<viz::Image> frames, EpisodeFrames(options, &caption));
  std::cout << caption << "\n";
  if (!options.png.empty()) {
    std::vector<viz::Image> strip;
    for (size_t t = 0; t < frames.size(); t += options.every) strip.push_back(frames[t]);
    if ((frames.size() - 1) % options.every != 0) strip.push_back(frames.back());  // always show the end
    VLARFT_RETURN_IF_ERROR(viz::WritePng(options.png, viz::Grid(strip, options.columns)));
    std::cout << "wrote " << options.png << " (" << strip.size() << " frames)\n";
  }
  if (!options.gif.empty()) {
    VLARFT_RETURN_IF_ERROR(viz::WriteGif(options.gif, frames, {options.gif_delay_cs, 0, 256}));
    std::cout << "wrote " << options.gif << " (" << frames.size() << " frames)\n";
  }
  return absl::OkStatus();
}

}  // namespace

void AddDataCommands(std::vector<Command>& commands) {
  commands.push_back({{"data", "generate"}, "scripted-expert demonstrations (LIBERO HDF5 layout)", &RunGenerate});
  commands.push_back({{"data", "render"}, "an episode or a suite as PNG (strip/grid) or animated GIF", &RunRender});
}

}  // namespace vlarft::cli
