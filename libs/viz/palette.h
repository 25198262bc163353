// Colour quantisation of RGB8 images to an indexed palette (for GIF, later for compact previews).
// Exact when the images hold at most `max_colors` distinct colours; otherwise median cut over a
// 15-bit colour histogram with nearest-entry mapping. Deterministic: same pixels, same palette.
#pragma once

#include <cstdint>
#include <vector>

#include "libs/viz/image.h"

namespace vlarft::viz {

struct IndexedImages {
  std::vector<Rgb> palette;                  // 1..max_colors entries
  std::vector<std::vector<uint8_t>> indices; // per image, width * height palette indices
};

// `max_colors` in [2, 256].
IndexedImages Quantize(const std::vector<Image>& images, int max_colors = 256);

}  // namespace vlarft::viz
