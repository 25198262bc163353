#include "libs/core/clock_format.h"

#include <gtest/gtest.h>

namespace vlarft::core {
namespace {

TEST(FormatClockTest, HoursMinutesSeconds) {
  EXPECT_EQ(FormatClock(0), "0:00:00");
  EXPECT_EQ(FormatClock(59.9), "0:00:59");
  EXPECT_EQ(FormatClock(3725), "1:02:05");
  EXPECT_EQ(FormatClock(36000), "10:00:00");
}

TEST(FormatClockTest, NegativeDurationsClampToZero) { EXPECT_EQ(FormatClock(-12), "0:00:00"); }

}  // namespace
}  // namespace vlarft::core
