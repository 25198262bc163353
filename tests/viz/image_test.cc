#include "libs/viz/image.h"

#include <png.h>

#include <cstdio>
#include <cstring>
#include <memory>

#include "gtest/gtest.h"
#include "libs/viz/font5x7.h"

namespace vlarft::viz {
namespace {

// Reads a PNG back with libpng's simplified API to check what was written.
std::vector<uint8_t> ReadPng(const std::string& path, int* w, int* h) {
  png_image image{};
  image.version = PNG_IMAGE_VERSION;
  EXPECT_TRUE(png_image_begin_read_from_file(&image, path.c_str()));
  image.format = PNG_FORMAT_RGB;
  std::vector<uint8_t> pixels(PNG_IMAGE_SIZE(image));
  EXPECT_TRUE(png_image_finish_read(&image, nullptr, pixels.data(), 0, nullptr));
  *w = image.width;
  *h = image.height;
  return pixels;
}

TEST(ImageTest, PngRoundTripIsExact) {
  Image image(7, 5, {10, 20, 30});
  image.Set(3, 2, {200, 100, 50});
  image.Set(-1, 0, {0, 0, 0});  // ignored
  const std::string path = ::testing::TempDir() + "/vlarft_image_test.png";
  ASSERT_TRUE(WritePng(path, image).ok());
  int w = 0, h = 0;
  std::vector<uint8_t> pixels = ReadPng(path, &w, &h);
  ASSERT_EQ(w, 7);
  ASSERT_EQ(h, 5);
  EXPECT_EQ(pixels, image.pixels());
  EXPECT_FALSE(WritePng("/nonexistent/dir/x.png", image).ok());
  EXPECT_FALSE(WritePng(path, Image()).ok());
}

TEST(ImageTest, GridPlacesTilesWithGaps) {
  Image a(2, 2, {255, 0, 0}), b(2, 2, {0, 255, 0}), c(2, 2, {0, 0, 255});
  Image grid = Grid({a, b, c}, 2, 1, 2, {0, 0, 0});
  EXPECT_EQ(grid.width(), 2 * 4 + 3);
  EXPECT_EQ(grid.height(), 2 * 4 + 3);
  EXPECT_EQ(grid.Get(1, 1).r, 255);
  EXPECT_EQ(grid.Get(6, 1).g, 255);
  EXPECT_EQ(grid.Get(1, 6).b, 255);
  EXPECT_EQ(grid.Get(0, 0).r, 0);
}

TEST(ImageTest, LinePlotDrawsSeriesInTheirColours) {
  Series rising{"reward", {0, 1, 2, 3}, {-0.3, -0.2, -0.15, -0.1}, PaletteColor(0)};
  Series flat{"base", {0, 3}, {-0.3, -0.3}, PaletteColor(1)};
  Image plot = LinePlot({rising, flat}, {320, 200, "RFT", "step", "reward"});
  ASSERT_EQ(plot.width(), 320);
  int blue = 0, red = 0;
  for (int y = 0; y < plot.height(); ++y) {
    for (int x = 0; x < plot.width(); ++x) {
      const Rgb c = plot.Get(x, y);
      blue += c.r == PaletteColor(0).r && c.g == PaletteColor(0).g && c.b == PaletteColor(0).b;
      red += c.r == PaletteColor(1).r && c.g == PaletteColor(1).g && c.b == PaletteColor(1).b;
    }
  }
  EXPECT_GT(blue, 100);
  EXPECT_GT(red, 100);
  // Text renders glyph pixels.
  Image text(40, 10, {255, 255, 255});
  text.Text(0, 0, "A1", {0, 0, 0});
  EXPECT_EQ(text.Get(0, 1).r, 0);  // 'A' row 1, leftmost pixel
}

TEST(ImageTest, ComparisonSignsHaveGlyphs) {
  // Plot labels say ">= 10 cm"; an unknown character would render as a box.
  EXPECT_NE(std::memcmp(Glyph5x7('>'), Glyph5x7('~'), 7), 0);
  EXPECT_NE(std::memcmp(Glyph5x7('<'), Glyph5x7('~'), 7), 0);
  EXPECT_NE(std::memcmp(Glyph5x7('<'), Glyph5x7('>'), 7), 0);
}

}  // namespace
}  // namespace vlarft::viz
