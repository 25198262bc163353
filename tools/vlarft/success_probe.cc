#include "tools/vlarft/success_probe.h"

#include <chrono>
#include <filesystem>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_format.h"
#include "libs/models/checkpoint.h"

namespace vlarft::cli {
namespace fs = std::filesystem;

std::optional<int64_t> CheckpointStep(const std::string& step_dir) {
  const std::string name = fs::path(step_dir).filename().string();
  int64_t step = 0;
  if (!absl::StartsWith(name, "step-") || !absl::SimpleAtoi(name.substr(5), &step) || step < 0) return std::nullopt;
  return step;
}

SuccessProbe::SuccessProbe(std::string checkpoint_dir, Evaluator evaluate)
    : checkpoint_dir_(std::move(checkpoint_dir)), evaluate_(std::move(evaluate)) {}

SuccessProbe::~SuccessProbe() {
  if (running_.valid()) running_.wait();
}

void SuccessProbe::Collect(const std::function<void(const std::string&)>& progress) {
  absl::StatusOr<SuccessEstimate> result = running_.get();
  if (!result.ok()) {
    progress(absl::StrFormat("success probe of step %d skipped: %s", running_step_, result.status().ToString()));
    return;
  }
  history_.push_back(*result);
  progress(absl::StrFormat("success probe: step %d  %.1f%% [%.1f, %.1f]  (%.0f s)", result->step,
                           100 * result->success.rate, 100 * result->success.low, 100 * result->success.high,
                           result->seconds));
}

void SuccessProbe::Poll(const std::function<void(const std::string&)>& progress) {
  if (running_.valid()) {
    if (running_.wait_for(std::chrono::seconds(0)) != std::future_status::ready) return;
    Collect(progress);
  }
  StartNewest();
}

void SuccessProbe::StartNewest() {
  const std::optional<std::string> latest = models::TrainingCheckpoints(checkpoint_dir_).Latest();
  if (!latest.has_value()) return;
  const std::optional<int64_t> step = CheckpointStep(*latest);
  if (!step.has_value() || *step <= last_started_step_) return;
  last_started_step_ = running_step_ = *step;
  const std::string stem = (fs::path(*latest) / "model").string();
  running_ = std::async(std::launch::async, [this, stem, step = *step]() -> absl::StatusOr<SuccessEstimate> {
    const auto start = std::chrono::steady_clock::now();
    absl::StatusOr<tabletop::Interval> success = evaluate_(stem);
    if (!success.ok()) return success.status();
    return SuccessEstimate{step, *success,
                           std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count()};
  });
}

void SuccessProbe::Finish(const std::function<void(const std::string&)>& progress) {
  if (running_.valid()) Collect(progress);
  StartNewest();  // the final checkpoint, unless it was the one just collected
  if (running_.valid()) Collect(progress);
}

std::optional<SuccessEstimate> SuccessProbe::latest() const {
  if (history_.empty()) return std::nullopt;
  return history_.back();
}

}  // namespace vlarft::cli
