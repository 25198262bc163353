// The simulator backends' table of kept closed-loop sessions: ids handed out on creation, looked up
// (and kept alive) by continuations, released by callers, expired after an idle timeout.
// Thread-safe: handler threads check and release sessions while the batch thread uses them.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"

namespace vlarft::services {

// `Handle` shares a session's state (std::shared_ptr).
template <typename Handle>
class SessionTable {
 public:
  // `prefix` starts every id this table hands out ("s" world model, "t" tabletop).
  SessionTable(std::string prefix, absl::Duration idle_timeout) : prefix_(std::move(prefix)), idle_timeout_(idle_timeout) {}

  // Keeps `state`; returns its new id.
  std::string Add(Handle state) {
    absl::MutexLock lock(&mu_);
    std::string id = absl::StrCat(prefix_, next_++, "-", absl::ToUnixMicros(absl::Now()));
    sessions_[id] = {std::move(state), absl::Now()};
    return id;
  }
  // The session's handle (shared: the caller keeps it alive while it uses it, whatever a release or
  // an expiry does meanwhile), marked used now; NOT_FOUND once it was released or expired.
  absl::StatusOr<Handle> Share(const std::string& id) {
    absl::MutexLock lock(&mu_);
    auto it = sessions_.find(id);
    if (it == sessions_.end()) return absl::NotFoundError(absl::StrCat("session '", id, "' expired"));
    it->second.last_used = absl::Now();
    return it->second.state;
  }
  bool Has(const std::string& id) const {
    absl::MutexLock lock(&mu_);
    return sessions_.count(id) > 0;
  }
  absl::Status Release(const std::string& id) {
    absl::MutexLock lock(&mu_);
    if (sessions_.erase(id) == 0) return absl::NotFoundError(absl::StrCat("session '", id, "' is unknown"));
    return absl::OkStatus();
  }
  // Drops sessions idle for longer than the timeout.
  void Expire() {
    absl::MutexLock lock(&mu_);
    const absl::Time now = absl::Now();
    for (auto it = sessions_.begin(); it != sessions_.end();) {
      it = now - it->second.last_used > idle_timeout_ ? sessions_.erase(it) : std::next(it);
    }
  }
  // Sum of `measure` over the kept sessions' states.
  int64_t Sum(const std::function<int64_t(const typename Handle::element_type&)>& measure) const {
    absl::MutexLock lock(&mu_);
    int64_t total = 0;
    for (const auto& [id, s] : sessions_) total += measure(*s.state);
    return total;
  }

 private:
  struct Entry {
    Handle state;
    absl::Time last_used;
  };
  const std::string prefix_;
  const absl::Duration idle_timeout_;
  mutable absl::Mutex mu_;
  std::map<std::string, Entry> sessions_ ABSL_GUARDED_BY(mu_);
  uint64_t next_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace vlarft::services
