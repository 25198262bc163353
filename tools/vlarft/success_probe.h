// Benchmark success of the learner's newest checkpoint, estimated while RFT runs. The reward is
// what GRPO optimises, but it can rise while real success falls (docs/results.md, run B), so the
// progress line shows both. Each new checkpoint the learner commits is evaluated on a small fixed set
// of benchmark episodes on a background thread, one evaluation at a time; the launcher's
// supervision loop only polls and never waits on an evaluation.
#pragma once

#include <cstdint>
#include <functional>
#include <future>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "libs/tabletop/report.h"

namespace vlarft::cli {

struct SuccessEstimate {
  int64_t step = 0;            // the learner step of the evaluated checkpoint
  tabletop::Interval success;  // average success with its 95% interval
  double seconds = 0;          // how long the evaluation took
};

class SuccessProbe {
 public:
  // Evaluates the policy checkpoint at a stem (e.g. <dir>/step-25/model).
  using Evaluator = std::function<absl::StatusOr<tabletop::Interval>(const std::string& policy_stem)>;

  // `checkpoint_dir` is the learner's TrainingCheckpoints directory.
  SuccessProbe(std::string checkpoint_dir, Evaluator evaluate);
  ~SuccessProbe();  // waits for a running evaluation: it reads files the caller may delete next
  SuccessProbe(const SuccessProbe&) = delete;
  SuccessProbe& operator=(const SuccessProbe&) = delete;

  // Collects a finished evaluation (reported through `progress`), then starts one on the newest
  // checkpoint if it is newer than the last one started. A checkpoint that cannot be evaluated
  // (e.g. rotated away meanwhile) is reported and skipped; the run goes on.
  void Poll(const std::function<void(const std::string&)>& progress);
  // Collects the running evaluation, then evaluates the newest checkpoint if it has not been yet, so
  // the curve ends at the final step. Blocks.
  void Finish(const std::function<void(const std::string&)>& progress);

  std::optional<SuccessEstimate> latest() const;
  const std::vector<SuccessEstimate>& history() const { return history_; }

 private:
  void Collect(const std::function<void(const std::string&)>& progress);
  void StartNewest();  // on a background thread, if newer than the last one started

  std::string checkpoint_dir_;
  Evaluator evaluate_;
  int64_t last_started_step_ = -1;
  int64_t running_step_ = -1;
  std::future<absl::StatusOr<SuccessEstimate>> running_;
  std::vector<SuccessEstimate> history_;
};

// The step of a TrainingCheckpoints directory name ("…/step-25" -> 25), or nullopt.
std::optional<int64_t> CheckpointStep(const std::string& step_dir);

}  // namespace vlarft::cli
