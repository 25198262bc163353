// Continuous batching across callers (docs/architecture.md, "Processes"), shared by the simulator and
// the reward verifier. gRPC handler threads call Submit() and block; `lanes` worker threads form and
// compute batches (one lane by default):
//   * a batch closes when it holds max_batch_units units (e.g. sequences) or when its oldest request
//     has waited max_queue_delay;
//   * with several lanes, a lane takes only its share of the waiting units (the waiting units split
//     evenly over the idle lanes), so two groups that arrive together run side by side. That pays on
//     a CPU, where one decode over 2x the rows costs ~2x and runs on one core; on a GPU one wide
//     batch is cheaper, so keep one lane there (docs/architecture.md, "Processes");
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
  int64_t lanes = 1;  // batches computed at once; the batch function must allow concurrent calls

  template <typename V>
  void VisitFields(V& v) {
    v.Field("max_batch_units", max_batch_units, "largest batch (in sequences / trajectories)");
    v.Field("max_queue_delay_ms", max_queue_delay_ms, "how long the oldest request waits for company");
    v.Field("max_queued_units", max_queued_units, "queue bound; beyond it requests get RESOURCE_EXHAUSTED");
    v.Field("lanes", lanes, "batches computed at once, each on its own thread (CPU: one per core)");
  }
  absl::Status Validate() const {
    if (max_batch_units < 1 || max_queued_units < max_batch_units || max_queue_delay_ms < 0) {
      return absl::InvalidArgumentError("need max_batch_units >= 1, max_queued_units >= max_batch_units, delay >= 0");
    }
    if (lanes < 1 || lanes > 64) {
      return absl::InvalidArgumentError(absl::StrCat("lanes is ", lanes, "; need 1 to 64 batches computed at once"));
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
  // Computes a response or an error for each request of a batch (same order). Runs on a lane's thread
  // (with several lanes, on several threads at once). A batch-level error is for failures that are
  // nobody's request in particular.
  using BatchFn =
      std::function<absl::StatusOr<std::vector<absl::StatusOr<Response>>>(const std::vector<const Request*>&)>;
  using StatsFn = std::function<void(const BatchStats&, int64_t queued_units)>;

  BatchScheduler(BatchSchedulerOptions options, BatchFn batch_fn, StatsFn stats_fn = nullptr)
      : options_(options),
        lane_count_(std::max<int64_t>(options.lanes, 1)),
        batch_fn_(std::move(batch_fn)),
        stats_fn_(std::move(stats_fn)) {
    for (int64_t i = 0; i < lane_count_; ++i) lanes_.emplace_back([this] { Loop(); });
  }

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

  // Fails queued requests with UNAVAILABLE (batches in flight finish); joins the lanes.
  void Stop() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stopping_ = true;
    }
    wake_.notify_all();
    for (std::thread& lane : lanes_) {
      if (lane.joinable()) lane.join();
    }
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
      // This lane's share: the waiting units split over the lanes that are idle (this one included).
      const int64_t idle_lanes = lane_count_ - busy_lanes_;
      const int64_t share = (queued_units_ + idle_lanes - 1) / std::max<int64_t>(idle_lanes, 1);
      std::vector<SlotPtr> batch;
      int64_t units = 0;
      for (auto it = queue_.begin(); it != queue_.end() && units < share;) {
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
      ++busy_lanes_;
      lock.unlock();
      if (still_queued > 0) wake_.notify_all();  // an idle lane takes what is left

      std::vector<const Request*> requests;
      for (const SlotPtr& slot : batch) requests.push_back(slot->request);
      const absl::Time start = absl::Now();
      std::vector<absl::StatusOr<Response>> responses = Compute(requests);
      BatchStats stats{static_cast<int64_t>(batch.size()), units, start - oldest, absl::Now() - start};
      if (stats_fn_) stats_fn_(stats, still_queued);

      lock.lock();
      --busy_lanes_;
      for (size_t i = 0; i < batch.size(); ++i) Finish(batch[i], std::move(responses[i]));
      done_.notify_all();
    }
  }

  const BatchSchedulerOptions options_;
  const int64_t lane_count_;
  BatchFn batch_fn_;
  StatsFn stats_fn_;
  mutable std::mutex mu_;
  std::condition_variable wake_;
  std::condition_variable done_;
  std::vector<SlotPtr> queue_;
  int64_t queued_units_ = 0;
  uint64_t next_sequence_ = 0;
  int64_t busy_lanes_ = 0;  // lanes computing a batch
  bool stopping_ = false;
  std::vector<std::thread> lanes_;  // last: started once everything above is initialised
};

}  // namespace vlarft::services
