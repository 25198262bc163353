// Results of the evaluation harness as the paper reports them: success per suite with 95% Wilson
// score intervals and the average (Table 2), the same under each perturbation (Table 1), and per
// task; as JSON for machines and Markdown for people.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace vlarft::tabletop {

struct Interval {
  double rate = 0, low = 0, high = 0;
};
// 95% Wilson score interval of `successes` out of `trials` (all zeros for no trials).
Interval Wilson(int64_t successes, int64_t trials);

struct TaskOutcome {
  std::string suite, task;
  int successes = 0, episodes = 0;
  double mean_steps = 0;  // episode length, successes and failures alike
  std::string instruction;
  // Per episode in seed order, '1' = success, '0' = failure: lets two policies evaluated on the same
  // episodes be compared pair by pair (paired_comparison.h). Empty in reports written before it.
  std::string outcomes;
};

struct EvalReport {
  std::string policy;
  std::string perturbation;  // PerturbationSpec::Name()
  int episodes_per_task = 0;
  uint64_t seed = 0;
  int image_size = 0;
  std::vector<TaskOutcome> tasks;
  struct Suite {
    std::string name;
    int successes = 0, episodes = 0;
    Interval success;
  };
  std::vector<Suite> suites;  // in SuiteNames() order
  // The paper's average: the mean of the suite rates; its interval pools all episodes.
  Interval average;
  double seconds = 0;
  // The policy's arithmetic ("none" float32, "bf16" autocast; empty: unknown or not a network). It
  // flips ~14% of a policy's episodes (docs/results.md), so only equal precisions pair.
  std::string precision;
};

// Fills suites and average from tasks.
void Summarize(EvalReport* report);

std::string ReportJson(const EvalReport& report);
std::string ReportsJson(const std::vector<EvalReport>& reports);  // a JSON array
// Reads back what ReportJson / ReportsJson wrote (one report or an array), re-summarising suites and
// averages from the tasks; INVALID_ARGUMENT naming the field for anything else.
absl::StatusOr<std::vector<EvalReport>> ParseReportsJson(const std::string& text);

// Table 2 style: a row per suite plus the average, a column per report (e.g. base vs RFT).
std::string ReportMarkdown(const std::vector<EvalReport>& reports);
// Table 1 style: a row per policy, a column per perturbation (average success of each).
std::string PerturbationMarkdown(const std::vector<EvalReport>& reports);
// A row per task, a column per report: successes/episodes.
std::string TaskMarkdown(const std::vector<EvalReport>& reports);

// Writes <dir>/<stem>.json (all reports) and <dir>/<stem>.md (the tables that apply).
absl::Status WriteReports(const std::string& dir, const std::string& stem, const std::vector<EvalReport>& reports);

}  // namespace vlarft::tabletop
