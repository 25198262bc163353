// Benchmark evaluation of a VLA policy and the paired base-vs-tuned record, shared by `vlarft rft`
// and `vlarft study rft` so both write the same tables and results.json layout.
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "libs/models/policy.h"
#include "libs/tabletop/evaluation.h"
#include "libs/tabletop/paired_comparison.h"
#include "nlohmann/json.hpp"

namespace vlarft::cli {

struct PolicyEvalSettings {
  std::vector<std::string> suites;  // empty = all
  int episodes_per_task = 50;
  uint64_t seed = 1000;
  int threads = 2;
  bool bf16 = false;
};

// Every evaluation with the same settings faces the same scenes and, through a fresh adapter, the
// same sampling noise, so two policies can be compared episode by episode.
absl::StatusOr<tabletop::EvalReport> EvaluateVlaPolicy(const models::VlaPolicy& policy, const std::string& name,
                                                       const PolicyEvalSettings& settings,
                                                       const tabletop::PerturbationSpec& perturbation = {});

// The base-vs-tuned tables (markdown, with the paired table when the episodes pair up) and the
// results.json record {"base", "rft", "paired"} (paired left out, and `paired_error` set, if not).
struct PairedResults {
  std::string markdown;
  std::string summary;  // " (+x.x points, paired 95% CI [..], McNemar p = ..)" or ""
  nlohmann::json record;
};
PairedResults MakePairedResults(const tabletop::EvalReport& base, const tabletop::EvalReport& tuned);

// Writes `text` to `path` and checks that it was written.
absl::Status WriteTextFile(const std::string& path, const std::string& text);
// The whole of `path`; NOT_FOUND naming it when it cannot be opened.
absl::StatusOr<std::string> ReadTextFile(const std::string& path);

}  // namespace vlarft::cli
