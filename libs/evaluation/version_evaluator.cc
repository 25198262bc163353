#include "libs/evaluation/version_evaluator.h"

#include <algorithm>
#include <thread>
#include <utility>

#include "absl/strings/str_cat.h"
#include "libs/core/status.h"

namespace vlarft::evaluation {

VersionEvaluator::VersionEvaluator(models::VlaPolicy policy, PolicyEvalSettings settings, WeightSource source,
                                   ResultSink sink, int64_t version_stride)
    : policy_(policy),
      replica_(policy),  // shares the module: Apply changes what Evaluate runs
      settings_(std::move(settings)),
      source_(std::move(source)),
      sink_(std::move(sink)),
      version_stride_(std::max<int64_t>(1, version_stride)) {}

absl::StatusOr<VersionEvaluator::Result> VersionEvaluator::Evaluate(int64_t version) {
  const std::string name = version < 0 ? "baseline" : absl::StrCat("version ", version);
  VLARFT_ASSIGN_OR_RETURN(tabletop::EvalReport report, EvaluateVlaPolicy(policy_, name, settings_));
  Result result{version, std::move(report)};
  if (sink_) sink_(result);
  return result;
}

absl::StatusOr<VersionEvaluator::Result> VersionEvaluator::EvaluateBaseline() { return Evaluate(-1); }

absl::StatusOr<std::optional<VersionEvaluator::Result>> VersionEvaluator::EvaluateNext(absl::Duration wait) {
  const int64_t min_version = last_version_ < 0 ? 0 : (last_version_ / version_stride_ + 1) * version_stride_;
  VLARFT_ASSIGN_OR_RETURN(std::optional<PolicyVersion> next, source_(min_version, wait));
  if (!next.has_value()) return std::nullopt;
  if (next->version < min_version) {
    return absl::FailedPreconditionError(absl::StrCat("asked for a version >= ", min_version, ", got ",
                                                      next->version));
  }
  VLARFT_RETURN_IF_ERROR(replica_.Apply(next->version, next->tensors));
  last_version_ = next->version;
  VLARFT_ASSIGN_OR_RETURN(Result result, Evaluate(next->version));
  return std::optional<Result>(std::move(result));
}

absl::Status VersionEvaluator::Run(const std::atomic<bool>& stop, absl::Duration wait, absl::Duration retry_delay,
                                   const std::function<void(const absl::Status&)>& on_error) {
  VLARFT_RETURN_IF_ERROR(EvaluateBaseline().status());
  while (!stop.load()) {
    absl::StatusOr<std::optional<Result>> round = EvaluateNext(wait);
    if (round.ok()) continue;
    if (on_error) on_error(round.status());
    for (absl::Duration slept; slept < retry_delay && !stop.load(); slept += absl::Milliseconds(100)) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }
  return absl::OkStatus();
}

}  // namespace vlarft::evaluation
