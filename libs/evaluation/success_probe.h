// Benchmark success of the learner's versions while RFT runs, for the progress line, the success
// curve and results.json. The reward is what GRPO optimises, but it can rise while real success
// falls (docs/results.md, run B), so the progress line shows both.
//
// The measuring is done by the same component a cluster runs: the launcher starts a
// vlarft-evaluator process (libs/evaluation's VersionEvaluator behind the learner's weight stream)
// with `evaluator.results_file`; this class only follows that file, one JSON line per evaluation,
// so the launcher's supervision loop never waits on an evaluation.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "libs/tabletop/report.h"

namespace vlarft::evaluation {

struct SuccessEstimate {
  int64_t step = 0;            // the learner version (= optimiser step) evaluated
  tabletop::Interval success;  // average success with its 95% interval
  double seconds = 0;          // how long the evaluation took
};

class SuccessProbe {
 public:
  // `results_file`: where the evaluator appends its results (removed first: a new run starts a
  // new curve).
  explicit SuccessProbe(std::string results_file);

  const std::string& results_file() const { return results_file_; }

  // Reads the lines appended since the last call (a line still being written waits for the next
  // call) and reports each new estimate through `progress`. A line that does not parse is reported
  // and skipped.
  void Poll(const std::function<void(const std::string&)>& progress);

  // The baseline (the start policy, evaluated by the evaluator before any version), once read.
  std::optional<SuccessEstimate> baseline() const { return baseline_; }
  std::optional<SuccessEstimate> latest() const;
  const std::vector<SuccessEstimate>& history() const { return history_; }

 private:
  std::string results_file_;
  uint64_t offset_ = 0;  // bytes of the file consumed (complete lines only)
  std::optional<SuccessEstimate> baseline_;
  std::vector<SuccessEstimate> history_;
};

// One results-file line ({"version", "report"}) as an estimate; version -1 is the baseline.
absl::StatusOr<SuccessEstimate> ParseEvaluatorResult(const std::string& line);

}  // namespace vlarft::evaluation
