#include "libs/data/generate.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "libs/core/progress_meter.h"
#include "libs/data/demo_dataset.h"
#include "libs/tabletop/env.h"
#include "libs/tabletop/expert.h"
#include "libs/tabletop/random.h"
#include "nlohmann/json.hpp"

namespace vlarft::data {
namespace fs = std::filesystem;
namespace {

// One expert episode, recorded as LIBERO does: obs[t] before actions[t].
Episode RecordEpisode(const tabletop::Task& task, uint64_t seed, const GenerateOptions& options, bool* success) {
  tabletop::TabletopEnv env(task, seed);
  tabletop::ScriptedExpert expert({options.noise, options.pause_prob}, seed);
  Episode e;
  e.suite = task.suite, e.task = task.name, e.instruction = task.instruction, e.size = options.image_size;
  const size_t frame_bytes = static_cast<size_t>(options.image_size) * options.image_size * 3;
  e.frames.reserve(frame_bytes * task.max_steps);
  while (!env.done()) {
    e.frames.resize(e.frames.size() + frame_bytes);
    env.RenderInto(options.image_size, e.frames.data() + e.frames.size() - frame_bytes);
    const std::array<float, 8> state = env.proprio().Flat();
    const tabletop::Action action = expert.Act(env);
    e.proprio.insert(e.proprio.end(), state.begin(), state.end());
    e.actions.insert(e.actions.end(), action.begin(), action.end());
    ++e.length;
    env.Step(action);
  }
  *success = env.success();
  return e;
}

std::string EnvArgs(const tabletop::Task& task, const GenerateOptions& options) {
  return nlohmann::json({{"env_name", "vlarft-tabletop"},
                         {"type", "tabletop"},
                         {"env_kwargs",
                          {{"suite", task.suite},
                           {"task", task.name},
                           {"camera_names", {"agentview"}},
                           {"camera_heights", options.image_size},
                           {"camera_widths", options.image_size},
                           {"max_steps", task.max_steps},
                           {"action_scale_m", tabletop::kStepMetres},
                           {"seed", options.seed},
                           {"expert_noise", options.noise},
                           {"expert_pause_prob", options.pause_prob}}}})
      .dump();
}

}  // namespace

absl::StatusOr<GenerateSummary> GenerateDemos(const GenerateOptions& options,
                                              const std::function<void(const std::string&)>& progress) {
  if (options.demos_per_task < 1 || options.image_size < 8 || options.threads < 1 || options.max_attempts_factor < 1) {
    return absl::InvalidArgumentError("need demos_per_task >= 1, image_size >= 8, threads >= 1, max_attempts_factor >= 1");
  }
  for (const std::string& s : options.suites) {
    if (std::find(tabletop::SuiteNames().begin(), tabletop::SuiteNames().end(), s) == tabletop::SuiteNames().end()) {
      return absl::InvalidArgumentError(absl::StrCat("unknown suite '", s, "' (spatial, object, goal, long)"));
    }
  }
  const auto start = std::chrono::steady_clock::now();
  const std::vector<const tabletop::Task*> tasks = tabletop::TasksOfSuites(options.suites);
  GenerateSummary summary;
  summary.tasks = static_cast<int>(tasks.size());
  std::mutex mu;  // guards everything below that workers share
  absl::Status failure;
  std::vector<std::string> short_tasks;
  std::vector<std::vector<float>> all_actions, all_proprio;
  nlohmann::json per_task = nlohmann::json::array();
  std::atomic<size_t> next{0};
  // A line at least every ~10 s across all workers (a task's 50 demos can take a minute).
  std::atomic<int64_t> kept{0};
  core::ProgressMeter meter({"data generate", "demos", static_cast<int64_t>(tasks.size()) * options.demos_per_task, 10},
                            progress);
  auto worker = [&] {
    for (size_t i = next++; i < tasks.size(); i = next++) {
      const tabletop::Task& task = *tasks[i];
      TaskDemos demos{task.suite, task.name, task.instruction, EnvArgs(task, options), {}};
      int attempts = 0;
      int64_t steps = 0, kept_steps = 0;
      while (static_cast<int>(demos.episodes.size()) < options.demos_per_task &&
             attempts < options.max_attempts_factor * options.demos_per_task) {
        bool success = false;
        Episode e = RecordEpisode(task, tabletop::StreamSeed(options.seed, task.index, attempts++), options, &success);
        steps += e.length;
        if (success) kept_steps += e.length, demos.episodes.push_back(std::move(e));
        if (success) meter.Update(++kept);
      }
      const std::string path = (fs::path(options.out) / task.suite / (task.name + "_demo.hdf5")).string();
      const absl::Status written = WriteTaskFile(path, demos);
      std::lock_guard<std::mutex> lock(mu);
      if (!written.ok() && failure.ok()) failure = written;
      if (static_cast<int>(demos.episodes.size()) < options.demos_per_task) short_tasks.push_back(task.name);
      summary.attempts += attempts;
      summary.demos += static_cast<int>(demos.episodes.size());
      summary.steps += steps;
      summary.kept_steps += kept_steps;
      summary.files.push_back(path);
      for (const Episode& e : demos.episodes) {
        all_actions.push_back(e.actions);
        all_proprio.push_back(e.proprio);
      }
      per_task.push_back({{"index", task.index},
                          {"suite", task.suite},
                          {"task", task.name},
                          {"instruction", task.instruction},
                          {"demos", demos.episodes.size()},
                          {"attempts", attempts},
                          {"mean_length", demos.episodes.empty() ? 0.0 : static_cast<double>(kept_steps) / demos.episodes.size()}});
      progress(absl::StrFormat("%-70s %d/%d demos kept (%d attempts)", task.name, demos.episodes.size(),
                               options.demos_per_task, attempts));
    }
  };
  std::vector<std::thread> pool;
  for (int t = 0; t < std::min<int>(options.threads, std::max<size_t>(tasks.size(), 1)); ++t) pool.emplace_back(worker);
  for (std::thread& t : pool) t.join();
  if (!failure.ok()) return failure;

  std::sort(summary.files.begin(), summary.files.end());
  std::vector<const float*> action_rows, proprio_rows;
  for (const auto& a : all_actions) {
    for (size_t k = 0; k < a.size(); k += kActionDim) action_rows.push_back(a.data() + k);
  }
  for (const auto& p : all_proprio) {
    for (size_t k = 0; k < p.size(); k += kProprioDim) proprio_rows.push_back(p.data() + k);
  }
  std::sort(per_task.begin(), per_task.end(), [](const nlohmann::json& a, const nlohmann::json& b) {
    return a["index"].get<int>() < b["index"].get<int>();
  });
  const nlohmann::json j = {
      {"benchmark", "vlarft-tabletop"},
      {"layout", "LIBERO HDF5: data/demo_i/{actions, obs/agentview_rgb, obs/ee_states, obs/gripper_states}"},
      {"demos", summary.demos},
      {"tasks", summary.tasks},
      {"steps", summary.kept_steps},
      {"image_size", options.image_size},
      {"seed", options.seed},
      {"noise", options.noise},
      {"pause_prob", options.pause_prob},
      {"action_stats", StatsToJson(ComputeStats(action_rows, kActionDim))},
      {"proprio_stats", StatsToJson(ComputeStats(proprio_rows, kProprioDim))},
      {"per_task", per_task}};
  std::ofstream json(fs::path(options.out) / "dataset.json");
  json << j.dump(2) << "\n";
  if (!json) return absl::PermissionDeniedError(absl::StrCat("cannot write ", (fs::path(options.out) / "dataset.json").string()));
  summary.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::sort(short_tasks.begin(), short_tasks.end());
  summary.short_tasks = std::move(short_tasks);
  return summary;
}

}  // namespace vlarft::data
