#include "libs/viz/bar_chart.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_format.h"

namespace vlarft::viz {
namespace {

constexpr Rgb kAxis{60, 60, 60}, kGrid{225, 225, 225}, kWhisker{30, 30, 30};

double AutoStep(double span) {
  const double raw = span / 6;
  const double magnitude = std::pow(10.0, std::floor(std::log10(raw)));
  for (double m : {1.0, 2.0, 2.5, 5.0}) {
    if (raw <= m * magnitude) return m * magnitude;
  }
  return 10 * magnitude;
}

}  // namespace

Image HorizontalBarChart(const std::vector<BarRow>& rows, const BarChartOptions& options) {
  size_t series = options.series.size();
  int label_width = 0;
  for (const BarRow& row : rows) {
    series = std::max(series, row.values.size());
    label_width = std::max(label_width, Image::TextWidth(row.label));
  }
  series = std::max<size_t>(series, 1);
  double lo = options.min, hi = options.max;
  if (!(lo < hi)) {
    lo = 0, hi = 0;
    for (const BarRow& row : rows) {
      for (const std::vector<double>* v : {&row.values, &row.low, &row.high}) {
        for (double x : *v) {
          if (std::isfinite(x)) lo = std::min(lo, x), hi = std::max(hi, x);
        }
      }
    }
    if (hi == lo) hi = lo + 1;
    const double pad = 0.05 * (hi - lo);
    lo -= lo < 0 ? pad : 0;
    hi += pad;
  }
  const int row_height = static_cast<int>(series) * options.bar_height + 8;
  const int legend_height = options.series.empty() ? 0 : 14;
  const int left = label_width + 14, right = 20;
  const int top = (options.title.empty() ? 10 : 30) + legend_height;
  const int plot_height = std::max(1, static_cast<int>(rows.size()) * row_height);
  const int height = top + plot_height + 40;
  const int width = std::max(options.width, left + right + 120);
  const int plot_width = width - left - right;
  Image image(width, height, {255, 255, 255});
  auto px = [&](double v) { return left + (std::clamp(v, lo, hi) - lo) / (hi - lo) * plot_width; };

  const double step = options.tick_step > 0 ? options.tick_step : AutoStep(hi - lo);
  for (double t = std::ceil(lo / step - 1e-9) * step; t <= hi + 1e-9 * (hi - lo); t += step) {
    const double x = px(t);
    image.Line(x, top, x, top + plot_height, kGrid);
    const std::string label = absl::StrFormat("%g", std::abs(t) < 1e-12 ? 0.0 : t);
    image.Text(static_cast<int>(x) - Image::TextWidth(label) / 2, top + plot_height + 6, label, kAxis);
  }
  if (lo < 0 && hi > 0) image.Line(px(0), top, px(0), top + plot_height, kAxis);
  image.Line(left, top + plot_height, left + plot_width, top + plot_height, kAxis);

  const double base = px(std::clamp(0.0, lo, hi));
  for (size_t r = 0; r < rows.size(); ++r) {
    const BarRow& row = rows[r];
    const int row_top = top + static_cast<int>(r) * row_height + 4;
    image.Text(left - 8 - Image::TextWidth(row.label), row_top + row_height / 2 - 7, row.label, kAxis);
    for (size_t s = 0; s < row.values.size(); ++s) {
      const int y0 = row_top + static_cast<int>(s) * options.bar_height;
      const int y1 = y0 + options.bar_height - 1;
      const double v = row.values[s];
      if (std::isfinite(v)) {
        const double x = px(v);
        image.FillRect(static_cast<int>(std::lround(std::min(base, x))), y0,
                       static_cast<int>(std::lround(std::max(base, x))) + 1, y1, PaletteColor(static_cast<int>(s)));
      }
      if (s < row.low.size() && s < row.high.size() && std::isfinite(row.low[s]) && std::isfinite(row.high[s])) {
        // Axis-aligned, so drawn as crisp 1-pixel rectangles.
        const int xl = static_cast<int>(std::lround(px(std::min(row.low[s], row.high[s]))));
        const int xh = static_cast<int>(std::lround(px(std::max(row.low[s], row.high[s]))));
        const int ym = (y0 + y1) / 2;
        image.FillRect(xl, ym, xh + 1, ym + 1, kWhisker);
        image.FillRect(xl, y0 + 1, xl + 1, y1 - 1, kWhisker);
        image.FillRect(xh, y0 + 1, xh + 1, y1 - 1, kWhisker);
      }
    }
  }
  if (!options.title.empty()) image.Text(left, 8, options.title, {0, 0, 0}, 2);
  int lx = left;
  for (size_t s = 0; s < options.series.size(); ++s) {
    image.FillRect(lx, top - legend_height + 2, lx + 14, top - legend_height + 9, PaletteColor(static_cast<int>(s)));
    image.Text(lx + 18, top - legend_height + 2, options.series[s], kAxis);
    lx += 18 + Image::TextWidth(options.series[s]) + 16;
  }
  image.Text(left + plot_width / 2 - Image::TextWidth(options.value_label) / 2, height - 16, options.value_label, kAxis);
  return image;
}

}  // namespace vlarft::viz
