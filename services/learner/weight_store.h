// The newest published policy weight version, pre-chunked for streaming, with a long-poll wait that
// ends early when its caller goes away or the learner shuts down (a blocked handler thread per
// abandoned poll would otherwise pile up and hold shutdown for the whole wait).
#pragma once

#include <algorithm>
#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "vlarft/v1/learner.pb.h"

namespace vlarft::services {

class WeightStore {
 public:
  struct Version {
    int64_t version = -1;
    std::vector<v1::WeightChunk> chunks;
  };

  void Publish(std::shared_ptr<const Version> version) {
    absl::MutexLock lock(&mu_);
    latest_ = std::move(version);
  }

  // Ends every wait now and every later one at once (UNAVAILABLE): the learner is shutting down.
  void Close() {
    absl::MutexLock lock(&mu_);
    closed_ = true;
  }

  // The newest version once it is >= min_version. Waits up to `timeout` (DEADLINE_EXCEEDED), and
  // checks `abandoned` (e.g. "the client cancelled") every `poll`: CANCELLED once it returns true.
  absl::StatusOr<std::shared_ptr<const Version>> WaitFor(int64_t min_version, absl::Duration timeout,
                                                         const std::function<bool()>& abandoned = nullptr,
                                                         absl::Duration poll = absl::Milliseconds(50)) const {
    const absl::Time deadline = absl::Now() + timeout;
    absl::MutexLock lock(&mu_);
    auto ready_or_closed = [this, min_version]() ABSL_SHARED_LOCKS_REQUIRED(mu_) {
      return closed_ || (latest_ != nullptr && latest_->version >= min_version);
    };
    while (true) {
      const absl::Duration left = deadline - absl::Now();
      mu_.AwaitWithTimeout(absl::Condition(&ready_or_closed), std::min(left, poll));
      if (closed_) return absl::UnavailableError("the learner is shutting down");
      if (latest_ != nullptr && latest_->version >= min_version) return latest_;
      if (abandoned && abandoned()) return absl::CancelledError("the client went away");
      if (absl::Now() >= deadline) {
        return absl::DeadlineExceededError(absl::StrCat("no policy version >= ", min_version, " yet (newest ",
                                                        latest_ ? latest_->version : -1, ")"));
      }
    }
  }

  int64_t version() const {
    absl::MutexLock lock(&mu_);
    return latest_ ? latest_->version : -1;
  }

 private:
  mutable absl::Mutex mu_;
  std::shared_ptr<const Version> latest_ ABSL_GUARDED_BY(mu_);
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace vlarft::services
