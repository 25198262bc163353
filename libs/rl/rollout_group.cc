#include "libs/rl/rollout_group.h"

#include <tuple>

#include "absl/strings/str_cat.h"
#include "libs/core/status.h"
#include "libs/core/tensor_codec.h"

namespace vlarft::rl {

absl::Status ValidateRolloutGroup(const RolloutGroupData& group, const models::PolicyConfig& config) {
  using core::DType;
  const int64_t k = config.flow_steps, c = config.chunk_length, a = config.action_dim;
  if (!group.chains.defined() || group.chains.dim() != 5) {
    return absl::InvalidArgumentError("field 'chains' must be [G, H, K+1, chunk_length, action_dim]");
  }
  const int64_t g = group.chains.size(0), h = group.chains.size(1);
  if (g < 2) return absl::InvalidArgumentError(absl::StrCat("field 'chains': group size ", g, " < 2 has no baseline"));
  if (h < 1) return absl::InvalidArgumentError("field 'chains': horizon must be >= 1");
  auto check = [](const char* field, const torch::Tensor& t, DType dtype, std::vector<int64_t> shape) {
    if (!t.defined()) return absl::InvalidArgumentError(absl::StrCat("field '", field, "' is required"));
    core::TensorExpectation spec;
    spec.dtype = dtype;
    spec.shape = std::move(shape);
    return core::CheckTensor(field, t, spec);
  };
  VLARFT_RETURN_IF_ERROR(check("chains", group.chains, DType::kFloat32, {g, h, k + 1, c, a}));
  VLARFT_RETURN_IF_ERROR(check("old_log_probs", group.old_log_probs, DType::kFloat32, {g, h, k, c, a}));
  VLARFT_RETURN_IF_ERROR(check("rewards", group.rewards, DType::kFloat32, {g}));
  VLARFT_RETURN_IF_ERROR(check("proprio", group.proprio, DType::kFloat32, {config.proprio_dim}));
  VLARFT_RETURN_IF_ERROR(check("expert_actions", group.expert_actions, DType::kFloat32, {h * c, a}));
  const int64_t size = config.encoder.image_size;
  VLARFT_RETURN_IF_ERROR(check("observations", group.observations, DType::kUInt8, {-1, h, size, size, 3}));
  if (group.observations.size(0) != 1 && group.observations.size(0) != g) {
    return absl::InvalidArgumentError(absl::StrCat("field 'observations': first dimension must be 1 or G = ", g,
                                                   ", got ", group.observations.size(0)));
  }
  // Bounded at admission, so no single group can make a step non-finite: a chain token's log-density
  // under a Gaussian with sigma >= policy.sigma_min is a few nats, and |-1e3| is a 45-sigma draw.
  constexpr double kMaxAbsLogProb = 1e3, kMaxAbsChain = 1e3;
  for (const auto& [field, t, bound] :
       {std::tuple<const char*, torch::Tensor, double>{"chains", group.chains, kMaxAbsChain},
        std::tuple<const char*, torch::Tensor, double>{"old_log_probs", group.old_log_probs, kMaxAbsLogProb},
        std::tuple<const char*, torch::Tensor, double>{"rewards", group.rewards, 0},
        std::tuple<const char*, torch::Tensor, double>{"proprio", group.proprio, 0},
        std::tuple<const char*, torch::Tensor, double>{"expert_actions", group.expert_actions, 0}}) {
    if (!torch::isfinite(t).all().item<bool>()) {
      return absl::InvalidArgumentError(absl::StrCat("field '", field, "' contains non-finite values"));
    }
    if (bound > 0 && t.abs().max().item<double>() > bound) {
      return absl::InvalidArgumentError(absl::StrCat("field '", field, "' has values beyond +-", bound,
                                                     ", which the policy's sampler cannot produce"));
    }
  }
  if (group.instruction.empty()) return absl::InvalidArgumentError("field 'instruction' is required");
  if (group.group_id.empty()) return absl::InvalidArgumentError("field 'group_id' is required");
  return absl::OkStatus();
}

}  // namespace vlarft::rl
