// The learner's intake of rollout groups: deduplication by group_id (retries never train twice),
// staleness filtering against the current policy version, and a capacity bound whose overflow is
// reported to the caller as backpressure. Thread-safe: gRPC handlers add, the training loop takes.
#pragma once

#include <cstdint>
#include <deque>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "vlarft/v1/learner.pb.h"

namespace vlarft::services {

class RolloutIntake {
 public:
  RolloutIntake(int64_t capacity, int64_t max_staleness) : capacity_(capacity), max_staleness_(max_staleness) {}

  struct AddResult {
    int accepted = 0, duplicates = 0, stale = 0;
    bool full = false;  // nothing was accepted: not enough room for the request's fresh groups
  };
  // All-or-nothing for the fresh, new groups of one request.
  AddResult Add(std::vector<v1::RolloutGroup> groups, int64_t current_version);

  // Waits up to `timeout` until `count` groups that are fresh for `current_version` are held, then
  // removes and returns them (oldest first). Stale groups found on the way are dropped and counted.
  std::optional<std::vector<v1::RolloutGroup>> Take(int64_t count, int64_t current_version, absl::Duration timeout);

  int64_t size() const;
  int64_t free_slots() const;
  int64_t dropped_stale() const;
  int64_t duplicates() const;
  // Ids already trained on survive restarts through the learner checkpoint.
  std::vector<std::string> SeenIds() const;
  void RestoreSeenIds(const std::vector<std::string>& ids);
  void Close();

 private:
  bool IsStale(const v1::RolloutGroup& g, int64_t version) const {
    return g.policy_version() < version - max_staleness_;
  }
  int64_t DropStaleLocked(int64_t version) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const int64_t capacity_;
  const int64_t max_staleness_;
  mutable absl::Mutex mu_;
  std::deque<v1::RolloutGroup> queue_ ABSL_GUARDED_BY(mu_);
  std::set<std::string> seen_ ABSL_GUARDED_BY(mu_);
  int64_t dropped_stale_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t duplicates_ ABSL_GUARDED_BY(mu_) = 0;
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace vlarft::services
