// The paired base-vs-tuned record, shared by `vlarft rft` and `vlarft study rft` so both write the
// same tables and results.json layout (the evaluation itself: libs/evaluation).
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "libs/evaluation/evaluate_policy.h"
#include "libs/models/policy.h"
#include "libs/tabletop/evaluation.h"
#include "libs/tabletop/paired_comparison.h"
#include "nlohmann/json.hpp"

namespace vlarft::cli {

// The base-vs-tuned tables (markdown, with the paired table when the episodes pair up) and the
// results.json record {"base", "rft", "paired"} (paired left out, and `paired_error` set, if not).
struct PairedResults {
  std::string markdown;
  std::string summary;  // " (+x.x points, paired 95% CI [..], McNemar p = ..)" or ""
  nlohmann::json record;
};
PairedResults MakePairedResults(const tabletop::EvalReport& base, const tabletop::EvalReport& tuned);


}  // namespace vlarft::cli
