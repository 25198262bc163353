// Continuous batching across callers (docs/architecture.md, "Processes"), shared by the simulator and
// the reward verifier. gRPC handler threads call Submit() and block; one worker thread forms batches:
//   * a batch closes when it holds max_batch_units units (e.g. sequences) or when its oldest request
//     has waited max_queue_delay;
//   * waiting requests are ordered by deadline (earliest first), then priority, then arrival;
//   * the queue is bounded: a request that does not fit is refused at once with RESOURCE_EXHAUSTED
//     (the caller backs off), and a request whose deadline passed while queued gets DEADLINE_EXCEEDED
//     without being computed;
//   * one request never fails another (a poisoned batch): the batch function returns a status per
//     request, and a batch-level error of the kind validation raises (INVALID_ARGUMENT,
//     FAILED_PRECONDITION, OUT_OF_RANGE) makes the scheduler compute that batch's requests again one
//     by one, so only the request at fault fails. Any other batch-level error (the device failed,
//     say) fails exactly the requests of that batch.
#pragma once

#include <algorithm>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace vlarft::services {

struct BatchSchedulerOptions {
  int64_t max_batch_units = 64;
  double max_queue_delay_ms = 5.0;
  int64_t max_queued_units = 1024;

  template <typename V>
  void VisitFields(V& v) {
    v.Field("max_batch_units", max_batch_units, "largest batch (in sequences / trajectories)");
    v.Field("max_queue_delay_ms", max_queue_delay_ms, "how long the oldest request waits for company");
    v.Field("max_queued_units", max_queued_units, "queue bound; beyond it requests get RESOURCE_EXHAUSTED");
  }
  absl::Status Validate() const {
    if (max_batch_units < 1 || max_queued_units < max_batch_units || max_queue_delay_ms < 0) {
      return absl::InvalidArgumentError("need max_batch_units >= 1, max_queued_units >= max_batch_units, delay >= 0");
    }
    return absl::OkStatus();
  }
  absl::Duration max_queue_delay() const { return absl::Milliseconds(max_queue_delay_ms); }
};

// What a batch's requests went through, for metrics.
struct BatchStats {
  int64_t requests = 0;
  int64_t units = 0;
  absl::Duration oldest_wait;
  absl::Duration compute;
};

template <typename Request, typename Response>
class BatchScheduler {
 public:
  // Computes a response or an error for each request of a batch (same order). Runs on the scheduler's
  // thread. A batch-level error is for failures that are nobody's request in particular.
  using BatchFn =
      std::function<absl::StatusOr<std::vector<absl::StatusOr<Response>>>(const std::vector<const Request*>&)>;
  using StatsFn = std::function<void(const BatchStats&, int64_t queued_units)>;

  BatchScheduler(BatchSchedulerOptions options, BatchFn batch_fn, StatsFn stats_fn = nullptr)
      : options_(options), batch_fn_(std::move(batch_fn)), stats_fn_(std::move(stats_fn)), worker_([this] { Loop(); }) {}

  ~BatchScheduler() { Stop(); }
  BatchScheduler(const BatchScheduler&) = delete;
  BatchScheduler& operator=(const BatchScheduler&) = delete;

  // Blocks until the request's batch is computed. `units` > max_batch_units is INVALID_ARGUMENT.
  absl::StatusOr<Response> Submit(const Request& request, int64_t units, absl::Time deadline, int priority = 0) {
    if (units < 1 || units > options_.max_batch_units) {
      return absl::InvalidArgumentError(absl::StrCat("request of ", units, " units does not fit a batch of at most ",
                                                     options_.max_batch_units));
    }
    auto slot = std::make_shared<Slot>();
    slot->request = &request;
    slot->units = units;
    slot->deadline = deadline;
    slot->priority = priority;
    slot->enqueued = absl::Now();
    {
      std::unique_lock<std::mutex> lock(mu_);
      if (stopping_) return absl::UnavailableError("shutting down");
      if (queued_units_ + units > options_.max_queued_units) {
        return absl::ResourceExhaustedError(absl::StrCat("queue full (", queued_units_, "/", options_.max_queued_units,
                                                         " units waiting); back off and retry"));
      }
      slot->sequence = next_sequence_++;
      queue_.push_back(slot);
      queued_units_ += units;
    }
    wake_.notify_all();
    std::unique_lock<std::mutex> lock(mu_);
    done_.wait(lock, [&] { return slot->result.has_value(); });
    return std::move(*slot->result);
  }

  int64_t queued_units() const {
    std::lock_guard<std::mutex> lock(mu_);
    return queued_units_;
  }

