// A parser for the Prometheus text exposition format (version 0.0.4), so tests and tools can read
// /metrics the way a Prometheus server would, instead of grepping strings.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace vlarft::metrics {

struct Sample {
  std::string name;                           // e.g. "vlarft_rpc_requests_total"
  std::map<std::string, std::string> labels;  // sorted by label name
  double value = 0.0;
};

// Parses every sample line; comment lines (# HELP, # TYPE) are checked for shape and skipped.
// INVALID_ARGUMENT names the line number of the first malformed line.
absl::StatusOr<std::vector<Sample>> ParsePrometheusText(absl::string_view text);

// The value of the first sample named `name` whose labels include all of `labels`.
std::optional<double> FindSample(const std::vector<Sample>& samples, absl::string_view name,
                                 const std::map<std::string, std::string>& labels = {});

}  // namespace vlarft::metrics
