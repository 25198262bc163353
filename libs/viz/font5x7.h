// A 5x7 bitmap font for plot labels: one byte per row, bit 4 = leftmost pixel.
#pragma once

#include <cstdint>

namespace vlarft::viz {

// Returns the 7 row masks of `c` (upper-cased), or a filled box for characters without a glyph.
const uint8_t* Glyph5x7(char c);

}  // namespace vlarft::viz
