// Turns SIGINT/SIGTERM into an event the main thread waits for, without a signal handler or any
// global state: the constructor blocks both signals in the calling thread (every thread started
// afterwards inherits the mask), and Wait() collects them synchronously with sigtimedwait.
// Construct it first thing in main(), before any thread (gRPC, LibTorch, glog) exists.
#pragma once

#include <signal.h>

#include <optional>

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

 private:
  sigset_t signals_;
  sigset_t previous_mask_;
};

}  // namespace vlarft::services
