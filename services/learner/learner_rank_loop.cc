#include "services/learner/learner_rank_loop.h"

#include <chrono>

#include "absl/strings/str_cat.h"
#include "glog/logging.h"
#include "libs/core/status.h"
#include "services/common/rollout_proto.h"
#include "services/common/weights_proto.h"

namespace vlarft::services {

TrainingLoop::TrainingLoop(const LearnerConfig& config, rl::GrpoLearner& learner, rl::DataParallelGroup& group,
                           RolloutIntake* intake, WeightStore* weights, LearnerProgress* progress,
                           LearnerMetrics* metrics)
    : config_(config),
      learner_(learner),
      group_(group),
      intake_(intake),
      weights_(weights),
      progress_(progress),
      metrics_(metrics),
      checkpoints_(config.checkpoint_dir) {}

absl::Status TrainingLoop::Resume() {
  if (checkpoints_.Latest().has_value()) {
    VLARFT_ASSIGN_OR_RETURN(YAML::Node extra, learner_.RestoreCheckpoint(checkpoints_));
    if (intake_ != nullptr && extra["trained_group_ids"].IsSequence()) {
      intake_->RestoreSeenIds(extra["trained_group_ids"].as<std::vector<std::string>>());
    }
    if (progress_ != nullptr) progress_->groups_trained = extra["groups_trained"].as<int64_t>(0);
    last_checkpoint_step_ = learner_.step();
    LOG(INFO) << "event=resumed step=" << learner_.step() << " checkpoint=" << *checkpoints_.Latest();
  }
  if (progress_ != nullptr) progress_->step = learner_.step();
  return group_.rank() == 0 ? PublishWeights() : absl::OkStatus();
}

absl::Status TrainingLoop::PublishWeights() {
  auto version = std::make_shared<WeightStore::Version>();
  version->version = learner_.step();
  VLARFT_ASSIGN_OR_RETURN(version->chunks,
                          WeightsToChunks(version->version, learner_.TrainableTensors(), config_.weight_chunk_bytes));
  weights_->Publish(std::move(version));
  if (metrics_) metrics_->SetVersion(learner_.step());
  return absl::OkStatus();
}

absl::Status TrainingLoop::SaveCheckpoint() {
  if (group_.rank() != 0 || learner_.step() == last_checkpoint_step_) return absl::OkStatus();
  YAML::Node extra;
  extra["groups_trained"] = progress_->groups_trained.load();
  if (intake_ != nullptr) extra["trained_group_ids"] = intake_->SeenIds();
  VLARFT_RETURN_IF_ERROR(learner_.SaveCheckpoint(checkpoints_, extra));
  last_checkpoint_step_ = learner_.step();
  LOG(INFO) << "event=checkpoint step=" << learner_.step() << " dir=" << config_.checkpoint_dir;
  return absl::OkStatus();
}

absl::Status TrainingLoop::TrainOn(const std::string& serialized_batch) {
  v1::SubmitGroupsRequest batch;
  if (!batch.ParseFromString(serialized_batch)) return absl::DataLossError("rank 0's batch did not parse");
  std::vector<rl::RolloutGroupData> shard;
  for (int i = group_.rank(); i < batch.groups_size(); i += group_.world_size()) {
    VLARFT_ASSIGN_OR_RETURN(rl::RolloutGroupData g, RolloutGroupFromProto(batch.groups(i)));
    if (metrics_) metrics_->RecordStaleness(learner_.step() - g.policy_version);
    shard.push_back(std::move(g));
  }
  const auto start = std::chrono::steady_clock::now();
  VLARFT_ASSIGN_OR_RETURN(rl::LearnerStepMetrics m, learner_.Step(shard));
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  m.groups = batch.groups_size();
  if (m.skipped_nonfinite) {
    // One bad batch must not end the run: nothing was updated, the next batch is trained instead.
    if (metrics_) metrics_->RecordStep(m, seconds, m.step, 0);
    if (group_.rank() == 0) {
      LOG(WARNING) << "event=step_skipped reason=nonfinite_gradient step=" << m.step << " groups=" << m.groups
                   << " grad_norm=" << m.grad_norm;
    }
    return absl::OkStatus();
  }
  if (progress_ != nullptr) {
    progress_->step = m.step;
    progress_->groups_trained += batch.groups_size();
    progress_->last_reward_mean = m.reward_mean;
  }
  if (metrics_) metrics_->RecordStep(m, seconds, m.step, batch.groups_size() / std::max(seconds, 1e-9));
  if (group_.rank() == 0) {
    LOG(INFO) << "event=step step=" << m.step << " groups=" << m.groups << " reward_mean=" << m.reward_mean
              << " reward_std=" << m.reward_std << " loss=" << m.loss << " policy_loss=" << m.policy_loss
              << " entropy=" << m.entropy << " fm=" << m.flow_matching << " clip_frac=" << m.clip_fraction
              << " approx_kl=" << m.approx_kl << " sigma=" << m.sigma_mean << " grad_norm=" << m.grad_norm
              << " zero_var_groups=" << m.zero_variance_groups << " seconds=" << seconds;
  }
  return absl::OkStatus();
}

absl::Status TrainingLoop::Run(const std::atomic<bool>& stop) {
  if (group_.rank() != 0) {
    while (true) {
      std::string batch;
      VLARFT_RETURN_IF_ERROR(group_.BroadcastBytes(&batch, 0));
      if (batch.empty()) {
        // Rank 0 stops either at max_steps (finished: followers then linger or wait like rank 0,
        // so a launcher does not mistake an early exit for a crash) or on a signal.
        const bool finished = learner_.step() >= config_.max_steps;
        if (progress_ != nullptr && finished) progress_->finished = true;
        LOG(INFO) << "event=training_stopped step=" << learner_.step() << " finished=" << finished;
        return absl::OkStatus();
      }
      VLARFT_RETURN_IF_ERROR(TrainOn(batch));
    }
  }
  absl::Status status;
  while (learner_.step() < config_.max_steps && !stop.load()) {
    if (metrics_) metrics_->SetQueueDepth(intake_->size());
    std::optional<std::vector<v1::RolloutGroup>> groups =
        intake_->Take(config_.prompts_per_step, learner_.step(), absl::Milliseconds(200));
    if (metrics_) metrics_->SyncDroppedStale(intake_->dropped_stale());
    if (!groups.has_value()) continue;
    v1::SubmitGroupsRequest batch;
    for (v1::RolloutGroup& g : *groups) *batch.add_groups() = std::move(g);
    std::string bytes = batch.SerializeAsString();
    status = group_.BroadcastBytes(&bytes, 0);
    if (status.ok()) status = TrainOn(bytes);
    if (status.ok()) status = PublishWeights();
    if (!status.ok()) break;
    if (config_.checkpoint_every > 0 && learner_.step() % config_.checkpoint_every == 0) {
      status = SaveCheckpoint();
      if (!status.ok()) break;
    }
  }
  std::string stop_message;
  absl::Status stopped = group_.BroadcastBytes(&stop_message, 0);
  if (status.ok()) status = SaveCheckpoint();
  if (learner_.step() >= config_.max_steps) progress_->finished = true;
  LOG(INFO) << "event=training_stopped step=" << learner_.step() << " finished=" << progress_->finished.load();
  return status.ok() ? stopped : status;
}

}  // namespace vlarft::services
