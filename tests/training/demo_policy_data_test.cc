// The SFT data source's subgoal target (NextGripperFlipXy) on a hand-made episode.
#include "libs/training/demo_policy_data.h"

#include <gtest/gtest.h>

namespace vlarft::training {
namespace {

// Gripper at x = t / 10, y = -t / 10; commands: open for t < 3, closed for 3 <= t < 6, open after.
data::Episode MakeEpisode(int64_t length) {
  data::Episode e;
  e.length = length;
  e.actions.assign(static_cast<size_t>(length) * data::kActionDim, 0.f);
  e.proprio.assign(static_cast<size_t>(length) * data::kProprioDim, 0.f);
  for (int64_t t = 0; t < length; ++t) {
    e.actions[t * data::kActionDim + 6] = (t >= 3 && t < 6) ? 1.f : -1.f;
    e.proprio[t * data::kProprioDim + 0] = t / 10.f;
    e.proprio[t * data::kProprioDim + 1] = -t / 10.f;
  }
  return e;
}

TEST(NextGripperFlipXyTest, PointsAtTheNextCloseThenTheNextOpenThenTheEnd) {
  const std::vector<float> xy = NextGripperFlipXy(MakeEpisode(9));
  ASSERT_EQ(xy.size(), 18u);
  const float expected_x[] = {0.3f, 0.3f, 0.3f, 0.3f, 0.6f, 0.6f, 0.6f, 0.8f, 0.8f};
  for (int t = 0; t < 9; ++t) {
    EXPECT_FLOAT_EQ(xy[2 * t], expected_x[t]) << "t = " << t;
    EXPECT_FLOAT_EQ(xy[2 * t + 1], -expected_x[t]) << "t = " << t;
  }
}

TEST(NextGripperFlipXyTest, EmptyAndFlipFreeEpisodes) {
  EXPECT_TRUE(NextGripperFlipXy(MakeEpisode(0)).empty());
  const std::vector<float> xy = NextGripperFlipXy(MakeEpisode(3));  // never closes: the last position
  EXPECT_FLOAT_EQ(xy[0], 0.2f);
  EXPECT_FLOAT_EQ(xy[5], -0.2f);
}

}  // namespace
}  // namespace vlarft::training
