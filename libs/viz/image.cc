#include "libs/viz/image.h"

#include <png.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <memory>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "libs/viz/font5x7.h"

namespace vlarft::viz {

Image::Image(int width, int height, Rgb fill) : width_(width), height_(height), pixels_(width * height * 3) {
  for (int i = 0; i < width * height; ++i) {
    pixels_[3 * i] = fill.r;
    pixels_[3 * i + 1] = fill.g;
    pixels_[3 * i + 2] = fill.b;
  }
}

Image Image::FromPixels(int width, int height, const uint8_t* pixels) {
  Image image;
  image.width_ = width;
  image.height_ = height;
  image.pixels_.assign(pixels, pixels + static_cast<size_t>(width) * height * 3);
  return image;
}

Rgb Image::Get(int x, int y) const {
  const size_t i = (static_cast<size_t>(y) * width_ + x) * 3;
  return {pixels_[i], pixels_[i + 1], pixels_[i + 2]};
}

void Image::Set(int x, int y, Rgb c) {
  if (x < 0 || y < 0 || x >= width_ || y >= height_) return;
  const size_t i = (static_cast<size_t>(y) * width_ + x) * 3;
  pixels_[i] = c.r;
  pixels_[i + 1] = c.g;
  pixels_[i + 2] = c.b;
}

void Image::Blend(int x, int y, Rgb c, double a) {
  if (x < 0 || y < 0 || x >= width_ || y >= height_ || a <= 0) return;
  a = std::min(a, 1.0);
  const Rgb old = Get(x, y);
  auto mix = [a](uint8_t from, uint8_t to) { return static_cast<uint8_t>(std::lround(from + (to - from) * a)); };
  Set(x, y, {mix(old.r, c.r), mix(old.g, c.g), mix(old.b, c.b)});
}

void Image::FillRect(int x0, int y0, int x1, int y1, Rgb c) {
  for (int y = std::max(0, y0); y < std::min(height_, y1); ++y) {
    for (int x = std::max(0, x0); x < std::min(width_, x1); ++x) Set(x, y, c);
  }
}

void Image::Line(double x0, double y0, double x1, double y1, Rgb c, double width) {
  // Distance-to-segment coverage: simple anti-aliasing adequate for plots.
  const int xmin = static_cast<int>(std::floor(std::min(x0, x1) - width - 1));
  const int xmax = static_cast<int>(std::ceil(std::max(x0, x1) + width + 1));
  const int ymin = static_cast<int>(std::floor(std::min(y0, y1) - width - 1));
  const int ymax = static_cast<int>(std::ceil(std::max(y0, y1) + width + 1));
  const double dx = x1 - x0, dy = y1 - y0, len2 = dx * dx + dy * dy;
  for (int y = ymin; y <= ymax; ++y) {
    for (int x = xmin; x <= xmax; ++x) {
      double t = len2 > 0 ? ((x - x0) * dx + (y - y0) * dy) / len2 : 0.0;
      t = std::clamp(t, 0.0, 1.0);
      const double d = std::hypot(x - (x0 + t * dx), y - (y0 + t * dy));
      Blend(x, y, c, std::clamp(width / 2.0 + 0.5 - d, 0.0, 1.0));
    }
  }
}

void Image::Text(int x, int y, const std::string& text, Rgb c, int scale) {
  for (size_t i = 0; i < text.size(); ++i) {
    const uint8_t* rows = Glyph5x7(text[i]);
    for (int r = 0; r < 7; ++r) {
      for (int col = 0; col < 5; ++col) {
        if (rows[r] & (0x10 >> col)) {
          FillRect(x + (static_cast<int>(i) * 6 + col) * scale, y + r * scale, x + (static_cast<int>(i) * 6 + col + 1) * scale,
                   y + (r + 1) * scale, c);
        }
      }
    }
  }
}

void Image::Paste(const Image& other, int x, int y, int scale) {
  for (int yy = 0; yy < other.height() * scale; ++yy) {
    for (int xx = 0; xx < other.width() * scale; ++xx) Set(x + xx, y + yy, other.Get(xx / scale, yy / scale));
  }
}

absl::Status WritePng(const std::string& path, const Image& image) {
  if (image.width() <= 0 || image.height() <= 0) return absl::InvalidArgumentError("cannot write an empty image");
  std::unique_ptr<FILE, int (*)(FILE*)> file(std::fopen(path.c_str(), "wb"), &std::fclose);
  if (!file) return absl::PermissionDeniedError(absl::StrCat("cannot open ", path, " for writing"));
  png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, nullptr, nullptr, nullptr);
  png_infop info = png != nullptr ? png_create_info_struct(png) : nullptr;
  if (png == nullptr || info == nullptr) {
    png_destroy_write_struct(&png, &info);
    return absl::InternalError("libpng initialisation failed");
  }
  // libpng reports errors by longjmp; nothing with a destructor is live between here and the end.
  if (setjmp(png_jmpbuf(png))) {
    png_destroy_write_struct(&png, &info);
    return absl::DataLossError(absl::StrCat("libpng failed writing ", path));
  }
  png_init_io(png, file.get());
  png_set_IHDR(png, info, image.width(), image.height(), 8, PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE,
               PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
  png_write_info(png, info);
  for (int y = 0; y < image.height(); ++y) {
    png_write_row(png, const_cast<png_bytep>(image.pixels().data() + static_cast<size_t>(y) * image.width() * 3));
  }
  png_write_end(png, nullptr);
  png_destroy_write_struct(&png, &info);
  return absl::OkStatus();
}

Image Grid(const std::vector<Image>& tiles, int columns, int gap, int scale, Rgb background) {
  if (tiles.empty() || columns < 1) return Image();
  const int tw = tiles[0].width() * scale, th = tiles[0].height() * scale;
  const int rows = (static_cast<int>(tiles.size()) + columns - 1) / columns;
  const int cols = std::min<int>(columns, tiles.size());
  Image out(cols * tw + (cols + 1) * gap, rows * th + (rows + 1) * gap, background);
  for (size_t i = 0; i < tiles.size(); ++i) {
    const int r = static_cast<int>(i) / columns, c = static_cast<int>(i) % columns;
    out.Paste(tiles[i], gap + c * (tw + gap), gap + r * (th + gap), scale);
  }
  return out;
}

Image Strip(const std::vector<Image>& tiles, int gap, int scale, Rgb background) {
  return Grid(tiles, std::max<int>(1, tiles.size()), gap, scale, background);
}

Image WithCaption(const Image& image, const std::string& text, int scale, Rgb ink, Rgb background) {
  const int band = 7 * scale + 6;
  Image out(std::max(image.width(), Image::TextWidth(text, scale) + 6), image.height() + band, background);
  out.Text(3, 3, text, ink, scale);
  out.Paste(image, 0, band);
  return out;
}

Rgb PaletteColor(int index) {
  static constexpr Rgb kPalette[] = {{31, 119, 180}, {214, 39, 40}, {44, 160, 44}, {255, 127, 14},
                                     {148, 103, 189}, {140, 86, 75}, {227, 119, 194}, {23, 190, 207}};
  return kPalette[index % 8];
}

namespace {

std::string TickLabel(double v) {
  if (v == 0) return "0";
  const double a = std::abs(v);
  if (a >= 1e4 || a < 1e-3) return absl::StrFormat("%.1e", v);
  if (a >= 100) return absl::StrFormat("%.0f", v);
  if (a >= 1) return absl::StrFormat("%.2g", v);
  return absl::StrFormat("%.3g", v);
}

// About `count` "nice" ticks covering [lo, hi].
std::vector<double> NiceTicks(double lo, double hi, int count) {
  const double span = hi - lo;
  const double raw = span / std::max(1, count);
  const double magnitude = std::pow(10.0, std::floor(std::log10(raw)));
  double step = magnitude;
  for (double m : {1.0, 2.0, 5.0, 10.0}) {
    if (raw <= m * magnitude) {
      step = m * magnitude;
      break;
    }
  }
  std::vector<double> ticks;
  for (double t = std::ceil(lo / step) * step; t <= hi + 1e-9 * span; t += step) ticks.push_back(t);
  return ticks;
}

}  // namespace

Image LinePlot(const std::vector<Series>& series, const PlotOptions& options) {
  Image image(options.width, options.height, {255, 255, 255});
  const int left = 70, right = 20, top = options.title.empty() ? 20 : 36, bottom = 50;
  const int pw = options.width - left - right, ph = options.height - top - bottom;
  double xmin = 1e300, xmax = -1e300, ymin = 1e300, ymax = -1e300;
  auto ty = [&](double y) { return options.log_y ? std::log10(std::max(y, 1e-12)) : y; };
  for (const Series& s : series) {
    for (size_t i = 0; i < s.x.size() && i < s.y.size(); ++i) {
      if (!std::isfinite(s.x[i]) || !std::isfinite(s.y[i])) continue;
      xmin = std::min(xmin, s.x[i]);
      xmax = std::max(xmax, s.x[i]);
      ymin = std::min(ymin, ty(s.y[i]));
      ymax = std::max(ymax, ty(s.y[i]));
    }
  }
  if (xmin > xmax) xmin = 0, xmax = 1, ymin = 0, ymax = 1;
  if (xmax == xmin) xmax = xmin + 1;
  if (ymax == ymin) ymax = ymin + 1, ymin -= 1;
  const double pad = 0.05 * (ymax - ymin);
  ymin -= pad;
  ymax += pad;
  auto px = [&](double x) { return left + (x - xmin) / (xmax - xmin) * pw; };
  auto py = [&](double y) { return top + ph - (ty(y) - ymin) / (ymax - ymin) * ph; };
  const Rgb grid{225, 225, 225}, axis{60, 60, 60};
  for (double t : NiceTicks(xmin, xmax, 6)) {
    image.Line(px(t), top, px(t), top + ph, grid);
    const std::string label = TickLabel(t);
    image.Text(static_cast<int>(px(t)) - Image::TextWidth(label) / 2, top + ph + 6, label, axis);
  }
  for (double t : NiceTicks(ymin, ymax, 6)) {
    const double y = top + ph - (t - ymin) / (ymax - ymin) * ph;
    image.Line(left, y, left + pw, y, grid);
    const std::string label = TickLabel(options.log_y ? std::pow(10.0, t) : t);
    image.Text(left - 6 - Image::TextWidth(label), static_cast<int>(y) - 3, label, axis);
  }
  image.Line(left, top, left, top + ph, axis);
  image.Line(left, top + ph, left + pw, top + ph, axis);
  for (size_t k = 0; k < series.size(); ++k) {
    const Series& s = series[k];
    for (size_t i = 1; i < s.x.size() && i < s.y.size(); ++i) {
      if (!std::isfinite(s.y[i - 1]) || !std::isfinite(s.y[i])) continue;
      image.Line(px(s.x[i - 1]), py(s.y[i - 1]), px(s.x[i]), py(s.y[i]), s.color, 2.0);
    }
    if (s.x.size() == 1) image.FillRect(px(s.x[0]) - 2, py(s.y[0]) - 2, px(s.x[0]) + 3, py(s.y[0]) + 3, s.color);
    // Legend, top right (a series without a label, e.g. a second interval bound, has none).
    if (s.label.empty()) continue;
    const int ly = top + 6 + static_cast<int>(k) * 12;
    const int lx = left + pw - 8 - Image::TextWidth(s.label) - 22;
    image.FillRect(lx, ly + 2, lx + 16, ly + 5, s.color);
    image.Text(lx + 20, ly, s.label, axis);
  }
  if (!options.title.empty()) image.Text(left, 12, options.title, {0, 0, 0}, 2);
  image.Text(left + pw / 2 - Image::TextWidth(options.x_label) / 2, options.height - 18, options.x_label, axis);
  image.Text(4, top - 14, options.y_label + (options.log_y ? " (log)" : ""), axis);
  return image;
}

}  // namespace vlarft::viz
