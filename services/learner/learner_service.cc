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
                                       metrics::RpcMetrics* rpc_metrics, LearnerMetrics* learner_metrics)
    : config_(config),
      policy_config_(policy_config),
      intake_(intake),
      weights_(weights),
      progress_(progress),
      auth_(std::move(auth)),
      rpc_metrics_(rpc_metrics),
      learner_metrics_(learner_metrics) {}

namespace {
// Records the call in the RPC metrics (if any) with the status it returns.
grpc::Status Finish(std::optional<metrics::RpcMetrics::Scope>& scope, grpc::Status status) {
  if (scope) scope->set_code(absl::StatusCodeToString(static_cast<absl::StatusCode>(status.error_code())));
  return status;
}
}  // namespace

grpc::Status LearnerServiceImpl::SubmitGroups(grpc::ServerContext* context, const v1::SubmitGroupsRequest* request,
                                              v1::SubmitGroupsResponse* response) {
  std::optional<metrics::RpcMetrics::Scope> scope;
  if (rpc_metrics_) scope.emplace(*rpc_metrics_, "SubmitGroups");
  if (absl::Status s = auth_.Check(*context); !s.ok()) return Finish(scope, ToGrpcStatus(s));
  if (progress_.finished.load()) {
    return Finish(scope, grpc::Status(grpc::StatusCode::FAILED_PRECONDITION, "training finished"));
  }
  if (request->groups_size() > config_.intake_capacity) {
    return Finish(scope, grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                                      absl::StrCat("field 'groups': ", request->groups_size(),
                                                   " groups can never fit the learner's intake of ",
                                                   config_.intake_capacity, "; submit fewer per request")));
  }
  const int64_t version = weights_.version();
  // Validate everything before admitting anything: one bad group rejects the request.
  for (int i = 0; i < request->groups_size(); ++i) {
    const v1::RolloutGroup& proto = request->groups(i);
    if (proto.policy_version() > version) {
      // Sampled with weights this learner never published: a forged label, or a worker that still
      // holds weights from before a learner restart rolled back to an older checkpoint.
      return Finish(scope, grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                                        absl::StrCat("groups[", i, "] ('", proto.group_id(), "'): policy_version ",
                                                     proto.policy_version(), " is newer than the learner's version ",
                                                     version, "; fetch the current weights and sample again")));
    }
    absl::StatusOr<rl::RolloutGroupData> group = RolloutGroupFromProto(proto);
    absl::Status status = group.ok() ? rl::ValidateRolloutGroup(*group, policy_config_) : group.status();
    if (!status.ok()) {
      return Finish(scope, grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                                        absl::StrCat("groups[", i, "] ('", proto.group_id(), "'): ", status.message())));
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
    return Finish(scope, grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                                      absl::StrCat("learner intake is full (", intake_.size(), "/",
                                                   config_.intake_capacity, " groups); retry later")));
  }
  response->set_accepted(added.accepted);
  response->set_duplicates(added.duplicates);
  response->set_stale(added.stale);
  return Finish(scope, grpc::Status::OK);
}

grpc::Status LearnerServiceImpl::GetPolicyWeights(grpc::ServerContext* context,
                                                  const v1::GetPolicyWeightsRequest* request,
                                                  grpc::ServerWriter<v1::WeightChunk>* writer) {
  std::optional<metrics::RpcMetrics::Scope> scope;
  if (rpc_metrics_) scope.emplace(*rpc_metrics_, "GetPolicyWeights");
  if (absl::Status s = auth_.Check(*context); !s.ok()) return Finish(scope, ToGrpcStatus(s));
  const absl::Duration wait = absl::Milliseconds(std::clamp(request->wait_ms(), 0, 60000));
  absl::StatusOr<std::shared_ptr<const WeightStore::Version>> version =
      weights_.WaitFor(request->min_version(), wait, [context] { return context->IsCancelled(); });
  if (!version.ok()) return Finish(scope, ToGrpcStatus(version.status()));
  for (const v1::WeightChunk& chunk : (*version)->chunks) {
    if (context->IsCancelled()) return Finish(scope, grpc::Status(grpc::StatusCode::CANCELLED, "client went away"));
    if (!writer->Write(chunk)) return Finish(scope, grpc::Status(grpc::StatusCode::UNAVAILABLE, "stream broken"));
  }
  return Finish(scope, grpc::Status::OK);
}

grpc::Status LearnerServiceImpl::GetStatus(grpc::ServerContext* context, const v1::GetLearnerStatusRequest*,
                                           v1::LearnerStatus* response) {
  std::optional<metrics::RpcMetrics::Scope> scope;
  if (rpc_metrics_) scope.emplace(*rpc_metrics_, "GetStatus");
  if (absl::Status s = auth_.Check(*context); !s.ok()) return Finish(scope, ToGrpcStatus(s));
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
  return Finish(scope, grpc::Status::OK);
}

}  // namespace vlarft::services
