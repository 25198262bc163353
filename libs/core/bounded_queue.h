// A multi-producer multi-consumer FIFO with a capacity bound and close(). Producers choose between
// failing fast (TryPush: the caller turns it into RESOURCE_EXHAUSTED, i.e. backpressure) and waiting.
// Close() wakes everyone; consumers drain what is left, then get nullopt. Used by the services'
// batching loops and by the learner's intake.
#pragma once

#include <cstddef>
#include <deque>
#include <optional>
#include <utility>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace vlarft::core {

template <typename T>
class BoundedQueue {
 public:
  explicit BoundedQueue(size_t capacity) : capacity_(capacity) {}

  BoundedQueue(const BoundedQueue&) = delete;
  BoundedQueue& operator=(const BoundedQueue&) = delete;

  // False if full or closed; `item` is untouched in that case.
  bool TryPush(T& item) {
    absl::MutexLock lock(&mu_);
    if (closed_ || items_.size() >= capacity_) return false;
    items_.push_back(std::move(item));
    return true;
  }

  // Waits for room up to `timeout`; false on timeout or close.
  bool PushWithTimeout(T& item, absl::Duration timeout) {
    absl::MutexLock lock(&mu_);
    auto has_room = [this]() { return closed_ || items_.size() < capacity_; };
    if (!mu_.AwaitWithTimeout(absl::Condition(&has_room), timeout) || closed_) return false;
    items_.push_back(std::move(item));
    return true;
  }

  // Waits up to `timeout` for an item. nullopt on timeout, or when closed and empty.
  std::optional<T> PopWithTimeout(absl::Duration timeout) {
    absl::MutexLock lock(&mu_);
    auto ready = [this]() { return closed_ || !items_.empty(); };
    mu_.AwaitWithTimeout(absl::Condition(&ready), timeout);
    if (items_.empty()) return std::nullopt;
    T item = std::move(items_.front());
    items_.pop_front();
    return item;
  }

  // Takes up to `max_items` that are available now (no waiting).
  std::vector<T> PopUpTo(size_t max_items) {
    absl::MutexLock lock(&mu_);
    std::vector<T> out;
    while (!items_.empty() && out.size() < max_items) {
      out.push_back(std::move(items_.front()));
      items_.pop_front();
    }
    return out;
  }

  void Close() {
    absl::MutexLock lock(&mu_);
    closed_ = true;
  }

  bool closed() const {
    absl::MutexLock lock(&mu_);
    return closed_;
  }
  size_t size() const {
    absl::MutexLock lock(&mu_);
    return items_.size();
  }
  size_t capacity() const { return capacity_; }

 private:
  const size_t capacity_;
  mutable absl::Mutex mu_;
  std::deque<T> items_ ABSL_GUARDED_BY(mu_);
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace vlarft::core
