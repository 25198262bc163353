// Turns SIGINT/SIGTERM into an event the main thread waits for, without a signal handler or any
// global state: the constructor blocks both signals in the calling thread (every thread started
// afterwards inherits the mask), and Wait() collects them synchronously with sigtimedwait.
// Construct it first thing in main(), before any thread (gRPC, LibTorch, glog) exists.
#pragma once

#include <signal.h>
#include <sys/types.h>

#include <atomic>
#include <functional>
#include <optional>

#include "absl/status/status.h"
#include "absl/time/time.h"

namespace vlarft::services {

class ShutdownSignal {
 public:
  ShutdownSignal();
  ~ShutdownSignal();
  ShutdownSignal(const ShutdownSignal&) = delete;
  ShutdownSignal& operator=(const ShutdownSignal&) = delete;

  // Blocks until SIGINT or SIGTERM arrives; returns the signal number.
  int Wait();
  // Waits up to `timeout`; the signal number, or nullopt on timeout.
  std::optional<int> WaitFor(absl::Duration timeout);

  // Runs `work` on a thread of its own while this thread waits for signals: a SIGINT/SIGTERM sets
  // `stop` (which `work` polls) and calls `on_signal` (e.g. to cancel in-flight calls that would
  // otherwise make `work` wait). Returns `work`'s status once it has returned.
  absl::Status RunUntilDone(std::atomic<bool>& stop, const std::function<absl::Status()>& work,
                            const std::function<void()>& on_signal = nullptr);

 private:
  sigset_t signals_;
  sigset_t previous_mask_;
};

// Makes the kernel send this process SIGTERM when `parent` (the launcher that started it) exits, by
// any means including SIGKILL, so a dead launcher leaves no services behind; the SIGTERM then takes
// the normal graceful path through ShutdownSignal. If `parent` is already gone, SIGTERM is raised
// at once. Linux only (prctl PR_SET_PDEATHSIG); elsewhere UNIMPLEMENTED.
absl::Status TerminateWithParent(pid_t parent);

}  // namespace vlarft::services
