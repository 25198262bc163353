#include "libs/core/progress_meter.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace vlarft::core {
namespace {
using ::testing::HasSubstr;

// A fake clock the test moves by hand, so the interval rule is checked without sleeping.
struct FakeClock {
  double now = 100;
  ProgressMeter::Clock fn() {
    return [this] { return now; };
  }
};

TEST(ProgressMeterTest, OneLinePerIntervalAndAlwaysTheLast) {
  FakeClock clock;
  std::vector<std::string> lines;
  ProgressMeter meter({"data generate", "demos", 100, 10}, [&](const std::string& l) { lines.push_back(l); }, clock.fn());
  clock.now += 5;
  meter.Update(10);  // 5 s after the start: too early
  EXPECT_TRUE(lines.empty());
  clock.now += 6;
  meter.Update(20, "task 3");  // 11 s: prints
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0], "[data generate] 20/100 demos (20.0%), 1.82/s, 0:00:11 elapsed, ETA 0:00:44, task 3");
  clock.now += 9;
  meter.Update(30);  // 9 s after the last line: too early
  EXPECT_EQ(lines.size(), 1u);
  clock.now += 1;
  meter.Update(100);  // the end always prints, once
  meter.Update(100);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_THAT(lines[1], HasSubstr("100/100 demos (100.0%)"));
  EXPECT_THAT(lines[1], HasSubstr("ETA 0:00:00"));
}

TEST(ProgressMeterTest, NothingDoneYetHasNoEta) {
  FakeClock clock;
  ProgressMeter meter({"eval", "episodes", 2000, 10}, [](const std::string&) {}, clock.fn());
  EXPECT_EQ(meter.Line(0, 12, ""), "[eval] 0/2000 episodes (0.0%), 0/s, 0:00:12 elapsed, ETA unknown");
  // Without a label the caller's own prefix stands alone.
  ProgressMeter bare({"", "steps", 100, 10}, [](const std::string&) {}, clock.fn());
  EXPECT_EQ(bare.Line(50, 100, "reward 0.1"), "50/100 steps (50.0%), 0.5/s, 0:01:40 elapsed, ETA 0:01:40, reward 0.1");
}

}  // namespace
}  // namespace vlarft::core
