#include "services/reward/reward_service.h"

#include "absl/strings/str_cat.h"
#include "libs/core/status.h"
#include "prometheus/counter.h"
#include "prometheus/histogram.h"
#include "services/common/grpc_status.h"
#include "services/common/tensor_proto.h"

namespace vlarft::services {

struct RewardServiceImpl::Metrics {
  explicit Metrics(prometheus::Registry& r)
      : batch_size(prometheus::BuildHistogram()
                       .Name("vlarft_reward_batch_size")
                       .Help("trajectories per scoring batch")
                       .Register(r)
                       .Add({}, metrics::PowerOfTwoBuckets(512))),
        value(prometheus::BuildHistogram()
                  .Name("vlarft_reward_value")
                  .Help("distribution of rewards and of their per-trajectory loss components")
                  .Register(r)),
        rejected(prometheus::BuildCounter()
                     .Name("vlarft_reward_rejected_total")
                     .Help("Score requests rejected before scoring")
                     .Register(r)
                     .Add({})) {}
  prometheus::Histogram& batch_size;
  prometheus::Family<prometheus::Histogram>& value;
  prometheus::Counter& rejected;
};

absl::StatusOr<ScoreJob> ValidateScoreRequest(const v1::ScoreRequest& request, const VerifierFacts& facts) {
  ScoreJob job;
  job.type = request.type() == v1::REWARD_TYPE_UNSPECIFIED ? facts.default_type : request.type();
  if (!v1::RewardType_IsValid(job.type)) {
    return absl::InvalidArgumentError(absl::StrCat("field 'type': ", static_cast<int>(request.type()), " is not a reward type"));
  }
  if (job.type == v1::REWARD_TYPE_ACTION_L1) {
    core::TensorExpectation actions;
    actions.dtype = core::DType::kFloat32;
    actions.shape = {-1, -1, facts.action_dim};
    VLARFT_ASSIGN_OR_RETURN(job.actions, DecodeField(request.actions(), "actions", actions));
    actions.shape = {job.actions.size(1), facts.action_dim};
    VLARFT_ASSIGN_OR_RETURN(job.reference_actions, DecodeField(request.reference_actions(), "reference_actions", actions));
    if (job.actions.size(1) < 1) {
      return absl::InvalidArgumentError("field 'actions': a trajectory needs at least one action step");
    }
    // Beyond any action space; keeps the L1 distance (and so the reward) finite in float32.
    constexpr double kMaxAbsAction = 1e4;
    for (const auto& [name, t] : {std::pair<const char*, torch::Tensor>{"actions", job.actions},
                                  std::pair<const char*, torch::Tensor>{"reference_actions", job.reference_actions}}) {
      if (t.abs().max().item<double>() > kMaxAbsAction) {
        return absl::InvalidArgumentError(
            absl::StrCat("field '", name, "': values beyond +-", kMaxAbsAction, " are not actions"));
      }
    }
  } else {
    core::TensorExpectation frames;
    frames.dtype = core::DType::kUInt8;
    frames.shape = {-1, -1, facts.frame_height, facts.frame_width, 3};
    VLARFT_ASSIGN_OR_RETURN(job.frames, DecodeField(request.frames(), "frames", frames));
    frames.shape = {job.frames.size(1), facts.frame_height, facts.frame_width, 3};
    VLARFT_ASSIGN_OR_RETURN(job.reference_frames, DecodeField(request.reference_frames(), "reference_frames", frames));
    const int64_t t = job.frames.size(1);
    if (t < 1 || t > facts.max_frames) {
      return absl::InvalidArgumentError(absl::StrCat("field 'frames': ", t, " frames per trajectory is outside [1, ",
                                                     facts.max_frames, "]"));
    }
  }
  const int64_t g = job.group_size();
  if (g < 1 || g > facts.max_group_size) {
    return absl::InvalidArgumentError(absl::StrCat("field '", job.frames.defined() ? "frames" : "actions",
                                                   "': group size ", g, " is outside [1, ", facts.max_group_size, "]"));
  }
  return job;
}

RewardServiceImpl::RewardServiceImpl(RewardBackend* backend, BatchSchedulerOptions batching, TokenVerifier auth,
                                     prometheus::Registry* registry)
    : backend_(backend), auth_(std::move(auth)) {
  if (registry != nullptr) metrics_ = std::make_unique<Metrics>(*registry);
  Metrics* m = metrics_.get();
  scheduler_ = std::make_unique<BatchScheduler<ScoreJob, ScoreResult>>(
      batching, [backend](const std::vector<const ScoreJob*>& jobs) { return backend->ScoreBatch(jobs); },
      [m](const BatchStats& stats, int64_t) {
        if (m) m->batch_size.Observe(static_cast<double>(stats.units));
      });
}

RewardServiceImpl::~RewardServiceImpl() { scheduler_->Stop(); }

grpc::Status RewardServiceImpl::Score(grpc::ServerContext* context, const v1::ScoreRequest* request,
                                      v1::ScoreResponse* response) {
  // Latency and status codes: the server's RPC interceptor (rpc_metrics_interceptor.h).
  auto finish = [&](const absl::Status& status) {
    if (metrics_ && status.code() == absl::StatusCode::kInvalidArgument) metrics_->rejected.Increment();
    return ToGrpcStatus(status);
  };
  if (absl::Status s = auth_.Check(*context); !s.ok()) return finish(s);
  absl::StatusOr<ScoreJob> job = ValidateScoreRequest(*request, backend_->Facts());
  if (!job.ok()) return finish(job.status());
  const absl::Time start = absl::Now();
  absl::StatusOr<ScoreResult> result =
      scheduler_->Submit(*job, job->group_size(), absl::FromChrono(context->deadline()));
  if (!result.ok()) return finish(result.status());
  response->set_request_id(request->request_id());
  const torch::Tensor rewards = result->rewards.to(torch::kFloat32).contiguous();
  const torch::Tensor l1 = result->l1.to(torch::kFloat32).contiguous();
  const torch::Tensor perceptual = result->perceptual.to(torch::kFloat32).contiguous();
  for (int64_t i = 0; i < rewards.numel(); ++i) {
    response->add_rewards(rewards[i].item<float>());
    v1::RewardComponents* c = response->add_components();
    c->set_l1(l1[i].item<float>());
    c->set_perceptual(perceptual[i].item<float>());
    if (metrics_) {
      static const prometheus::Histogram::BucketBoundaries kBuckets = {-2, -1, -0.5, -0.3, -0.2, -0.15, -0.1, -0.05, -0.02, 0,
                                                                       0.02, 0.05, 0.1, 0.15, 0.2, 0.3, 0.5, 1, 2};
      metrics_->value.Add({{"component", "total"}}, kBuckets).Observe(rewards[i].item<double>());
      metrics_->value.Add({{"component", "l1"}}, kBuckets).Observe(l1[i].item<double>());
      metrics_->value.Add({{"component", "perceptual"}}, kBuckets).Observe(perceptual[i].item<double>());
    }
  }
  if (absl::Status s = ToProto(result->per_frame.to(torch::kFloat32), response->mutable_per_frame_loss()); !s.ok()) {
    return finish(s);
  }
  response->mutable_timing()->set_compute_ms(absl::ToDoubleMilliseconds(absl::Now() - start));
  return finish(absl::OkStatus());
}

grpc::Status RewardServiceImpl::GetInfo(grpc::ServerContext* context, const v1::GetVerifierInfoRequest*,
                                        v1::VerifierInfo* response) {
  if (absl::Status s = auth_.Check(*context); !s.ok()) return ToGrpcStatus(s);
  const VerifierFacts& f = backend_->Facts();
  response->set_default_type(f.default_type);
  response->set_perceptual_distance(f.perceptual_distance);
  response->set_aggregation(f.aggregation);
  response->set_w_l1(static_cast<float>(f.w_l1));
  response->set_w_perceptual(static_cast<float>(f.w_perceptual));
  response->set_frame_height(static_cast<int32_t>(f.frame_height));
  response->set_frame_width(static_cast<int32_t>(f.frame_width));
  response->set_max_group_size(static_cast<int32_t>(f.max_group_size));
  return grpc::Status::OK;
}

}  // namespace vlarft::services
