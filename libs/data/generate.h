// `vlarft data generate`: scripted-expert demonstrations of the built-in benchmark written in
// LIBERO's HDF5 layout (demo_dataset.h), one file per task, only successful episodes kept, plus
// dataset.json with per-dimension action/proprio statistics and per-task yields. Tasks run on
// `threads` threads; the output is the same for any thread count (episode seeds depend only on
// (seed, task, attempt)).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace vlarft::data {

struct GenerateOptions {
  std::string out = "data/tabletop";
  std::vector<std::string> suites;  // empty = all
  int demos_per_task = 50;
  int image_size = 64;
  double noise = 0.15;       // expert action noise (std, action units)
  double pause_prob = 0.03;  // expert idles for a step with this probability
  uint64_t seed = 0;
  int threads = 2;
  int max_attempts_factor = 4;  // give up on a task after demos_per_task * this many episodes

  template <typename V>
  void VisitFields(V& v) {
    v.Field("out", out, "output directory");
    v.Field("suites", suites, "suites to generate (empty = all)");
    v.Field("demos_per_task", demos_per_task, "successful demonstrations per task");
    v.Field("image_size", image_size, "frame size in pixels");
    v.Field("noise", noise, "expert action noise (std of Gaussian added to the xyz action)");
    v.Field("pause_prob", pause_prob, "probability of an idle step");
    v.Field("seed", seed, "seed of layouts and noise");
    v.Field("threads", threads, "parallel tasks");
    v.Field("max_attempts_factor", max_attempts_factor, "episodes tried per wanted demo before giving up");
  }
};

struct GenerateSummary {
  int tasks = 0, demos = 0, attempts = 0;
  int64_t steps = 0;       // all simulated steps, failed episodes included
  int64_t kept_steps = 0;  // steps in the written demos
  double seconds = 0;
  std::vector<std::string> files;
  std::vector<std::string> short_tasks;  // tasks that yielded fewer than demos_per_task demos
};

// Fails on invalid options or any write error. A task whose expert keeps failing stops after
// demos_per_task * max_attempts_factor episodes and is listed in short_tasks.
absl::StatusOr<GenerateSummary> GenerateDemos(const GenerateOptions& options,
                                              const std::function<void(const std::string&)>& progress);

}  // namespace vlarft::data
