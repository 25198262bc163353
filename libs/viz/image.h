// An RGB8 image ([height][width][3], row-major) and the drawing operations the project's pictures
// need: PNG output (libpng), composing frames into grids/strips, and line plots for training curves.
// Plain C++ (no LibTorch) so it builds anywhere.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"

namespace vlarft::viz {

struct Rgb {
  uint8_t r = 0, g = 0, b = 0;
};

class Image {
 public:
  Image() = default;
  Image(int width, int height, Rgb fill = {255, 255, 255});
  // Wraps a copy of `pixels` (width * height * 3 bytes).
  static Image FromPixels(int width, int height, const uint8_t* pixels);

  int width() const { return width_; }
  int height() const { return height_; }
  const std::vector<uint8_t>& pixels() const { return pixels_; }
  std::vector<uint8_t>& pixels() { return pixels_; }

  Rgb Get(int x, int y) const;
  void Set(int x, int y, Rgb c);              // ignores out-of-range coordinates
  void Blend(int x, int y, Rgb c, double a);  // alpha blend, ignores out-of-range
  void FillRect(int x0, int y0, int x1, int y1, Rgb c);  // inclusive-exclusive
  void Line(double x0, double y0, double x1, double y1, Rgb c, double width = 1.0);
  // 5x7 bitmap text (ASCII; lower case drawn as upper case), `scale` pixels per font pixel.
  void Text(int x, int y, const std::string& text, Rgb c, int scale = 1);
  static int TextWidth(const std::string& text, int scale = 1) { return static_cast<int>(text.size()) * 6 * scale; }
  // Copies `other` with its top-left corner at (x, y), nearest-neighbour scaled by `scale`.
  void Paste(const Image& other, int x, int y, int scale = 1);

 private:
  int width_ = 0, height_ = 0;
  std::vector<uint8_t> pixels_;
};

absl::Status WritePng(const std::string& path, const Image& image);

// Lays `tiles` (all the same size) out in rows of `columns`, with `gap` pixels between, scaled.
Image Grid(const std::vector<Image>& tiles, int columns, int gap = 2, int scale = 1, Rgb background = {255, 255, 255});
// One row of tiles (an episode strip).
Image Strip(const std::vector<Image>& tiles, int gap = 2, int scale = 1, Rgb background = {255, 255, 255});
// `image` under a band holding `text` (5x7 font at `scale`), left-aligned.
Image WithCaption(const Image& image, const std::string& text, int scale = 1, Rgb ink = {0, 0, 0},
                  Rgb background = {255, 255, 255});

struct Series {
  std::string label;
  std::vector<double> x, y;
  Rgb color;
};

struct PlotOptions {
  int width = 640, height = 400;
  std::string title, x_label, y_label;
  bool log_y = false;
};

// A line chart with axes, ticks, labels and a legend (series with an empty label are left out of it).
Image LinePlot(const std::vector<Series>& series, const PlotOptions& options);

// Distinct colours for up to 8 series.
Rgb PaletteColor(int index);

}  // namespace vlarft::viz
