#include "libs/rollout/policy_replica.h"

#include <mutex>

#include "absl/strings/str_cat.h"
#include "libs/core/rng.h"
#include "libs/core/status.h"
#include "libs/core/tensor_codec.h"

namespace vlarft::rollout {

PolicyReplica::PolicyReplica(models::VlaPolicy policy) : policy_(std::move(policy)) {
  policy_->FreezeForRft();  // same trainable set as the learner's
  policy_->eval();          // old log-probs are recorded in eval mode
}

int64_t PolicyReplica::version() const {
  std::shared_lock<std::shared_mutex> lock(mu_);
  return version_;
}

void PolicyReplica::MarkVersion(int64_t version) {
  std::unique_lock<std::shared_mutex> lock(mu_);
  version_ = version;
}

absl::Status PolicyReplica::Apply(int64_t version, const std::map<std::string, torch::Tensor>& tensors) {
  std::unique_lock<std::shared_mutex> lock(mu_);
  const auto params = policy_->named_parameters();
  for (const auto& [name, tensor] : tensors) {
    const torch::Tensor* p = params.find(name);
    if (p == nullptr) return absl::FailedPreconditionError(absl::StrCat("weight version ", version, " has unknown tensor '", name, "'"));
    if (p->sizes() != tensor.sizes()) {
      return absl::FailedPreconditionError(absl::StrCat("weight version ", version, ": '", name, "' has shape ",
                                                        core::ShapeString(tensor.sizes().vec()), ", policy has ",
                                                        core::ShapeString(p->sizes().vec())));
    }
  }
  for (const auto& item : params) {
    if (item.value().requires_grad() && tensors.count(item.key()) == 0) {
      return absl::FailedPreconditionError(absl::StrCat("weight version ", version, " lacks trainable tensor '",
                                                        item.key(), "' (different policy architecture?)"));
    }
  }
  torch::NoGradGuard no_grad;
  for (const auto& [name, tensor] : tensors) params.find(name)->copy_(tensor);
  version_ = version;
  return absl::OkStatus();
}

absl::StatusOr<PolicyReplica::Sampled> PolicyReplica::Sample(const models::PolicyContext& context, int64_t rows,
                                                              uint64_t seed) {
  const models::PolicyConfig& config = policy_->config();
  at::Generator generator = core::MakeCpuGenerator(seed);
  const torch::Device device = context.tokens.device();
  const torch::Tensor x0 =
      torch::randn({rows, config.chunk_length, config.action_dim}, generator, torch::TensorOptions()).to(device);
  Sampled out;
  out.version = version_;
  out.sample = rl::SampleSde(*policy_, context, x0, generator);
  out.actions = policy_->action_normalizer().Denormalize(out.sample.chain.select(1, config.flow_steps)).cpu();
  return out;
}

absl::StatusOr<PolicyReplica::Sampled> PolicyReplica::SampleGroup(const models::PolicyObservation& observation,
                                                                  int64_t group_size, uint64_t seed) {
  std::shared_lock<std::shared_mutex> lock(mu_);
  torch::NoGradGuard no_grad;
  VLARFT_ASSIGN_OR_RETURN(models::PolicyContext context, policy_->Encode(observation));
  return Sample(context.Repeat(group_size), group_size, seed);
}

absl::StatusOr<PolicyReplica::Sampled> PolicyReplica::SamplePerObservation(const models::PolicyObservation& observations,
                                                                           uint64_t seed) {
  std::shared_lock<std::shared_mutex> lock(mu_);
  torch::NoGradGuard no_grad;
  VLARFT_ASSIGN_OR_RETURN(models::PolicyContext context, policy_->Encode(observations));
  return Sample(context, static_cast<int64_t>(observations.instructions.size()), seed);
}

}  // namespace vlarft::rollout
