#include "libs/evaluation/version_evaluator.h"

#include <thread>
#include <utility>

#include "absl/strings/str_cat.h"
#include "libs/core/status.h"

namespace vlarft::evaluation {

VersionEvaluator::VersionEvaluator(models::VlaPolicy policy, PolicyEvalSettings settings, WeightSource source,
                                   ResultSink sink)
    : policy_(policy),
      replica_(policy),  // shares the module: Apply changes what Evaluate runs
      settings_(std::move(settings)),
      source_(std::move(source)),
      sink_(std::move(sink)) {}

absl::StatusOr<VersionEvaluator::Result> VersionEvaluator::Evaluate(int64_t version) {
  const std::string name = version < 0 ? "baseline" : absl::StrCat("version ", version);
  VLARFT_ASSIGN_OR_RETURN(tabletop::EvalReport report, EvaluateVlaPolicy(policy_, name, settings_));
  Result result{version, std::move(report)};
  if (sink_) sink_(result);
  return result;
}

absl::StatusOr<VersionEvaluator::Result> VersionEvaluator::EvaluateBaseline() { return Evaluate(-1); }

absl::StatusOr<std::optional<VersionEvaluator::Result>> VersionEvaluator::EvaluateNext(absl::Duration wait) {
  VLARFT_ASSIGN_OR_RETURN(std::optional<PolicyVersion> next, source_(last_version_ + 1, wait));
  if (!next.has_value()) return std::nullopt;
  if (next->version <= last_version_) {
    return absl::FailedPreconditionError(absl::StrCat("asked for a version after ", last_version_, ", got ",
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
