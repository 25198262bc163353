// Benchmark evaluation of a VLA policy: the policy behind the benchmark's Policy interface
// (policy_adapter.h), run on the tabletop suites. `vlarft eval`, `vlarft rft`, `vlarft study rft`
// and the vlarft-evaluator service all evaluate through here, so their numbers are the same measure.
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "libs/models/policy.h"
#include "libs/tabletop/evaluation.h"

namespace vlarft::evaluation {

struct PolicyEvalSettings {
  std::vector<std::string> suites;  // empty = all
  int episodes_per_task = 50;
  uint64_t seed = 1000;
  int threads = 2;
  int policy_lanes = 1;  // forward passes at once (PolicyAdapterOptions::lanes)
  bool bf16 = false;
};

// Every evaluation with the same settings faces the same scenes and, through a fresh adapter, the
// same sampling noise, so two policies can be compared episode by episode.
absl::StatusOr<tabletop::EvalReport> EvaluateVlaPolicy(const models::VlaPolicy& policy, const std::string& name,
                                                       const PolicyEvalSettings& settings,
                                                       const tabletop::PerturbationSpec& perturbation = {});

}  // namespace vlarft::evaluation
