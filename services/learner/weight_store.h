// The newest published policy weight version, pre-chunked for streaming, with a long-poll wait.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "absl/synchronization/mutex.h"
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

  // The newest version once it is >= min_version (waiting up to `timeout`), else nullptr.
  std::shared_ptr<const Version> WaitFor(int64_t min_version, absl::Duration timeout) const {
    absl::MutexLock lock(&mu_);
    auto ready = [this, min_version]() ABSL_SHARED_LOCKS_REQUIRED(mu_) {
      return latest_ != nullptr && latest_->version >= min_version;
    };
    mu_.AwaitWithTimeout(absl::Condition(&ready), timeout);
    return ready() ? latest_ : nullptr;
  }

  int64_t version() const {
    absl::MutexLock lock(&mu_);
    return latest_ ? latest_->version : -1;
  }

 private:
  mutable absl::Mutex mu_;
  std::shared_ptr<const Version> latest_ ABSL_GUARDED_BY(mu_);
};

}  // namespace vlarft::services
