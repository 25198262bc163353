// ShutdownSignal: SIGTERM is collected, never delivered with its default action while the object
// lives, and a request that arrives after the process already shut down does not kill it on exit.
#include "services/common/shutdown_signal.h"

#include <signal.h>

#include "gtest/gtest.h"

namespace vlarft::services {
namespace {

TEST(ShutdownSignalTest, ASignalIsCollectedByWaitFor) {
  ShutdownSignal signals;
  ASSERT_EQ(raise(SIGTERM), 0);  // thread-directed: pending on this thread, which blocks it
  EXPECT_EQ(signals.WaitFor(absl::Seconds(5)), std::optional<int>(SIGTERM));
  EXPECT_EQ(signals.WaitFor(absl::Milliseconds(10)), std::nullopt);
}

TEST(ShutdownSignalTest, ARequestArrivingAfterShutdownDoesNotKillTheExitingProcess) {
  {
    ShutdownSignal signals;
    ASSERT_EQ(raise(SIGTERM), 0);  // arrives after the process decided to stop on its own
  }  // restoring the mask would deliver it with the default action and end this test binary
  sigset_t pending;
  sigpending(&pending);
  EXPECT_EQ(sigismember(&pending, SIGTERM), 0);
}

}  // namespace
}  // namespace vlarft::services
