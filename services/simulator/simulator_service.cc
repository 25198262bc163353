#include "services/simulator/simulator_service.h"

#include <cmath>

#include "absl/strings/str_cat.h"
#include "glog/logging.h"
#include "libs/core/status.h"
#include "services/common/grpc_status.h"
#include "services/common/tensor_proto.h"

namespace vlarft::services {

struct SimulatorServiceImpl::Metrics {
  explicit Metrics(prometheus::Registry& r)
      : batch_size(prometheus::BuildHistogram()
                       .Name("vlarft_simulator_batch_size")
                       .Help("sequences per imagination batch")
                       .Register(r)
                       .Add({}, metrics::PowerOfTwoBuckets(256))),
        queue_units(prometheus::BuildGauge().Name("vlarft_simulator_queue_units").Help("sequences waiting").Register(r).Add({})),
        frames(prometheus::BuildCounter().Name("vlarft_simulator_frames_total").Help("frames imagined").Register(r).Add({})),
        tokens(prometheus::BuildCounter().Name("vlarft_simulator_tokens_total").Help("tokens generated").Register(r).Add({})),
        kv_bytes(prometheus::BuildGauge()
                     .Name("vlarft_simulator_kv_cache_bytes")
                     .Help("KV-cache memory held by sessions and the batch in flight")
                     .Register(r)
                     .Add({})),
        batch_seconds(prometheus::BuildHistogram()
                          .Name("vlarft_simulator_batch_seconds")
                          .Help("compute time of one imagination batch")
                          .Register(r)
                          .Add({}, metrics::LatencyBuckets())) {}
  prometheus::Histogram& batch_size;
  prometheus::Gauge& queue_units;
  prometheus::Counter& frames;
  prometheus::Counter& tokens;
  prometheus::Gauge& kv_bytes;
  prometheus::Histogram& batch_seconds;
};

absl::StatusOr<ImagineJob> ValidateImagineRequest(const v1::ImagineRequest& request, const SimulatorFacts& facts,
                                                  const WorldModelBackend& backend) {
  ImagineJob job;
  const bool continuing = !request.session_id().empty();
  if (continuing) {
    if (!backend.HasSession(request.session_id())) {
      return absl::NotFoundError(absl::StrCat("session '", request.session_id(), "' is unknown or expired"));
    }
    if (!IsEmpty(request.context_frame())) {
      return absl::InvalidArgumentError("field 'context_frame' must be empty when continuing a session");
    }
    job.session_id = request.session_id();
  } else {
    core::TensorExpectation frame;
    frame.dtype = core::DType::kUInt8;
    frame.shape = {facts.frame_height, facts.frame_width, 3};
    VLARFT_ASSIGN_OR_RETURN(job.context_frame, DecodeField(request.context_frame(), "context_frame", frame));
  }
  if (request.horizon() < 1 || request.horizon() > facts.max_horizon) {
    return absl::InvalidArgumentError(
        absl::StrCat("field 'horizon': ", request.horizon(), " is outside [1, ", facts.max_horizon, "]"));
  }
  const int64_t steps = request.horizon() * facts.chunk_length;
  core::TensorExpectation actions;
  actions.dtype = core::DType::kFloat32;
  actions.shape = {-1, steps, facts.action_dim};
  VLARFT_ASSIGN_OR_RETURN(job.actions, DecodeField(request.actions(), "actions", actions));
  const int64_t group = job.actions.size(0);
  if (group < 1 || group > facts.max_group_size) {
    return absl::InvalidArgumentError(
        absl::StrCat("field 'actions': group size ", group, " is outside [1, ", facts.max_group_size, "]"));
  }
  if (!IsEmpty(request.reference_actions())) {
    core::TensorExpectation reference;
    reference.dtype = core::DType::kFloat32;
    reference.shape = {steps, facts.action_dim};
    VLARFT_ASSIGN_OR_RETURN(job.reference_actions, DecodeField(request.reference_actions(), "reference_actions", reference));
  }
  const v1::SamplingParams& s = request.sampling();
  if (!std::isfinite(s.temperature()) || s.temperature() < 0) {
    return absl::InvalidArgumentError("field 'sampling.temperature' must be finite and >= 0");
  }
  if (s.top_k() < 0) return absl::InvalidArgumentError("field 'sampling.top_k' must be >= 0");
  if (!std::isfinite(s.top_p()) || s.top_p() < 0 || s.top_p() > 1) {
    return absl::InvalidArgumentError("field 'sampling.top_p' must be in [0, 1]");
  }
  job.sampling.temperature = s.temperature() > 0 ? s.temperature() : 1.0;
  job.sampling.top_k = s.top_k();
  job.sampling.top_p = s.top_p();
  job.sampling.seed = s.seed();
  if (!request.expected_model_fingerprint().empty() && request.expected_model_fingerprint() != facts.fingerprint) {
    return absl::FailedPreconditionError(absl::StrCat("this simulator serves model ", facts.fingerprint,
                                                      ", the request expects ", request.expected_model_fingerprint()));
  }
  job.keep_session = request.keep_session();
  job.return_tokens = request.return_tokens();
  if (request.has_prompt()) {
    if (request.prompt().episode() < 0 || request.prompt().step() < 0) {
      return absl::InvalidArgumentError("field 'prompt': episode and step must be >= 0");
    }
    job.prompt_episode = request.prompt().episode();
    job.prompt_step = request.prompt().step();
  }
  return job;
}

SimulatorServiceImpl::SimulatorServiceImpl(WorldModelBackend* backend, BatchSchedulerOptions batching,
                                           TokenVerifier auth, prometheus::Registry* registry)
    : backend_(backend), auth_(std::move(auth)) {
  if (registry != nullptr) metrics_ = std::make_unique<Metrics>(*registry);
  Metrics* m = metrics_.get();
  scheduler_ = std::make_unique<BatchScheduler<ImagineJob, ImagineResult>>(
      batching, [backend](const std::vector<const ImagineJob*>& jobs) { return backend->ImagineBatch(jobs); },
      [m, backend](const BatchStats& stats, int64_t queued) {
        if (m == nullptr) return;
        m->batch_size.Observe(static_cast<double>(stats.units));
        m->queue_units.Set(static_cast<double>(queued));
        m->batch_seconds.Observe(absl::ToDoubleSeconds(stats.compute));
        m->kv_bytes.Set(static_cast<double>(backend->KvCacheBytes()));
      });
}

SimulatorServiceImpl::~SimulatorServiceImpl() { scheduler_->Stop(); }

grpc::Status SimulatorServiceImpl::Imagine(grpc::ServerContext* context, const v1::ImagineRequest* request,
                                           v1::ImagineResponse* response) {
  // Latency and status codes: the server's RPC interceptor (rpc_metrics_interceptor.h).
  if (absl::Status s = auth_.Check(*context); !s.ok()) return ToGrpcStatus(s);
  absl::StatusOr<ImagineJob> job = ValidateImagineRequest(*request, backend_->Facts(), *backend_);
  if (!job.ok()) return ToGrpcStatus(job.status());
  const int64_t units = job->actions.size(0) + (job->reference_actions.defined() ? 1 : 0);
  const absl::Time deadline = absl::FromChrono(context->deadline());
  const absl::Time start = absl::Now();
  absl::StatusOr<ImagineResult> result = scheduler_->Submit(*job, units, deadline, request->priority());
  if (!result.ok()) return ToGrpcStatus(result.status());
  response->set_request_id(request->request_id());
  absl::Status encoded = ToProto(result->frames, response->mutable_frames());
  if (encoded.ok() && result->reference_frames.defined()) {
    encoded = ToProto(result->reference_frames, response->mutable_reference_frames());
  }
  if (encoded.ok() && result->tokens.defined()) encoded = ToProto(result->tokens, response->mutable_tokens());
  if (encoded.ok() && result->reference_tokens.defined()) {
    encoded = ToProto(result->reference_tokens, response->mutable_reference_tokens());
  }
  if (!encoded.ok()) return ToGrpcStatus(encoded);
  response->set_session_id(result->session_id);
  response->mutable_model()->set_name(backend_->Facts().model_name);
  response->mutable_model()->set_fingerprint(backend_->Facts().fingerprint);
  response->mutable_timing()->set_compute_ms(absl::ToDoubleMilliseconds(absl::Now() - start));
  if (metrics_) {
    metrics_->frames.Increment(static_cast<double>(result->frames.size(0) * result->frames.size(1) +
                                                   (result->reference_frames.defined() ? result->reference_frames.size(0) : 0)));
    metrics_->tokens.Increment(static_cast<double>(result->generated_tokens));
  }
  return ToGrpcStatus(absl::OkStatus());
}

grpc::Status SimulatorServiceImpl::ReleaseSession(grpc::ServerContext* context, const v1::ReleaseSessionRequest* request,
                                                  v1::ReleaseSessionResponse*) {
  if (absl::Status s = auth_.Check(*context); !s.ok()) return ToGrpcStatus(s);
  return ToGrpcStatus(backend_->ReleaseSession(request->session_id()));
}

grpc::Status SimulatorServiceImpl::GetInfo(grpc::ServerContext* context, const v1::GetSimulatorInfoRequest*,
                                           v1::SimulatorInfo* response) {
  if (absl::Status s = auth_.Check(*context); !s.ok()) return ToGrpcStatus(s);
  const SimulatorFacts& facts = backend_->Facts();
  response->mutable_model()->set_name(facts.model_name);
  response->mutable_model()->set_fingerprint(facts.fingerprint);
  response->set_frame_height(static_cast<int32_t>(facts.frame_height));
  response->set_frame_width(static_cast<int32_t>(facts.frame_width));
  response->set_action_dim(static_cast<int32_t>(facts.action_dim));
  response->set_chunk_length(static_cast<int32_t>(facts.chunk_length));
  response->set_max_group_size(static_cast<int32_t>(facts.max_group_size));
  response->set_max_horizon(static_cast<int32_t>(facts.max_horizon));
  response->set_tokens_per_frame(static_cast<int32_t>(facts.tokens_per_frame));
  response->set_device(facts.device);
  return grpc::Status::OK;
}

}  // namespace vlarft::services