  // Fails queued requests with UNAVAILABLE after the in-flight batch finishes; joins the worker.
  void Stop() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stopping_ && !worker_.joinable()) return;
      stopping_ = true;
    }
    wake_.notify_all();
    if (worker_.joinable()) worker_.join();
  }

 private:
  struct Slot {
    const Request* request = nullptr;
    int64_t units = 0;
    absl::Time deadline;
    int priority = 0;
    absl::Time enqueued;
    uint64_t sequence = 0;
    std::optional<absl::StatusOr<Response>> result;
  };
  using SlotPtr = std::shared_ptr<Slot>;

  static bool Before(const SlotPtr& a, const SlotPtr& b) {
    if (a->deadline != b->deadline) return a->deadline < b->deadline;
    if (a->priority != b->priority) return a->priority < b->priority;
    return a->sequence < b->sequence;
  }

  static bool IsRequestError(const absl::Status& status) {
    return status.code() == absl::StatusCode::kInvalidArgument ||
           status.code() == absl::StatusCode::kFailedPrecondition || status.code() == absl::StatusCode::kOutOfRange;
  }

  // One response per request; see the file comment for how a batch-level error is isolated.
  std::vector<absl::StatusOr<Response>> Compute(const std::vector<const Request*>& requests) {
    auto call = [&](const std::vector<const Request*>& part) -> std::vector<absl::StatusOr<Response>> {
      absl::StatusOr<std::vector<absl::StatusOr<Response>>> out = batch_fn_(part);
      if (out.ok() && out->size() == part.size()) return std::move(*out);
      const absl::Status error =
          out.ok() ? absl::InternalError("batch function returned the wrong number of responses") : out.status();
      return std::vector<absl::StatusOr<Response>>(part.size(), error);
    };
    std::vector<absl::StatusOr<Response>> responses = call(requests);
    if (requests.size() < 2) return responses;
    const bool poisoned = std::all_of(responses.begin(), responses.end(), [&](const absl::StatusOr<Response>& r) {
      return !r.ok() && IsRequestError(r.status()) && r.status() == responses.front().status();
    });
    if (!poisoned) return responses;
    for (size_t i = 0; i < requests.size(); ++i) responses[i] = std::move(call({requests[i]}).front());
    return responses;
  }

  void Finish(const SlotPtr& slot, absl::StatusOr<Response> result) {
    slot->result = std::move(result);
  }

  void Loop() {
    std::unique_lock<std::mutex> lock(mu_);
    while (true) {
      wake_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (stopping_) {
        for (const SlotPtr& slot : queue_) Finish(slot, absl::UnavailableError("server shutting down"));
        queue_.clear();
        queued_units_ = 0;
        done_.notify_all();
        return;
      }
      // Expire requests whose deadline passed while they waited.
      const absl::Time now = absl::Now();
      bool expired = false;
      for (auto it = queue_.begin(); it != queue_.end();) {
        if ((*it)->deadline <= now) {
          Finish(*it, absl::DeadlineExceededError("deadline passed while queued"));
          queued_units_ -= (*it)->units;
          it = queue_.erase(it);
          expired = true;
        } else {
          ++it;
        }
      }
      if (expired) done_.notify_all();
      if (queue_.empty()) continue;
      // Wait for company until the batch is full or the oldest request has waited long enough.
      const absl::Time oldest = std::min_element(queue_.begin(), queue_.end(), [](const SlotPtr& a, const SlotPtr& b) {
                                  return a->enqueued < b->enqueued;
                                })->get()->enqueued;
      if (queued_units_ < options_.max_batch_units && absl::Now() < oldest + options_.max_queue_delay()) {
        wake_.wait_for(lock, absl::ToChronoNanoseconds(oldest + options_.max_queue_delay() - absl::Now()));
        continue;
      }
      std::sort(queue_.begin(), queue_.end(), Before);
      std::vector<SlotPtr> batch;
      int64_t units = 0;
      for (auto it = queue_.begin(); it != queue_.end();) {
        if (units + (*it)->units <= options_.max_batch_units) {
          units += (*it)->units;
          batch.push_back(*it);
          it = queue_.erase(it);
        } else {
          ++it;
        }
      }
      queued_units_ -= units;
      const int64_t still_queued = queued_units_;
      lock.unlock();

      std::vector<const Request*> requests;
      for (const SlotPtr& slot : batch) requests.push_back(slot->request);
      const absl::Time start = absl::Now();
      std::vector<absl::StatusOr<Response>> responses = Compute(requests);
      BatchStats stats{static_cast<int64_t>(batch.size()), units, start - oldest, absl::Now() - start};
      if (stats_fn_) stats_fn_(stats, still_queued);

      lock.lock();
      for (size_t i = 0; i < batch.size(); ++i) Finish(batch[i], std::move(responses[i]));
      done_.notify_all();
    }
  }

  const BatchSchedulerOptions options_;
  BatchFn batch_fn_;
  StatsFn stats_fn_;
  mutable std::mutex mu_;
  std::condition_variable wake_;
  std::condition_variable done_;
  std::vector<SlotPtr> queue_;
  int64_t queued_units_ = 0;
  uint64_t next_sequence_ = 0;
  bool stopping_ = false;
  std::thread worker_;
};

}  // namespace vlarft::services
