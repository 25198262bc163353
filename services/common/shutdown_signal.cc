#include "services/common/shutdown_signal.h"

#include <pthread.h>

#include <cerrno>
#include <ctime>

namespace vlarft::services {

ShutdownSignal::ShutdownSignal() {
  sigemptyset(&signals_);
  sigaddset(&signals_, SIGINT);
  sigaddset(&signals_, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals_, &previous_mask_);
  // A peer closing a socket must never kill the process.
  signal(SIGPIPE, SIG_IGN);
}

ShutdownSignal::~ShutdownSignal() { pthread_sigmask(SIG_SETMASK, &previous_mask_, nullptr); }

int ShutdownSignal::Wait() {
  while (true) {
    if (std::optional<int> sig = WaitFor(absl::Seconds(3600))) return *sig;
  }
}

std::optional<int> ShutdownSignal::WaitFor(absl::Duration timeout) {
  const timespec ts = absl::ToTimespec(timeout);
  while (true) {
    const int sig = sigtimedwait(&signals_, nullptr, &ts);
    if (sig > 0) return sig;
    if (errno == EINTR) continue;  // interrupted by an unrelated signal
    return std::nullopt;           // EAGAIN: timed out
  }
}

}  // namespace vlarft::services
