// Throughput of the built-in benchmark (docs/benchmark.md quotes its output): environment steps
// per second without rendering, render time per frame at several sizes, and the acceptance run of
// `vlarft data generate` (50 demos x 40 tasks at 64x64) with its output size and load time.
//
//   tabletop_bench [--seconds=2] [--threads=2] [--demos_per_task=50] [--skip_generate]
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>

#include "libs/data/demo_dataset.h"
#include "libs/data/generate.h"
#include "libs/tabletop/env.h"
#include "libs/tabletop/expert.h"
#include "libs/tabletop/random.h"

namespace vlarft::tabletop {
namespace {

using Clock = std::chrono::steady_clock;
double Since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

// Steps/s of whole episodes over all 40 tasks, actions from `expert` or uniform random.
void BenchSteps(double seconds, bool expert_actions) {
  int64_t steps = 0, episodes = 0, successes = 0;
  Random rng(1);
  const auto start = Clock::now();
  while (Since(start) < seconds) {
    for (const Task& task : AllTasks()) {
      TabletopEnv env(task, StreamSeed(5, task.index, episodes));
      ScriptedExpert expert({0.15, 0.03}, episodes);
      while (!env.done()) {
        Action a;
        if (expert_actions) {
          a = expert.Act(env);
        } else {
          for (float& v : a) v = static_cast<float>(rng.Uniform(-1, 1));
        }
        env.Step(a);
        ++steps;
      }
      ++episodes;
      successes += env.success();
    }
  }
  const double elapsed = Since(start);
  std::printf("env steps, %-22s %12.0f steps/s  (%lld episodes, %.1f%% solved, 1 thread, no rendering)\n",
              expert_actions ? "scripted expert:" : "random actions:", steps / elapsed, static_cast<long long>(episodes),
              100.0 * successes / episodes);
}

void BenchRender(double seconds) {
  for (int size : {64, 128, 256}) {
    int64_t frames = 0;
    std::vector<uint8_t> out(static_cast<size_t>(size) * size * 3);
    const auto start = Clock::now();
    while (Since(start) < seconds / 3) {
      for (const Task& task : AllTasks()) {
        TabletopEnv env(task, 3);
        env.RenderInto(size, out.data());
        ++frames;
      }
    }
    std::printf("render %3dx%-3d            %12.1f us/frame  (%.0f frames/s, 1 thread)\n", size, size,
                1e6 * Since(start) / frames, frames / Since(start));
  }
}

int Run(int argc, char** argv) {
  double seconds = 2;
  int threads = 2, demos_per_task = 50;
  bool generate = true;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto value = [&](const char* name) -> const char* {
      const std::string prefix = std::string("--") + name + "=";
      return arg.rfind(prefix, 0) == 0 ? argv[i] + prefix.size() : nullptr;
    };
    if (const char* v = value("seconds")) {
      seconds = std::atof(v);
    } else if (const char* v = value("threads")) {
      threads = std::atoi(v);
    } else if (const char* v = value("demos_per_task")) {
      demos_per_task = std::atoi(v);
    } else if (arg == "--skip_generate") {
      generate = false;
    } else {
      std::fprintf(stderr, "usage: %s [--seconds=2] [--threads=2] [--demos_per_task=50] [--skip_generate]\n", argv[0]);
      return 2;
    }
  }
  BenchSteps(seconds, /*expert_actions=*/false);
  BenchSteps(seconds, /*expert_actions=*/true);
  BenchRender(seconds);
  if (!generate) return 0;

  data::GenerateOptions options;
  options.out = (std::filesystem::temp_directory_path() / ("vlarft_tabletop_bench_" + std::to_string(::getpid()))).string();
  options.demos_per_task = demos_per_task;
  options.threads = threads;
  std::filesystem::remove_all(options.out);
  auto summary = data::GenerateDemos(options, [](const std::string&) {});
  if (!summary.ok()) {
    std::fprintf(stderr, "generate failed: %s\n", summary.status().ToString().c_str());
    return 1;
  }
  uintmax_t bytes = 0;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(options.out)) {
    if (entry.is_regular_file()) bytes += entry.file_size();
  }
  std::printf("data generate: %d demos x %d tasks at 64x64, %d threads: %.1f s, %lld kept steps (%lld simulated), %.1f MB\n",
              demos_per_task, summary->tasks, threads, summary->seconds, static_cast<long long>(summary->kept_steps),
              static_cast<long long>(summary->steps), bytes / 1e6);
  const auto start = Clock::now();
  auto dataset = data::LoadDemoDirectory(options.out, {}, 64);
  if (!dataset.ok()) {
    std::fprintf(stderr, "load failed: %s\n", dataset.status().ToString().c_str());
    return 1;
  }
  std::printf("load dataset:  %zu episodes in %.1f s\n", dataset->episodes.size(), Since(start));
  std::filesystem::remove_all(options.out);
  return 0;
}

}  // namespace
}  // namespace vlarft::tabletop

int main(int argc, char** argv) { return vlarft::tabletop::Run(argc, argv); }
