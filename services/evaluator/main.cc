// vlarft-evaluator: benchmark success of the policy RFT is training, for dashboards and alerts.
// Evaluates the baseline policy, then follows the learner's published versions (GetPolicyWeights
// long-poll) and evaluates the newest one whenever the last evaluation is done; exports per-suite
// success (EvaluatorMetrics) and optionally appends each result to a JSON-lines file. Serves health
// and metrics only. The loop itself is libs/evaluation's VersionEvaluator.
#include <atomic>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "glog/logging.h"
#include "libs/core/device.h"
#include "libs/core/mixed_precision.h"
#include "libs/core/status.h"
#include "libs/evaluation/version_evaluator.h"
#include "libs/tabletop/report.h"
#include "nlohmann/json.hpp"
#include "services/common/call_canceller.h"
#include "services/common/client.h"
#include "services/common/service_main.h"
#include "services/common/service_server.h"
#include "services/common/shutdown_signal.h"
#include "services/common/weight_fetcher.h"
#include "services/evaluator/evaluator_config.h"
#include "services/evaluator/evaluator_metrics.h"

namespace vlarft::services {
namespace {

// One line per evaluation: {"version": v (-1 = baseline), "report": <tabletop::ReportJson>}.
absl::Status AppendResult(const std::string& path, const evaluation::VersionEvaluator::Result& result) {
  nlohmann::json line;
  line["version"] = result.version;
  line["report"] = nlohmann::json::parse(tabletop::ReportJson(result.report));
  std::ofstream out(path, std::ios::app);
  out << line.dump() << "\n";  // one line: readers split on newlines
  out.flush();
  if (!out) return absl::PermissionDeniedError(absl::StrCat("cannot append to evaluator.results_file ", path));
  return absl::OkStatus();
}

}  // namespace

absl::Status RunEvaluator(const ServiceInvocation<EvaluatorConfig>& invocation, ShutdownSignal& signals) {
  const EvaluatorConfig& config = invocation.config;
  if (invocation.server.validating_config_only()) {
    if (config.learner.target.empty()) return absl::InvalidArgumentError("evaluator.learner.target is required (host:port)");
    return core::ParseDeviceName(config.device, "evaluator.device").status();
  }
  if (config.torch_threads > 0) torch::set_num_threads(static_cast<int>(config.torch_threads));
  VLARFT_ASSIGN_OR_RETURN(torch::Device device, core::ParseDevice(config.device, "evaluator.device"));
  VLARFT_ASSIGN_OR_RETURN(models::VlaPolicy policy, models::LoadPolicy(config.policy_checkpoint));
  policy->to(device);
  evaluation::PolicyEvalSettings settings;
  settings.suites = config.suites;
  settings.episodes_per_task = static_cast<int>(config.episodes_per_task);
  settings.seed = config.seed;
  settings.threads = static_cast<int>(config.threads);
  VLARFT_ASSIGN_OR_RETURN(settings.bf16, core::UseBf16(config.mixed_precision, device.type(), "evaluator.mixed_precision"));
  VLARFT_ASSIGN_OR_RETURN(auto channel, MakeChannel(config.learner));
  std::unique_ptr<v1::Learner::Stub> learner = v1::Learner::NewStub(channel);
  VLARFT_ASSIGN_OR_RETURN(CallContextFactory contexts, CallContextFactory::Create(config.learner));
  if (invocation.server.validating()) return ValidateServerFiles(invocation.server);

  VLARFT_ASSIGN_OR_RETURN(std::unique_ptr<metrics::MetricsEndpoint> endpoint, StartMetricsEndpoint(invocation.server));
  std::unique_ptr<EvaluatorMetrics> metrics;
  if (endpoint != nullptr) metrics = std::make_unique<EvaluatorMetrics>(endpoint->registry());
  VLARFT_ASSIGN_OR_RETURN(std::unique_ptr<ServiceServer> server,
                          ServiceServer::Start(invocation.server, {}, "evaluator", std::move(endpoint)));

  CallCanceller in_flight;  // a SIGTERM cancels the long-poll instead of waiting it out
  auto source = [&](int64_t min_version, absl::Duration wait)
      -> absl::StatusOr<std::optional<evaluation::PolicyVersion>> {
    std::unique_ptr<grpc::ClientContext> context = contexts.New(wait + absl::Seconds(60));
    const CallCanceller::Registration registration = in_flight.Register(context.get());
    VLARFT_ASSIGN_OR_RETURN(std::optional<FetchedWeights> fetched,
                            FetchPolicyWeights(*learner, context.get(), min_version, wait));
    if (!fetched.has_value()) return std::nullopt;
    return evaluation::PolicyVersion{fetched->version, std::move(fetched->tensors)};
  };
  auto sink = [&](const evaluation::VersionEvaluator::Result& result) {
    const tabletop::Interval& s = result.report.average;
    LOG(INFO) << absl::StrFormat("event=evaluated version=%d success=%.4f low=%.4f high=%.4f seconds=%.1f",
                                 result.version, s.rate, s.low, s.high, result.report.seconds);
    if (metrics) {
      if (result.version < 0) {
        metrics->SetBaseline(result.report);
      } else {
        metrics->Record(result.version, result.report);
      }
    }
    if (!config.results_file.empty()) {
      const absl::Status appended = AppendResult(config.results_file, result);
      if (!appended.ok()) LOG(ERROR) << "event=results_file_error " << appended;
    }
  };
  evaluation::VersionEvaluator evaluator(policy, settings, source, sink, config.version_stride);

  std::atomic<bool> stop{false};
  const absl::Status status = signals.RunUntilDone(
      stop,
      [&] {
        return evaluator.Run(stop, absl::Seconds(config.weight_wait_s), absl::Seconds(5), [&](const absl::Status& error) {
          if (stop.load()) return;  // the long-poll cancelled by shutdown
          LOG(WARNING) << "event=evaluation_round_failed " << error;
          if (metrics) metrics->CountError();
        });
      },
      [&] { in_flight.CancelAll(); });
  server->Shutdown();
  return status;
}

}  // namespace vlarft::services

int main(int argc, char** argv) {
  return vlarft::services::ServiceMain<vlarft::services::EvaluatorConfig>(argc, argv, "evaluator", "vlarft-evaluator",
                                                                          &vlarft::services::RunEvaluator);
}
