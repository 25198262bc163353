#include "libs/rollout/world_model_imaginer.h"

#include <chrono>

#include "libs/core/rng.h"
#include "libs/core/status.h"

namespace vlarft::rollout {
namespace {

class WorldModelSession : public ImaginationSession {
 public:
  WorldModelSession(WorldModelImaginer* owner, torch::Tensor context_frame, ImagineSettings settings)
      : owner_(owner), context_frame_(std::move(context_frame)), settings_(settings) {}

  absl::StatusOr<ImaginedChunk> Next(const torch::Tensor& actions, const torch::Tensor& reference_actions) override {
    if (chunks_ >= settings_.horizon) {
      return absl::FailedPreconditionError("the session already imagined its horizon");
    }
    models::GroupJob job;
    // The expert reference is one more row of the group: it shares the prefilled context.
    job.actions = torch::cat({actions.to(torch::kFloat32), reference_actions.to(torch::kFloat32).unsqueeze(0)}, 0);
    job.sampling.temperature = settings_.temperature;
    job.sampling.top_k = settings_.top_k;
    job.sampling.top_p = settings_.top_p;
    job.expected_codes = settings_.expected_codes;
    if (state_ == nullptr) {
      job.context_frame = context_frame_;
      // The request seed of chunk 0, as the gRPC imaginer sends it to the simulator service.
      job.seeds = models::SequenceSeeds(core::SeedPath(settings_.seed).Child(static_cast<uint64_t>(0)).seed(),
                                        job.actions.size(0));
      job.keep_session = settings_.horizon > 1;
    } else {
      job.session = state_.get();
    }
    VLARFT_ASSIGN_OR_RETURN(models::GroupResult result, owner_->Run(job));
    if (result.session != nullptr) state_ = std::move(result.session);
    ++chunks_;
    const int64_t g = actions.size(0);
    return ImaginedChunk{result.frames.narrow(0, 0, g), result.frames[g]};
  }

 private:
  WorldModelImaginer* owner_;
  torch::Tensor context_frame_;
  ImagineSettings settings_;
  std::unique_ptr<models::GroupSession> state_;
  int64_t chunks_ = 0;
};

}  // namespace

absl::StatusOr<models::GroupResult> WorldModelImaginer::Run(const models::GroupJob& job) {
  if (options_.concurrency == WorldModelImaginerOptions::Concurrency::kParallel) return engine_.Imagine(job);
  Pending mine{&job};
  std::unique_lock<std::mutex> lock(mu_);
  queue_.push_back(&mine);
  changed_.notify_all();
  while (!mine.done) {
    if (running_) {  // another caller is running a batch: wait for it, then maybe lead the next
      changed_.wait(lock);
      continue;
    }
    // Lead: give the expected callers a moment to join, then run everything queued.
    running_ = true;
    const auto deadline = std::chrono::steady_clock::now() + absl::ToChronoNanoseconds(options_.batch_window);
    changed_.wait_until(lock, deadline,
                        [&] { return static_cast<int64_t>(queue_.size()) >= options_.expected_callers; });
    std::vector<Pending*> batch;
    batch.swap(queue_);
    lock.unlock();
    std::vector<models::GroupJob> jobs;
    for (Pending* p : batch) jobs.push_back(*p->job);
    absl::StatusOr<std::vector<models::GroupResult>> results = engine_.ImagineBatch(jobs);
    if (!results.ok() && batch.size() > 1) {
      // One bad job must not fail the others: run them one by one to confine the error.
      for (Pending* p : batch) p->result = engine_.Imagine(*p->job);
    } else {
      for (size_t i = 0; i < batch.size(); ++i) {
        batch[i]->result = results.ok() ? absl::StatusOr<models::GroupResult>(std::move((*results)[i]))
                                        : absl::StatusOr<models::GroupResult>(results.status());
      }
    }
    lock.lock();
    for (Pending* p : batch) p->done = true;
    running_ = false;
    changed_.notify_all();
  }
  return std::move(mine.result);
}

absl::StatusOr<std::unique_ptr<ImaginationSession>> WorldModelImaginer::Start(const Prompt& prompt,
                                                                              const ImagineSettings& settings) {
  if (settings.group_size + 1 > engine_.limits().max_group_size) {
    return absl::InvalidArgumentError("group_size + 1 reference row exceeds the engine's max_group_size");
  }
  return std::unique_ptr<ImaginationSession>(new WorldModelSession(this, prompt.frame, settings));
}

}  // namespace vlarft::rollout
