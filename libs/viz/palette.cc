#include "libs/viz/palette.h"

#include <algorithm>
#include <array>
#include <unordered_map>

namespace vlarft::viz {
namespace {

constexpr int kBins = 1 << 15;  // 5 bits per channel

int BinOf(const uint8_t* p) { return ((p[0] >> 3) << 10) | ((p[1] >> 3) << 5) | (p[2] >> 3); }
int Channel(int bin, int axis) { return (bin >> (10 - 5 * axis)) & 31; }

struct BinStats {
  int64_t count = 0;
  std::array<int64_t, 3> sum{};  // exact channel sums, for the mean colour of a bin or a box
};

// Exact palette when the images hold few colours (the usual case for renderer frames without
// gradients); empty when there are more than `max_colors`.
std::vector<Rgb> ExactPalette(const std::vector<Image>& images, int max_colors,
                              std::unordered_map<uint32_t, uint8_t>* index) {
  std::vector<Rgb> palette;
  for (const Image& image : images) {
    const std::vector<uint8_t>& px = image.pixels();
    for (size_t i = 0; i < px.size(); i += 3) {
      const uint32_t key = (px[i] << 16) | (px[i + 1] << 8) | px[i + 2];
      if (index->count(key)) continue;
      if (static_cast<int>(palette.size()) == max_colors) return {};
      (*index)[key] = static_cast<uint8_t>(palette.size());
      palette.push_back({px[i], px[i + 1], px[i + 2]});
    }
  }
  return palette;
}

// Median cut: repeatedly split the most populated box (with more than one bin) at the count
// median of its longest axis.
std::vector<std::vector<int>> MedianCut(const std::vector<BinStats>& bins, int max_colors) {
  std::vector<int> used;
  for (int b = 0; b < kBins; ++b) {
    if (bins[b].count > 0) used.push_back(b);
  }
  std::vector<std::vector<int>> boxes = {used};
  while (static_cast<int>(boxes.size()) < max_colors) {
    int best = -1;
    int64_t best_count = 0;
    for (size_t i = 0; i < boxes.size(); ++i) {
      if (boxes[i].size() < 2) continue;
      int64_t count = 0;
      for (int b : boxes[i]) count += bins[b].count;
      if (count > best_count) best = static_cast<int>(i), best_count = count;
    }
    if (best < 0) break;
    std::vector<int>& box = boxes[best];
    int axis = 0, widest = -1;
    for (int a = 0; a < 3; ++a) {
      int lo = 31, hi = 0;
      for (int b : box) lo = std::min(lo, Channel(b, a)), hi = std::max(hi, Channel(b, a));
      if (hi - lo > widest) widest = hi - lo, axis = a;
    }
    std::stable_sort(box.begin(), box.end(), [&](int x, int y) { return Channel(x, axis) < Channel(y, axis); });
    int64_t seen = 0;
    size_t cut = 1;
    for (; cut < box.size(); ++cut) {
      seen += bins[box[cut - 1]].count;
      if (2 * seen >= best_count) break;
    }
    cut = std::clamp<size_t>(cut, 1, box.size() - 1);
    std::vector<int> upper(box.begin() + cut, box.end());
    box.resize(cut);
    boxes.push_back(std::move(upper));
  }
  return boxes;
}

}  // namespace

IndexedImages Quantize(const std::vector<Image>& images, int max_colors) {
  max_colors = std::clamp(max_colors, 2, 256);
  IndexedImages out;
  std::unordered_map<uint32_t, uint8_t> exact;
  out.palette = ExactPalette(images, max_colors, &exact);
  if (!out.palette.empty()) {
    for (const Image& image : images) {
      const std::vector<uint8_t>& px = image.pixels();
      std::vector<uint8_t>& idx = out.indices.emplace_back(px.size() / 3);
      for (size_t i = 0; i < idx.size(); ++i) {
        idx[i] = exact.at((px[3 * i] << 16) | (px[3 * i + 1] << 8) | px[3 * i + 2]);
      }
    }
    return out;
  }

  std::vector<BinStats> bins(kBins);
  for (const Image& image : images) {
    const std::vector<uint8_t>& px = image.pixels();
    for (size_t i = 0; i < px.size(); i += 3) {
      BinStats& s = bins[BinOf(&px[i])];
      ++s.count;
      for (int c = 0; c < 3; ++c) s.sum[c] += px[i + c];
    }
  }
  for (const std::vector<int>& box : MedianCut(bins, max_colors)) {
    BinStats total;
    for (int b : box) {
      total.count += bins[b].count;
      for (int c = 0; c < 3; ++c) total.sum[c] += bins[b].sum[c];
    }
    auto mean = [&](int c) { return static_cast<uint8_t>((total.sum[c] + total.count / 2) / total.count); };
    out.palette.push_back({mean(0), mean(1), mean(2)});
  }
  // Every used bin maps to the palette entry nearest to the bin's mean colour.
  std::vector<uint8_t> bin_index(kBins, 0);
  for (int b = 0; b < kBins; ++b) {
    if (bins[b].count == 0) continue;
    int64_t m[3];
    for (int c = 0; c < 3; ++c) m[c] = (bins[b].sum[c] + bins[b].count / 2) / bins[b].count;
    int64_t best = INT64_MAX;
    for (size_t p = 0; p < out.palette.size(); ++p) {
      const int64_t dr = m[0] - out.palette[p].r, dg = m[1] - out.palette[p].g, db = m[2] - out.palette[p].b;
      const int64_t d = 2 * dr * dr + 4 * dg * dg + 3 * db * db;  // rough perceptual weights
      if (d < best) best = d, bin_index[b] = static_cast<uint8_t>(p);
    }
  }
  for (const Image& image : images) {
    const std::vector<uint8_t>& px = image.pixels();
    std::vector<uint8_t>& idx = out.indices.emplace_back(px.size() / 3);
    for (size_t i = 0; i < idx.size(); ++i) idx[i] = bin_index[BinOf(&px[3 * i])];
  }
  return out;
}

}  // namespace vlarft::viz
