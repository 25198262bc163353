// The variable-width LZW code stream of a GIF image (GIF89a spec, appendix F): codes of
// min_code_size + 1 .. 12 bits packed least-significant-bit first, starting with a clear code and
// ending with the end-of-information code. The caller splits the bytes into <= 255-byte sub-blocks.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace vlarft::viz {

// `indices` must all be < 2^min_code_size; min_code_size in [2, 8].
std::vector<uint8_t> LzwEncode(const uint8_t* indices, size_t count, int min_code_size);

}  // namespace vlarft::viz
