#include "services/rollout/rollout_worker.h"

#include <unistd.h>

#include <chrono>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "glog/logging.h"
#include "libs/core/rng.h"
#include "libs/core/status.h"
#include "services/common/reward_type_proto.h"
#include "services/common/rollout_proto.h"
#include "services/common/tensor_proto.h"
#include "services/common/weight_fetcher.h"
#include "services/rollout/grpc_backends.h"

namespace vlarft::services {
namespace {

double SecondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

RolloutWorker::RolloutWorker(const RolloutConfig& config, PolicyReplica* policy, PromptSource* prompts,
                             RolloutMetrics* metrics)
    : config_(config), policy_(policy), prompts_(prompts), metrics_(metrics) {
  // Distinguishes this process's group ids from a previous run of a worker with the same name.
  run_nonce_ = absl::StrCat(absl::ToUnixMillis(absl::Now()));
}

RolloutWorker::~RolloutWorker() = default;

absl::StatusOr<std::unique_ptr<RolloutWorker>> RolloutWorker::Create(const RolloutConfig& config, PolicyReplica* policy,
                                                                     PromptSource* prompts, RolloutMetrics* metrics) {
  VLARFT_RETURN_IF_ERROR(config.Validate());
  std::unique_ptr<RolloutWorker> worker(new RolloutWorker(config, policy, prompts, metrics));
  if (worker->config_.worker_id.empty()) {
    char host[256] = {0};
    gethostname(host, sizeof(host) - 1);
    worker->config_.worker_id = absl::StrCat(host, "-", getpid());
  }
  VLARFT_ASSIGN_OR_RETURN(auto simulator_channel, MakeChannel(config.simulator));
  VLARFT_ASSIGN_OR_RETURN(auto reward_channel, MakeChannel(config.reward));
  VLARFT_ASSIGN_OR_RETURN(auto learner_channel, MakeChannel(config.learner));
  worker->simulator_ = v1::WorldModelSimulator::NewStub(simulator_channel);
  worker->reward_ = v1::RewardVerifier::NewStub(reward_channel);
  worker->learner_ = v1::Learner::NewStub(learner_channel);
  VLARFT_ASSIGN_OR_RETURN(worker->simulator_contexts_, CallContextFactory::Create(config.simulator));
  VLARFT_ASSIGN_OR_RETURN(worker->reward_contexts_, CallContextFactory::Create(config.reward));
  VLARFT_ASSIGN_OR_RETURN(worker->learner_contexts_, CallContextFactory::Create(config.learner));
  // The rollout loop (libs/rollout) over the two services.
  RolloutWorker* self = worker.get();
  worker->imaginer_ = std::make_unique<GrpcImaginer>(
      [self](const v1::ImagineRequest& request, v1::ImagineResponse* response) {
        return self->Imagine(request, response);
      });
  worker->scorer_ = std::make_unique<GrpcScorer>(
      [self](const v1::ScoreRequest& request, v1::ScoreResponse* response) { return self->Score(request, response); },
      RewardTypeToProto(config.reward_type));
  rollout::GroupProducerOptions options;
  options.group_size = config.group_size;
  options.horizon = config.horizon;
  options.wm_temperature = config.wm_temperature;
  options.wm_top_k = config.wm_top_k;
  options.wm_top_p = config.wm_top_p;
  worker->producer_ =
      std::make_unique<rollout::GroupProducer>(options, policy, worker->imaginer_.get(), worker->scorer_.get());
  return worker;
}

absl::StatusOr<bool> RolloutWorker::RefreshWeights(absl::Duration wait, std::optional<int64_t> min_version) {
  std::unique_ptr<grpc::ClientContext> context = learner_contexts_.New(wait + absl::Seconds(60));
  const CallCanceller::Registration registration = in_flight_.Register(context.get());
  VLARFT_ASSIGN_OR_RETURN(std::optional<FetchedWeights> fetched,
                          FetchPolicyWeights(*learner_, context.get(), min_version.value_or(policy_->version() + 1), wait));
  if (!fetched.has_value()) return false;  // no newer version yet
  VLARFT_RETURN_IF_ERROR(policy_->Apply(fetched->version, fetched->tensors));
  if (metrics_) metrics_->SetPolicyVersion(fetched->version);
  LOG(INFO) << "event=weights_applied worker=" << config_.worker_id << " version=" << fetched->version;
  return true;
}

absl::StatusOr<v1::LearnerStatus> RolloutWorker::LearnerStatus() {
  v1::LearnerStatus status;
  std::unique_ptr<grpc::ClientContext> context = learner_contexts_.New(absl::Seconds(5));
  const grpc::Status call = learner_->GetStatus(context.get(), {}, &status);
  if (!call.ok()) return FromGrpcStatus(call);
  return status;
}

absl::Status RolloutWorker::Imagine(const v1::ImagineRequest& request, v1::ImagineResponse* response) {
  RetryPolicy retry;
  retry.per_attempt_timeout = absl::Seconds(config_.rpc_timeout_s);
  retry.total_timeout = absl::Seconds(config_.rpc_timeout_s * 3);
  retry.retry_resource_exhausted = true;  // the simulator's queue is full: back off
  retry.cancel = stop_;                   // a dead simulator must not hold up shutdown
  return CallWithRetry(simulator_contexts_, retry, [&](grpc::ClientContext& context) {
    const CallCanceller::Registration registration = in_flight_.Register(&context);
    return simulator_->Imagine(&context, request, response);
  });
}

absl::Status RolloutWorker::Score(const v1::ScoreRequest& request, v1::ScoreResponse* response) {
  RetryPolicy retry;
  retry.per_attempt_timeout = absl::Seconds(config_.rpc_timeout_s);
  retry.total_timeout = absl::Seconds(config_.rpc_timeout_s * 3);
  retry.retry_resource_exhausted = true;
  retry.cancel = stop_;
  return CallWithRetry(reward_contexts_, retry, [&](grpc::ClientContext& context) {
    const CallCanceller::Registration registration = in_flight_.Register(&context);
    return reward_->Score(&context, request, response);
  });
}

absl::StatusOr<v1::RolloutGroup> RolloutWorker::ProduceGroup(uint64_t index) {
  VLARFT_ASSIGN_OR_RETURN(Prompt prompt, prompts_->Get(index));
  const core::SeedPath seeds = core::SeedPath(config_.seed).Child(config_.worker_id).Child(index);
  const std::string group_id = absl::StrCat(config_.worker_id, "/", run_nonce_, "/", index);
  VLARFT_ASSIGN_OR_RETURN(rollout::ProducedGroup produced, producer_->Produce(prompt, seeds, group_id));
  if (metrics_) {
    metrics_->ObserveStage("policy", produced.seconds.policy);
    metrics_->ObserveStage("simulator", produced.seconds.simulator);
    metrics_->ObserveStage("reward", produced.seconds.reward);
    metrics_->ObserveStage("total", produced.seconds.total);
  }
  produced.data.worker_id = config_.worker_id;
  v1::RolloutGroup proto;
  VLARFT_RETURN_IF_ERROR(RolloutGroupToProto(produced.data, &proto));
  proto.mutable_prompt()->set_dataset(prompt.dataset);
  proto.mutable_prompt()->set_task(prompt.task);
  proto.mutable_prompt()->set_episode(prompt.episode);
  proto.mutable_prompt()->set_step(prompt.step);
  proto.mutable_timings()->set_policy_ms(produced.seconds.policy * 1000);
  proto.mutable_timings()->set_simulator_ms(produced.seconds.simulator * 1000);
  proto.mutable_timings()->set_total_ms(produced.seconds.total * 1000);
  return proto;
}

absl::Status RolloutWorker::Submit(const v1::RolloutGroup& group, const std::atomic<bool>& stop) {
  v1::SubmitGroupsRequest request;
  *request.add_groups() = group;
  RetryPolicy retry;
  retry.retry_resource_exhausted = true;
  retry.max_attempts = 1000;
  retry.max_backoff = absl::Seconds(1);
  retry.total_timeout = absl::Seconds(30);
  retry.cancel = &stop;
  const auto start = std::chrono::steady_clock::now();
  while (!stop.load() && !learner_finished_.load()) {
    v1::SubmitGroupsResponse response;
    absl::Status status = CallWithRetry(learner_contexts_, retry, [&](grpc::ClientContext& context) {
      const CallCanceller::Registration registration = in_flight_.Register(&context);
      return learner_->SubmitGroups(&context, request, &response);
    });
    if (status.ok()) {
      if (metrics_) {
        metrics_->ObserveStage("submit", SecondsSince(start));
        double mean = 0;
        for (float r : group.rewards()) mean += r;
        if (response.accepted() > 0) metrics_->GroupSubmitted(mean / std::max(1, group.rewards_size()));
      }
      return absl::OkStatus();
    }
    if (status.code() == absl::StatusCode::kFailedPrecondition) {
      // Either training finished or the group's policy version is newer than the learner's (it
      // restarted from an older checkpoint; the follower thread resyncs). Ask which.
      const absl::StatusOr<v1::LearnerStatus> learner = LearnerStatus();
      if (learner.ok() && !learner->finished()) {
        if (metrics_) metrics_->CountError("submit_refused");
        LOG(WARNING) << "event=group_refused worker=" << config_.worker_id << " " << status;
        return absl::OkStatus();  // dropped: sampled with weights the learner no longer has
      }
      learner_finished_ = true;
      return absl::OkStatus();
    }
    if (status.code() != absl::StatusCode::kResourceExhausted && status.code() != absl::StatusCode::kUnavailable) {
      return status;
    }
  }
  return absl::CancelledError("stopped before the group was accepted");
}

absl::Status RolloutWorker::Run(const std::atomic<bool>& stop) {
  stop_ = &stop;
  // Start from the learner's current weights.
  while (!stop.load() && policy_->version() < 0) {
    absl::StatusOr<bool> refreshed = RefreshWeights(absl::Milliseconds(config_.weight_poll_ms));
    if (!refreshed.ok()) {
      LOG(WARNING) << "event=weights_unavailable worker=" << config_.worker_id << " " << refreshed.status();
      absl::SleepFor(absl::Milliseconds(500));
    }
  }
  std::atomic<uint64_t> next_index{0};
  std::atomic<bool> halt{false};
  std::thread follower([&] {
    while (!stop.load() && !halt.load() && !learner_finished_.load()) {
      absl::StatusOr<bool> refreshed = RefreshWeights(absl::Milliseconds(config_.weight_poll_ms));
      if (!refreshed.ok()) {
        if (metrics_) metrics_->CountError("weights");
        absl::SleepFor(absl::Milliseconds(500));
      }
      const absl::StatusOr<v1::LearnerStatus> learner = LearnerStatus();
      if (!learner.ok()) continue;
      if (learner->finished()) learner_finished_ = true;
      if (learner->policy_version() < policy_->version()) {
        // The learner restarted from an older checkpoint: the weights held here are from a future it
        // no longer has, and it refuses groups labelled with them. Take its current version.
        LOG(WARNING) << "event=learner_rolled_back worker=" << config_.worker_id << " held=" << policy_->version()
                     << " learner=" << learner->policy_version();
        absl::StatusOr<bool> resynced =
            RefreshWeights(absl::Milliseconds(config_.weight_poll_ms), learner->policy_version());
        if (!resynced.ok() && metrics_) metrics_->CountError("weights");
      }
    }
  });
  std::vector<std::thread> producers;
  for (int64_t i = 0; i < config_.prompts_in_flight; ++i) {
    producers.emplace_back([&] {
      while (!stop.load() && !learner_finished_.load()) {
        const uint64_t index = next_index++;
        absl::StatusOr<v1::RolloutGroup> group = ProduceGroup(index);
        if (!group.ok() && stop.load()) break;  // cancelled by the shutdown
        if (!group.ok()) {
          if (metrics_) metrics_->CountError("produce");
          LOG(WARNING) << "event=group_failed worker=" << config_.worker_id << " index=" << index << " "
                       << group.status();
          absl::SleepFor(absl::Milliseconds(500));
          continue;
        }
        absl::Status submitted = Submit(*group, stop);
        if (!submitted.ok() && submitted.code() != absl::StatusCode::kCancelled) {
          if (metrics_) metrics_->CountError("submit");
          LOG(WARNING) << "event=submit_failed worker=" << config_.worker_id << " " << submitted;
        }
      }
    });
  }
  // On stop, cut the calls in flight: a slow or hung peer must not hold up the shutdown (the
  // launcher's grace period is finite). Retries then end too (RetryPolicy::cancel).
  std::atomic<bool> producers_done{false};
  std::thread canceller([&] {
    while (!stop.load() && !producers_done.load()) absl::SleepFor(absl::Milliseconds(50));
    if (stop.load()) in_flight_.CancelAll();
  });
  for (std::thread& t : producers) t.join();
  producers_done = true;
  canceller.join();
  halt = true;
  follower.join();
  LOG(INFO) << "event=worker_stopped worker=" << config_.worker_id << " groups=" << next_index.load()
            << " learner_finished=" << learner_finished_.load();
  return absl::OkStatus();
}

}  // namespace vlarft::services
