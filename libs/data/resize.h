// Resampling of RGB8 frames to the model's square size when loading demonstrations of another size
// (LIBERO stores 128x128; our models use 64x64). Separable: area averaging along an axis that
// shrinks (no aliasing of fine texture), bilinear along an axis that grows.
#pragma once

#include <cstdint>
#include <vector>

namespace vlarft::data {

// RGB uint8 [height][width][3] -> [size][size][3].
std::vector<uint8_t> ResizeRgb(const uint8_t* pixels, int height, int width, int size);

}  // namespace vlarft::data
