#include "services/learner/rollout_intake.h"

#include <algorithm>

namespace vlarft::services {

RolloutIntake::AddResult RolloutIntake::Add(std::vector<v1::RolloutGroup> groups, int64_t current_version) {
  absl::MutexLock lock(&mu_);
  AddResult result;
  std::vector<v1::RolloutGroup*> fresh;
  std::set<std::string> in_request;
  for (v1::RolloutGroup& g : groups) {
    if (seen_.count(g.group_id()) || !in_request.insert(g.group_id()).second) {
      ++result.duplicates;
    } else if (IsStale(g, current_version)) {
      ++result.stale;
    } else {
      fresh.push_back(&g);
    }
  }
  DropStaleLocked(current_version);
  if (static_cast<int64_t>(queue_.size() + fresh.size()) > capacity_) {
    result.full = true;
    result.duplicates = 0;
    result.stale = 0;
    return result;
  }
  duplicates_ += result.duplicates;
  dropped_stale_ += result.stale;
  for (v1::RolloutGroup* g : fresh) {
    seen_.insert(g->group_id());
    queue_.push_back(std::move(*g));
    ++result.accepted;
  }
  return result;
}

int64_t RolloutIntake::DropStaleLocked(int64_t version) {
  const size_t before = queue_.size();
  queue_.erase(std::remove_if(queue_.begin(), queue_.end(), [&](const v1::RolloutGroup& g) { return IsStale(g, version); }),
               queue_.end());
  const int64_t dropped = static_cast<int64_t>(before - queue_.size());
  dropped_stale_ += dropped;
  return dropped;
}

std::optional<std::vector<v1::RolloutGroup>> RolloutIntake::Take(int64_t count, int64_t current_version,
                                                                 absl::Duration timeout) {
  absl::MutexLock lock(&mu_);
  auto ready = [this, count]() ABSL_SHARED_LOCKS_REQUIRED(mu_) {
    return closed_ || static_cast<int64_t>(queue_.size()) >= count;
  };
  const absl::Time deadline = absl::Now() + timeout;
  while (true) {
    DropStaleLocked(current_version);
    if (static_cast<int64_t>(queue_.size()) >= count) break;
    if (closed_ || absl::Now() >= deadline) return std::nullopt;
    mu_.AwaitWithDeadline(absl::Condition(&ready), deadline);
  }
  std::vector<v1::RolloutGroup> out;
  for (int64_t i = 0; i < count; ++i) {
    out.push_back(std::move(queue_.front()));
    queue_.pop_front();
  }
  return out;
}

int64_t RolloutIntake::size() const {
  absl::MutexLock lock(&mu_);
  return static_cast<int64_t>(queue_.size());
}

int64_t RolloutIntake::free_slots() const {
  absl::MutexLock lock(&mu_);
  return capacity_ - static_cast<int64_t>(queue_.size());
}

int64_t RolloutIntake::dropped_stale() const {
  absl::MutexLock lock(&mu_);
  return dropped_stale_;
}

int64_t RolloutIntake::duplicates() const {
  absl::MutexLock lock(&mu_);
  return duplicates_;
}

std::vector<std::string> RolloutIntake::SeenIds() const {
  absl::MutexLock lock(&mu_);
  return {seen_.begin(), seen_.end()};
}

void RolloutIntake::RestoreSeenIds(const std::vector<std::string>& ids) {
  absl::MutexLock lock(&mu_);
  seen_.insert(ids.begin(), ids.end());
}

void RolloutIntake::Close() {
  absl::MutexLock lock(&mu_);
  closed_ = true;
}

}  // namespace vlarft::services
