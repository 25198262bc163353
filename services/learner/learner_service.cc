#include "services/learner/learner_service.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "glog/logging.h"
#include "services/common/grpc_status.h"
#include "services/common/rollout_proto.h"

namespace vlarft::services {

LearnerServiceImpl::LearnerServiceImpl(const LearnerConfig& config, const models::PolicyConfig& policy_config,
                                       RolloutIntake& intake, const WeightStore& weights,
                                       const LearnerProgress& progress, TokenVerifier auth,
                                       LearnerMetrics* learner_metrics)
    : config_(config),
      policy_config_(policy_config),
      intake_(intake),
      weights_(weights),
      progress_(progress),
      auth_(std::move(auth)),
      learner_metrics_(learner_metrics) {}

// Latency and status codes of every RPC: the server's interceptor (rpc_metrics_interceptor.h).

grpc::Status LearnerServiceImpl::SubmitGroups(grpc::ServerContext* context, const v1::SubmitGroupsRequest* request,
                                              v1::SubmitGroupsResponse* response) {
  if (absl::Status s = auth_.Check(*context); !s.ok()) return ToGrpcStatus(s);
  if (progress_.finished.load()) {
    return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION, "training finished");
  }
  if (request->groups_size() > config_.intake_capacity) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                                      absl::StrCat("field 'groups': ", request->groups_size(),
                                                   " groups can never fit the learner's intake of ",
                                                   config_.intake_capacity, "; submit fewer per request"));
  }
  const int64_t version = weights_.version();
  // Validate everything before admitting anything: one bad group rejects the request.
  for (int i = 0; i < request->groups_size(); ++i) {
    const v1::RolloutGroup& proto = request->groups(i);
    if (proto.policy_version() > version) {
      // Sampled with weights this learner never published: a forged label, or a worker that still
      // holds weights from before a learner restart rolled back to an older checkpoint.
      return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                                        absl::StrCat("groups[", i, "] ('", proto.group_id(), "'): policy_version ",
                                                     proto.policy_version(), " is newer than the learner's version ",
                                                     version, "; fetch the current weights and sample again"));
    }
    absl::StatusOr<rl::RolloutGroupData> group = RolloutGroupFromProto(proto);
    absl::Status status = group.ok() ? rl::ValidateRolloutGroup(*group, policy_config_) : group.status();
    if (!status.ok()) {
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                                        absl::StrCat("groups[", i, "] ('", proto.group_id(), "'): ", status.message()));
    }
  }
  std::vector<v1::RolloutGroup> groups(request->groups().begin(), request->groups().end());
  const RolloutIntake::AddResult added = intake_.Add(std::move(groups), version);
  if (learner_metrics_) {
    learner_metrics_->RecordIntake(added.accepted, added.duplicates, added.full);
    learner_metrics_->SyncDroppedStale(intake_.dropped_stale());
    learner_metrics_->SetQueueDepth(intake_.size());
  }
  response->set_policy_version(version);
  response->set_queue_free_slots(static_cast<int32_t>(std::max<int64_t>(0, intake_.free_slots())));
  if (added.full) {
    return grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                                      absl::StrCat("learner intake is full (", intake_.size(), "/",
                                                   config_.intake_capacity, " groups); retry later"));
  }
  response->set_accepted(added.accepted);
  response->set_duplicates(added.duplicates);
  response->set_stale(added.stale);
  return grpc::Status::OK;
}

grpc::Status LearnerServiceImpl::GetPolicyWeights(grpc::ServerContext* context,
                                                  const v1::GetPolicyWeightsRequest* request,
                                                  grpc::ServerWriter<v1::WeightChunk>* writer) {
  if (absl::Status s = auth_.Check(*context); !s.ok()) return ToGrpcStatus(s);
  const absl::Duration wait = absl::Milliseconds(std::clamp(request->wait_ms(), 0, 60000));
  absl::StatusOr<std::shared_ptr<const WeightStore::Version>> version =
      weights_.WaitFor(request->min_version(), wait, [context] { return context->IsCancelled(); });
  if (!version.ok()) return ToGrpcStatus(version.status());
  for (const v1::WeightChunk& chunk : (*version)->chunks) {
    if (context->IsCancelled()) return grpc::Status(grpc::StatusCode::CANCELLED, "client went away");
    if (!writer->Write(chunk)) return grpc::Status(grpc::StatusCode::UNAVAILABLE, "stream broken");
  }
  return grpc::Status::OK;
}

grpc::Status LearnerServiceImpl::GetStatus(grpc::ServerContext* context, const v1::GetLearnerStatusRequest*,
                                           v1::LearnerStatus* response) {
  if (absl::Status s = auth_.Check(*context); !s.ok()) return ToGrpcStatus(s);
  response->set_step(progress_.step.load());
  response->set_policy_version(weights_.version());
  response->set_world_size(config_.distributed.world_size);
  response->set_groups_trained(progress_.groups_trained.load());
  response->set_queue_depth(static_cast<int32_t>(intake_.size()));
  response->set_groups_dropped_stale(intake_.dropped_stale());
  response->set_groups_duplicate(intake_.duplicates());
  response->set_last_reward_mean(progress_.last_reward_mean.load());
  response->set_max_steps(config_.max_steps);
  response->set_finished(progress_.finished.load());
  return grpc::Status::OK;
}

}  // namespace vlarft::services
