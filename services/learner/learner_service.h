// gRPC face of the learner (rank 0): SubmitGroups into the intake, GetPolicyWeights from the weight
// store, GetStatus. The training loop runs elsewhere (learner_rank_loop.h); this class only validates,
// admits and answers.
#pragma once

#include <atomic>

#include "libs/models/policy.h"
#include "services/common/auth.h"
#include "services/learner/learner_config.h"
#include "services/learner/learner_metrics.h"
#include "services/learner/rollout_intake.h"
#include "services/learner/weight_store.h"
#include "vlarft/v1/learner.grpc.pb.h"

namespace vlarft::services {

// Progress shared between the training loop (writer) and the RPC handlers (readers).
struct LearnerProgress {
  std::atomic<int64_t> step{0};
  std::atomic<int64_t> groups_trained{0};
  std::atomic<double> last_reward_mean{0.0};
  std::atomic<bool> finished{false};
};

class LearnerServiceImpl final : public v1::Learner::Service {
 public:
  LearnerServiceImpl(const LearnerConfig& config, const models::PolicyConfig& policy_config, RolloutIntake& intake,
                     const WeightStore& weights, const LearnerProgress& progress, TokenVerifier auth,
                     LearnerMetrics* learner_metrics);

  grpc::Status SubmitGroups(grpc::ServerContext* context, const v1::SubmitGroupsRequest* request,
                            v1::SubmitGroupsResponse* response) override;
  grpc::Status GetPolicyWeights(grpc::ServerContext* context, const v1::GetPolicyWeightsRequest* request,
                                grpc::ServerWriter<v1::WeightChunk>* writer) override;
  grpc::Status GetStatus(grpc::ServerContext* context, const v1::GetLearnerStatusRequest* request,
                         v1::LearnerStatus* response) override;

 private:
  const LearnerConfig& config_;
  const models::PolicyConfig& policy_config_;
  RolloutIntake& intake_;
  const WeightStore& weights_;
  const LearnerProgress& progress_;
  TokenVerifier auth_;
  LearnerMetrics* learner_metrics_;
};

}  // namespace vlarft::services
