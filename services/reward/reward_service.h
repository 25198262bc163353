// gRPC face of the reward verifier: validates Score requests (shapes, dtypes, sizes, finite values,
// group size) with INVALID_ARGUMENT naming the field, batches them across callers, and records the
// reward distribution per component.
#pragma once

#include <memory>

#include "libs/metrics/rpc_metrics.h"
#include "prometheus/registry.h"
#include "services/common/auth.h"
#include "services/common/batch_scheduler.h"
#include "services/reward/reward_backend.h"
#include "vlarft/v1/reward.grpc.pb.h"

namespace vlarft::services {

absl::StatusOr<ScoreJob> ValidateScoreRequest(const v1::ScoreRequest& request, const VerifierFacts& facts);

class RewardServiceImpl final : public v1::RewardVerifier::Service {
 public:
  RewardServiceImpl(RewardBackend* backend, BatchSchedulerOptions batching, TokenVerifier auth,
                    prometheus::Registry* registry);
  ~RewardServiceImpl() override;

  grpc::Status Score(grpc::ServerContext* context, const v1::ScoreRequest* request, v1::ScoreResponse* response) override;
  grpc::Status GetInfo(grpc::ServerContext* context, const v1::GetVerifierInfoRequest* request,
                       v1::VerifierInfo* response) override;
  void Stop() { scheduler_->Stop(); }

 private:
  struct Metrics;
  RewardBackend* backend_;
  TokenVerifier auth_;
  std::unique_ptr<Metrics> metrics_;
  std::unique_ptr<BatchScheduler<ScoreJob, ScoreResult>> scheduler_;
};

}  // namespace vlarft::services
