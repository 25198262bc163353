// One GRPO optimisation step over rollout groups (docs/architecture.md, "The learner" and "The math and where it lives"): recompute the stored
// chains' log-probs under the current policy, group-relative advantages, the clipped loss with
// entropy / flow-matching / KL terms, gradients averaged across data-parallel ranks (c10d), gradient
// clipping, AdamW with separate learning rates and warm-up for the flow head and the sigma net.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "libs/core/torch_compat.h"
#include "libs/models/checkpoint.h"
#include "libs/models/policy.h"
#include "libs/rl/data_parallel.h"
#include "libs/rl/grpo.h"
#include "libs/rl/rollout_group.h"

namespace vlarft::rl {

struct LearnerOptimConfig {
  double head_lr = 1e-6;     // flow head and its conditioning projectors (paper)
  double sigma_lr = 1e-5;    // sigma net (paper)
  double encoder_lr = 1e-5;  // encoder LoRA adapters, if any
  // The subgoal head (e.g. the heat-map localiser). 0 keeps it frozen, as SFT left it. > 0 trains it
  // by the policy-gradient term alone: the heads are conditioned on its estimate, so the chain
  // log-prob depends on its weights through that estimate (docs/architecture.md, "What RFT trains").
  double localiser_lr = 0;
  double weight_decay = 0.01;
  int64_t warmup_steps = 10;
  double grad_clip = 1.0;
  int64_t micro_batch_groups = 4;  // groups per forward/backward pass (memory bound)
  uint64_t seed = 0;               // flow-matching noise and τ draws

  template <typename V>
  void VisitFields(V& v) {
    v.Field("head_lr", head_lr, "AdamW learning rate of the flow head");
    v.Field("sigma_lr", sigma_lr, "AdamW learning rate of the sigma net");
    v.Field("encoder_lr", encoder_lr, "AdamW learning rate of encoder LoRA adapters");
    v.Field("localiser_lr", localiser_lr,
            "AdamW learning rate of the subgoal head's heat-map localiser (0 = frozen; > 0 needs "
            "policy.subgoal_localiser, and only the policy-gradient term reaches it)");
    v.Field("weight_decay", weight_decay, "AdamW weight decay");
    v.Field("warmup_steps", warmup_steps, "linear learning-rate warm-up steps");
    v.Field("grad_clip", grad_clip, "global gradient-norm clip (<= 0 disables)");
    v.Field("micro_batch_groups", micro_batch_groups, "groups per forward/backward pass");
    v.Field("seed", seed, "seed of the learner's own random draws");
  }
  absl::Status Validate() const;
};

struct LearnerStepMetrics {
  int64_t step = 0;  // optimiser steps taken after this one
  int64_t groups = 0;
  double reward_mean = 0, reward_std = 0;
  double advantage_abs_mean = 0;
  double zero_variance_groups = 0;  // fraction of groups whose rewards were all equal
  double loss = 0, policy_loss = 0, entropy = 0, flow_matching = 0, kl = 0;
  double clip_fraction = 0, dual_clip_fraction = 0, approx_kl = 0, ratio_mean = 0;
  double sigma_mean = 0, grad_norm = 0, head_lr = 0, sigma_lr = 0;
  // The gradient was not finite: no update was made and `step` did not advance (never fatal).
  bool skipped_nonfinite = false;
};

class GrpoLearner {
 public:
  // `group` may be null (single process). `reference` is needed only when grpo.kl_coef > 0.
  static absl::StatusOr<std::unique_ptr<GrpoLearner>> Create(models::VlaPolicy policy, GrpoConfig grpo,
                                                             LearnerOptimConfig optim, DataParallelGroup* group,
                                                             std::optional<models::VlaPolicy> reference);

  // One optimiser step on this rank's share of the groups (every rank must call it, even with an
  // empty share, because gradients are averaged collectively). Metrics are averaged over ranks.
  // A non-finite gradient skips the update on every rank (the norm is computed after the all-reduce)
  // and says so in the metrics; it is not an error.
  absl::StatusOr<LearnerStepMetrics> Step(const std::vector<RolloutGroupData>& local_groups);

  int64_t step() const { return step_; }
  models::VlaPolicy& policy() { return policy_; }
  // The trainable tensors by stable name: what weight publication ships to rollout workers.
  models::NamedParameters TrainableTensors() const;

  absl::Status SaveCheckpoint(models::TrainingCheckpoints& checkpoints, const YAML::Node& extra);
  // Restores weights, optimiser state, step and RNG from the newest checkpoint; returns its extra.
  absl::StatusOr<YAML::Node> RestoreCheckpoint(const models::TrainingCheckpoints& checkpoints);

 private:
  // A step is: assemble micro-batches of groups, their loss and backward pass, the all-reduce,
  // clip and optimiser step, then the metrics.
  struct MicroBatch {
    models::PolicyObservation observation;  // each group's distinct observations, encoded once
    torch::Tensor row_index;                // [rows]: the encoded row of every (sample, chunk)
    torch::Tensor anchor_rows;              // [groups]: the prompt's row, for the flow-matching anchor
    torch::Tensor chains, old_log_probs;    // per (sample, chunk) row
    torch::Tensor advantages;               // [rows], group-relative
    torch::Tensor expert_chunks;            // [groups, C, A]
  };
  struct MicroBatchResult {  // summed over micro-batches with token weights
    double tokens = 0;
    GrpoTerms terms;
    double sigma_mean = 0;
  };
  struct GroupStatistics {  // of the submitted rewards, for the metrics
    std::vector<double> rewards, advantages_abs;
    int64_t zero_variance_groups = 0;
  };

  GrpoLearner(models::VlaPolicy policy, GrpoConfig grpo, LearnerOptimConfig optim, DataParallelGroup* group,
              std::optional<models::VlaPolicy> reference);
  static MicroBatch AssembleMicroBatch(const std::vector<RolloutGroupData>& groups, size_t begin, size_t end,
                                       const models::VlaPolicyImpl& policy, const GrpoConfig& grpo,
                                       GroupStatistics* statistics);
  // What every micro-batch of a step shares, decided once per step.
  struct StepSetup {
    torch::Device device;
    torch::Tensor active_dims;  // undefined: every action dimension is a token
    bool encoder_trains = false, localiser_trains = false;
  };
  absl::StatusOr<MicroBatchResult> MicroBatchLoss(const MicroBatch& batch, const StepSetup& setup);
  // All-reduce, clip, step; the gradient norm. `skipped`: not finite, so no update was made.
  absl::StatusOr<double> ApplyGradients(bool* skipped);
  absl::StatusOr<LearnerStepMetrics> StepMetrics(const std::vector<MicroBatchResult>& results,
                                                 const GroupStatistics& statistics, size_t groups, double total_tokens,
                                                 double grad_norm, bool skipped);
  void ApplyLearningRates();

  models::VlaPolicy policy_;
  GrpoConfig grpo_;
  LearnerOptimConfig optim_;
  DataParallelGroup* group_;
  std::optional<models::VlaPolicy> reference_;
  std::unique_ptr<torch::optim::AdamW> optimizer_;
  std::vector<double> base_lrs_;  // per optimiser param group
  at::Generator generator_;
  int64_t step_ = 0;
};

}  // namespace vlarft::rl
