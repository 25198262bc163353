#include "libs/data/resize.h"

#include <algorithm>
#include <cmath>

namespace vlarft::data {
namespace {

struct Tap {
  int index;
  float weight;
};

// For each output position along one axis, the input positions and weights that make it.
std::vector<std::vector<Tap>> AxisTaps(int in, int out) {
  std::vector<std::vector<Tap>> taps(out);
  const double scale = static_cast<double>(in) / out;
  for (int o = 0; o < out; ++o) {
    if (scale > 1.0) {  // shrinking: average the input span [o*scale, (o+1)*scale)
      const double lo = o * scale, hi = (o + 1) * scale;
      for (int i = static_cast<int>(std::floor(lo)); i < std::min<double>(in, std::ceil(hi)); ++i) {
        const double overlap = std::min<double>(hi, i + 1) - std::max<double>(lo, i);
        if (overlap > 0) taps[o].push_back({i, static_cast<float>(overlap / scale)});
      }
    } else {  // growing (or equal): bilinear between the two nearest input centres
      const double f = std::clamp((o + 0.5) * scale - 0.5, 0.0, in - 1.0);
      const int i0 = static_cast<int>(f), i1 = std::min(i0 + 1, in - 1);
      const float w = static_cast<float>(f - i0);
      taps[o].push_back({i0, 1.f - w});
      if (i1 != i0) taps[o].push_back({i1, w});
    }
  }
  return taps;
}

}  // namespace

std::vector<uint8_t> ResizeRgb(const uint8_t* pixels, int height, int width, int size) {
  if (height == size && width == size) return std::vector<uint8_t>(pixels, pixels + static_cast<size_t>(size) * size * 3);
  const std::vector<std::vector<Tap>> cols = AxisTaps(width, size), rows = AxisTaps(height, size);
  // Horizontal pass: [height][size][3] floats, then vertical into bytes.
  std::vector<float> tmp(static_cast<size_t>(height) * size * 3, 0.f);
  for (int y = 0; y < height; ++y) {
    const uint8_t* src = pixels + static_cast<size_t>(y) * width * 3;
    float* dst = &tmp[static_cast<size_t>(y) * size * 3];
    for (int x = 0; x < size; ++x) {
      for (const Tap& t : cols[x]) {
        for (int c = 0; c < 3; ++c) dst[x * 3 + c] += t.weight * src[t.index * 3 + c];
      }
    }
  }
  std::vector<uint8_t> out(static_cast<size_t>(size) * size * 3);
  for (int y = 0; y < size; ++y) {
    for (int x = 0; x < size * 3; ++x) {
      float v = 0.f;
      for (const Tap& t : rows[y]) v += t.weight * tmp[static_cast<size_t>(t.index) * size * 3 + x];
      out[static_cast<size_t>(y) * size * 3 + x] = static_cast<uint8_t>(std::clamp(v, 0.f, 255.f) + 0.5f);
    }
  }
  return out;
}

}  // namespace vlarft::data
