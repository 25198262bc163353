#include "libs/data/generate.h"

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "libs/data/demo_dataset.h"
#include "libs/tabletop/env.h"
#include "libs/tabletop/expert.h"
#include "libs/tabletop/random.h"
#include "nlohmann/json.hpp"

namespace vlarft::data {
namespace fs = std::filesystem;

absl::StatusOr<GenerateSummary> GenerateDemos(const GenerateOptions& options,
                                              const std::function<void(const std::string&)>& progress) {
  if (options.demos_per_task < 1 || options.image_size < 8 || options.threads < 1) {
    return absl::InvalidArgumentError("need demos_per_task >= 1, image_size >= 8, threads >= 1");
  }
  for (const std::string& s : options.suites) {
    if (std::find(tabletop::SuiteNames().begin(), tabletop::SuiteNames().end(), s) == tabletop::SuiteNames().end()) {
      return absl::InvalidArgumentError(absl::StrCat("unknown suite '", s, "'"));
    }
  }
  const auto start = std::chrono::steady_clock::now();
  const std::vector<const tabletop::Task*> tasks = tabletop::TasksOfSuites(options.suites);
  GenerateSummary summary;
  summary.tasks = static_cast<int>(tasks.size());
  std::mutex mu;
  absl::Status failure;
  std::atomic<size_t> next{0};
  std::vector<std::vector<float>> all_actions, all_proprio;
  auto worker = [&] {
    for (size_t i = next++; i < tasks.size(); i = next++) {
      const tabletop::Task& task = *tasks[i];
      TaskDemos demos{task.suite, task.name, task.instruction, "{}", {}};
      demos.env_args_json = nlohmann::json({{"benchmark", "vlarft-tabletop"}, {"image_size", options.image_size},
                                            {"max_steps", task.max_steps}, {"seed", options.seed}})
                                .dump();
      int attempts = 0;
      int64_t steps = 0;
      while (static_cast<int>(demos.episodes.size()) < options.demos_per_task && attempts < 4 * options.demos_per_task) {
        const uint64_t seed = tabletop::StreamSeed(options.seed, task.index, attempts++);
        tabletop::TabletopEnv env(task, seed);
        tabletop::ScriptedExpert expert({options.noise, options.pause_prob}, seed);
        Episode e;
        e.suite = task.suite, e.task = task.name, e.instruction = task.instruction, e.size = options.image_size;
        while (!env.done()) {
          const std::vector<uint8_t> frame = env.Render(options.image_size);
          const std::array<float, 8> state = env.proprio().Flat();
          const tabletop::Action action = expert.Act(env);
          e.frames.insert(e.frames.end(), frame.begin(), frame.end());
          e.proprio.insert(e.proprio.end(), state.begin(), state.end());
          e.actions.insert(e.actions.end(), action.begin(), action.end());
          ++e.length;
          env.Step(action);
        }
        steps += e.length;
        if (env.success()) demos.episodes.push_back(std::move(e));
      }
      const std::string path = (fs::path(options.out) / task.suite / (task.name + "_demo.hdf5")).string();
      absl::Status written = WriteTaskFile(path, demos);
      std::lock_guard<std::mutex> lock(mu);
      if (!written.ok() && failure.ok()) failure = written;
      summary.attempts += attempts;
      summary.demos += static_cast<int>(demos.episodes.size());
      summary.steps += steps;
      summary.files.push_back(path);
      for (const Episode& e : demos.episodes) {
        all_actions.emplace_back(e.actions);
        all_proprio.emplace_back(e.proprio);
      }
      progress(absl::StrFormat("%-60s %d/%d demos kept (%d attempts)", task.name, demos.episodes.size(),
                               options.demos_per_task, attempts));
    }
  };
  std::vector<std::thread> pool;
  for (int t = 0; t < options.threads; ++t) pool.emplace_back(worker);
  for (std::thread& t : pool) t.join();
  if (!failure.ok()) return failure;

  std::vector<const float*> action_rows, proprio_rows;
  for (const auto& a : all_actions) {
    for (size_t k = 0; k < a.size(); k += kActionDim) action_rows.push_back(a.data() + k);
  }
  for (const auto& p : all_proprio) {
    for (size_t k = 0; k < p.size(); k += kProprioDim) proprio_rows.push_back(p.data() + k);
  }
  const RangeStats a = ComputeStats(action_rows, kActionDim), p = ComputeStats(proprio_rows, kProprioDim);
  nlohmann::json j = {{"benchmark", "vlarft-tabletop"}, {"demos", summary.demos}, {"tasks", summary.tasks},
                      {"image_size", options.image_size}, {"seed", options.seed},
                      {"action_stats", {{"min", a.min}, {"max", a.max}, {"mean", a.mean}, {"std", a.std}}},
                      {"proprio_stats", {{"min", p.min}, {"max", p.max}, {"mean", p.mean}, {"std", p.std}}}};
  std::ofstream(fs::path(options.out) / "dataset.json") << j.dump(2) << "\n";
  summary.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return summary;
}

}  // namespace vlarft::data
