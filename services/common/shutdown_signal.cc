#include "services/common/shutdown_signal.h"

#include <pthread.h>
#include <unistd.h>
#if defined(__linux__)
#include <sys/prctl.h>
#endif

#include <cerrno>
#include <cstring>
#include <ctime>
#include <thread>

#include "absl/strings/str_cat.h"

namespace vlarft::services {

ShutdownSignal::ShutdownSignal() {
  sigemptyset(&signals_);
  sigaddset(&signals_, SIGINT);
  sigaddset(&signals_, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals_, &previous_mask_);
  // A peer closing a socket must never kill the process.
  signal(SIGPIPE, SIG_IGN);
}

ShutdownSignal::~ShutdownSignal() {
  // A shutdown request that arrived after the process had already shut down on its own (a rollout
  // worker stopping because the learner finished, just as the launcher sends SIGTERM) is satisfied:
  // consume it rather than let the restored mask deliver it and kill the exiting process (status 143).
  const timespec now{0, 0};
  while (sigtimedwait(&signals_, nullptr, &now) > 0) {
  }
  pthread_sigmask(SIG_SETMASK, &previous_mask_, nullptr);
}

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

absl::Status ShutdownSignal::RunUntilDone(std::atomic<bool>& stop, const std::function<absl::Status()>& work,
                                          const std::function<void()>& on_signal) {
  std::atomic<bool> done{false};
  absl::Status status;
  std::thread runner([&] {
    status = work();
    done = true;
  });
  while (!done.load()) {
    if (WaitFor(absl::Milliseconds(200)).has_value()) {
      stop = true;
      if (on_signal) on_signal();
    }
  }
  runner.join();
  return status;
}

absl::Status TerminateWithParent(pid_t parent) {
#if defined(__linux__)
  if (prctl(PR_SET_PDEATHSIG, SIGTERM) != 0) {
    return absl::InternalError(absl::StrCat("prctl(PR_SET_PDEATHSIG): ", std::strerror(errno)));
  }
  // The parent may have died before prctl: then this process was already re-parented.
  if (getppid() != parent) kill(getpid(), SIGTERM);
  return absl::OkStatus();
#else
  return absl::UnimplementedError("parent_pid (terminate with the launcher) needs Linux");
#endif
}

}  // namespace vlarft::services
