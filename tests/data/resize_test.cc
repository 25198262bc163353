#include "libs/data/resize.h"

#include "gtest/gtest.h"

namespace vlarft::data {
namespace {

TEST(ResizeTest, SameSizeIsACopy) {
  std::vector<uint8_t> px(4 * 4 * 3);
  for (size_t i = 0; i < px.size(); ++i) px[i] = static_cast<uint8_t>(i * 5);
  EXPECT_EQ(ResizeRgb(px.data(), 4, 4, 4), px);
}

TEST(ResizeTest, HalvingAveragesTwoByTwoBlocks) {
  // 4x4 checkerboard of 0/200 -> every 2x2 block averages to 100.
  std::vector<uint8_t> px(4 * 4 * 3);
  for (int y = 0; y < 4; ++y) {
    for (int x = 0; x < 4; ++x) {
      for (int c = 0; c < 3; ++c) px[(y * 4 + x) * 3 + c] = ((x + y) & 1) ? 200 : 0;
    }
  }
  const std::vector<uint8_t> half = ResizeRgb(px.data(), 4, 4, 2);
  ASSERT_EQ(half.size(), 2u * 2 * 3);
  for (uint8_t v : half) EXPECT_EQ(v, 100);
}

TEST(ResizeTest, QuarteringAFineStripePatternDoesNotAlias) {
  // Vertical 1-pixel stripes 0/255 at 256 wide: an area filter gives uniform grey at 64; point or
  // bilinear sampling would give solid black or white columns.
  const int w = 256, h = 128;
  std::vector<uint8_t> px(static_cast<size_t>(w) * h * 3);
  for (int y = 0; y < h; ++y) {
    for (int x = 0; x < w; ++x) {
      for (int c = 0; c < 3; ++c) px[(static_cast<size_t>(y) * w + x) * 3 + c] = (x & 1) ? 255 : 0;
    }
  }
  for (uint8_t v : ResizeRgb(px.data(), h, w, 64)) ASSERT_NEAR(v, 128, 1);
}

TEST(ResizeTest, UpscalingInterpolatesAndKeepsCornersAndOrientation) {
  // 2x1 image: red left, blue right.
  const uint8_t px[] = {255, 0, 0, 0, 0, 255};
  const std::vector<uint8_t> up = ResizeRgb(px, 1, 2, 4);
  EXPECT_EQ(up[0], 255);       // top-left is red
  EXPECT_EQ(up[3 * 3 + 2], 255);  // top-right is blue
  EXPECT_GT(up[1 * 3 + 0], up[2 * 3 + 0]);  // red fades left to right
  EXPECT_EQ(up[(3 * 4 + 0) * 3], 255);  // every row the same (one source row)
}

}  // namespace
}  // namespace vlarft::data
