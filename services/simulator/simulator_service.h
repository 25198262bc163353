// gRPC face of the world-model simulator: validates Imagine requests against the model's facts
// (frame size, action dims, group size, horizon, finite values, sampling ranges) with INVALID_ARGUMENT
// naming the field, then batches them across callers through the BatchScheduler.
#pragma once

#include <memory>

#include "libs/metrics/rpc_metrics.h"
#include "prometheus/counter.h"
#include "prometheus/gauge.h"
#include "prometheus/histogram.h"
#include "services/common/auth.h"
#include "services/common/batch_scheduler.h"
#include "services/simulator/world_model_backend.h"
#include "vlarft/v1/simulator.grpc.pb.h"

namespace vlarft::services {

// Converts and validates a request. Public for tests.
absl::StatusOr<ImagineJob> ValidateImagineRequest(const v1::ImagineRequest& request, const SimulatorFacts& facts,
                                                  const WorldModelBackend& backend);

class SimulatorServiceImpl final : public v1::WorldModelSimulator::Service {
 public:
  SimulatorServiceImpl(WorldModelBackend* backend, BatchSchedulerOptions batching, TokenVerifier auth,
                       prometheus::Registry* registry);
  ~SimulatorServiceImpl() override;

  grpc::Status Imagine(grpc::ServerContext* context, const v1::ImagineRequest* request,
                       v1::ImagineResponse* response) override;
  grpc::Status ReleaseSession(grpc::ServerContext* context, const v1::ReleaseSessionRequest* request,
                              v1::ReleaseSessionResponse* response) override;
  grpc::Status GetInfo(grpc::ServerContext* context, const v1::GetSimulatorInfoRequest* request,
                       v1::SimulatorInfo* response) override;

  // Fails queued requests and stops the batching thread (call after the gRPC server drained).
  void Stop() { scheduler_->Stop(); }

 private:
  struct Metrics;
  WorldModelBackend* backend_;
  TokenVerifier auth_;
  std::unique_ptr<Metrics> metrics_;
  std::unique_ptr<BatchScheduler<ImagineJob, ImagineResult>> scheduler_;
};

}  // namespace vlarft::services
