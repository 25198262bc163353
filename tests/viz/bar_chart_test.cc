#include "libs/viz/bar_chart.h"

#include <cmath>
#include <limits>

#include "gtest/gtest.h"

namespace vlarft::viz {
namespace {

bool Same(Rgb a, Rgb b) { return a.r == b.r && a.g == b.g && a.b == b.b; }

// Horizontal extents [x_min, x_max] of the runs of `color`, one per block of consecutive pixel rows.
std::vector<std::pair<int, int>> Bars(const Image& image, Rgb color) {
  std::vector<std::pair<int, int>> bars;
  bool in_block = false;
  for (int y = 0; y < image.height(); ++y) {
    int lo = -1, hi = -1;
    for (int x = 0; x < image.width(); ++x) {
      if (Same(image.Get(x, y), color)) {
        if (lo < 0) lo = x;
        hi = x;
      }
    }
    if (lo >= 0 && !in_block) bars.push_back({lo, hi});
    if (lo >= 0) bars.back() = {std::min(bars.back().first, lo), std::max(bars.back().second, hi)};
    in_block = lo >= 0;
  }
  return bars;
}

TEST(BarChartTest, BarLengthsAreProportionalToValuesAroundZero) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  BarChartOptions options;
  options.min = -1, options.max = 1, options.tick_step = 0.5;
  options.title = "rho";
  const Image image = HorizontalBarChart({{"one", {1.0}, {}, {}},
                                          {"half", {0.5}, {}, {}},
                                          {"minus half", {-0.5}, {}, {}},
                                          {"undefined", {nan}, {}, {}}},
                                         options);
  const std::vector<std::pair<int, int>> bars = Bars(image, PaletteColor(0));
  ASSERT_EQ(bars.size(), 3u);  // the NaN row draws nothing
  const int one = bars[0].second - bars[0].first, half = bars[1].second - bars[1].first;
  const int minus = bars[2].second - bars[2].first;
  EXPECT_NEAR(one, 2 * half, 2);
  EXPECT_NEAR(minus, half, 1);
  EXPECT_EQ(bars[0].first, bars[1].first);        // positive bars start at zero
  EXPECT_NEAR(bars[2].second, bars[1].first, 1);  // the negative one ends there
  EXPECT_GT(half, 50);
}

TEST(BarChartTest, SeriesGetTheirOwnColoursAndWhiskers) {
  BarChartOptions options;
  options.series = {"pooled", "within"};
  options.value_label = "spearman";
  const Image image = HorizontalBarChart({{"a", {0.4, 0.8}, {0.3, 0.7}, {0.5, 0.9}}}, options);
  // Legend patch + one bar each.
  EXPECT_EQ(Bars(image, PaletteColor(0)).size(), 2u);
  EXPECT_EQ(Bars(image, PaletteColor(1)).size(), 2u);
  // Automatic range: the bar of 0.8 is twice as long as the bar of 0.4.
  const auto b0 = Bars(image, PaletteColor(0)).back(), b1 = Bars(image, PaletteColor(1)).back();
  EXPECT_NEAR(b1.second - b1.first, 2 * (b0.second - b0.first), 2);
  // The whisker of series 1 reaches past its bar's end (to 0.9).
  bool whisker_beyond = false;
  for (int y = 0; y < image.height(); ++y) {
    for (int x = b1.second + 3; x < image.width(); ++x) whisker_beyond |= Same(image.Get(x, y), {30, 30, 30});
  }
  EXPECT_TRUE(whisker_beyond);
}

}  // namespace
}  // namespace vlarft::viz
