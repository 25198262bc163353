// Horizontal grouped bar chart with error whiskers: one row per category (long labels fit on the
// left), one bar per series within a row, values on a fixed or automatic axis with a zero line.
// Made for tables of correlations with confidence intervals (docs/reward_study.md).
#pragma once

#include <string>
#include <vector>

#include "libs/viz/image.h"

namespace vlarft::viz {

struct BarRow {
  std::string label;
  // One entry per series; NaN values draw no bar. `low`/`high` are empty or one per series (NaN:
  // no whisker).
  std::vector<double> values, low, high;
};

struct BarChartOptions {
  int width = 760;
  int bar_height = 9;     // pixels per bar; a row holds one bar per series plus a gap
  std::string title, value_label;
  std::vector<std::string> series;  // legend entries, one per series
  double min = 0, max = 0;          // axis range; min >= max: from the data (and whiskers), incl. 0
  double tick_step = 0;             // 0: about six ticks
};

Image HorizontalBarChart(const std::vector<BarRow>& rows, const BarChartOptions& options);

}  // namespace vlarft::viz
