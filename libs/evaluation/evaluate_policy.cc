#include "libs/evaluation/evaluate_policy.h"

#include "libs/core/mixed_precision.h"
#include "libs/core/status.h"
#include "libs/evaluation/policy_adapter.h"

namespace vlarft::evaluation {

absl::StatusOr<tabletop::EvalReport> EvaluateVlaPolicy(const models::VlaPolicy& policy, const std::string& name,
                                                       const PolicyEvalSettings& settings,
                                                       const tabletop::PerturbationSpec& perturbation) {
  PolicyAdapterOptions adapter_options;
  adapter_options.seed = settings.seed;
  adapter_options.bf16 = settings.bf16;
  adapter_options.lanes = settings.policy_lanes;
  VLARFT_ASSIGN_OR_RETURN(std::unique_ptr<tabletop::Policy> adapter, MakeVlaPolicyAdapter(policy, name, adapter_options));
  tabletop::EvalOptions eval;
  eval.suites = settings.suites;
  eval.episodes_per_task = settings.episodes_per_task;
  eval.seed = settings.seed;
  eval.perturbation = perturbation;
  eval.image_size = static_cast<int>(policy->config().encoder.image_size);
  eval.threads = settings.threads;
  VLARFT_ASSIGN_OR_RETURN(tabletop::EvalReport report, tabletop::Evaluate(*adapter, eval));
  report.precision = core::PrecisionName(settings.bf16);
  return report;
}

}  // namespace vlarft::evaluation
