// The trained VLA policy behind the benchmark's Policy interface: observations are batched through
// the encoder once per decision, and each episode gets an 8-step action chunk from the ODE sampler
// (or the SDE, to evaluate the stochastic policy RFT trains).
#pragma once

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "libs/models/policy.h"
#include "libs/tabletop/evaluation.h"

namespace vlarft::cli {

struct PolicyAdapterOptions {
  bool sde = false;
  uint64_t seed = 0;
  int64_t max_batch = 256;  // observations per forward pass
};

std::unique_ptr<tabletop::Policy> MakeVlaPolicyAdapter(models::VlaPolicy policy, std::string name,
                                                       PolicyAdapterOptions options);

}  // namespace vlarft::cli
