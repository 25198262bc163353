// The trained VLA policy behind the benchmark's Policy interface: observations are batched through
// the encoder once per decision, and each episode gets an 8-step action chunk from the ODE sampler
// (or the SDE, to evaluate the stochastic policy RFT trains).
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "libs/models/policy.h"
#include "libs/tabletop/evaluation.h"

namespace vlarft::evaluation {

inline constexpr int64_t kMaxPolicyLanes = 64;  // PolicyAdapterOptions::lanes

struct PolicyAdapterOptions {
  bool sde = false;
  uint64_t seed = 0;
  int64_t max_batch = 256;  // observations per forward pass
  // Forward passes at once, each on its own thread: every slice of max_batch observations is shared
  // out over the lanes (ODE sampling; the SDE keeps one lane). On a CPU, one lane per core with one
  // LibTorch thread each beats one pass over all cores: the policy's operators are too small to split
  // well (docs/results.md, "Bar 3"). The noise is drawn per slice as on one lane, so the actions are
  // the same up to float rounding (a smaller pass may block its products differently).
  int64_t lanes = 1;
  // bfloat16 autocast around encoder and sampler: the regime the policies are trained in
  // (policy_training.mixed_precision) and ~4.5x faster on CPUs with oneDNN bf16 kernels
  // (docs/results.md, policy_sampling_bench). Actions come back in float32 either way.
  bool bf16 = false;
  // Diagnostics only, for policies with a subgoal head (policy.subgoal_localiser): steer the heads by the
  // simulator's true next subgoal (Observation::privileged_subgoal) instead of the subgoal head's
  // estimate, which measures the controller alone.
  bool oracle_subgoal = false;
  // For policies with a subgoal head, when set: called once per observation with its
  // task index, environment step and the distance (metres) between the subgoal head's estimate and the simulator's
  // subgoal (Observation::privileged_subgoal). A diagnostic of the localiser on its own trajectories.
  // Called from one thread at a time; with several lanes, slices may report in any order.
  std::function<void(int task_index, int step, double error_m)> subgoal_error;
};

// FAILED_PRECONDITION: options the policy cannot honour (oracle_subgoal without subgoal conditioning).
absl::StatusOr<std::unique_ptr<tabletop::Policy>> MakeVlaPolicyAdapter(models::VlaPolicy policy, std::string name,
                                                                       PolicyAdapterOptions options);

}  // namespace vlarft::evaluation
