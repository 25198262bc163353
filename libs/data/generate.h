// `vlarft data generate`: scripted-expert demonstrations of the built-in benchmark written in LIBERO's
// HDF5 layout, only successful episodes kept, plus dataset statistics (dataset.json).
#pragma once

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

  template <typename V>
  void VisitFields(V& v) {
    v.Field("out", out, "output directory");
    v.Field("suites", suites, "suites to generate (empty = all)");
    v.Field("demos_per_task", demos_per_task, "successful demonstrations per task");
    v.Field("image_size", image_size, "frame size in pixels");
    v.Field("noise", noise, "expert action noise");
    v.Field("pause_prob", pause_prob, "probability of an idle step");
    v.Field("seed", seed, "seed of layouts and noise");
    v.Field("threads", threads, "parallel tasks");
  }
};

struct GenerateSummary {
  int tasks = 0, demos = 0, attempts = 0;
  int64_t steps = 0;
  double seconds = 0;
  std::vector<std::string> files;
};

absl::StatusOr<GenerateSummary> GenerateDemos(const GenerateOptions& options,
                                              const std::function<void(const std::string&)>& progress);

}  // namespace vlarft::data
