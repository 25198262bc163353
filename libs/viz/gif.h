// Animated GIF (GIF89a) writer for looking at episodes: one global palette shared by all frames
// (see palette.h), our own LZW encoder (gif_lzw.h), a fixed delay per frame and the NETSCAPE2.0
// loop extension.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "libs/viz/image.h"

namespace vlarft::viz {

struct GifOptions {
  int delay_centiseconds = 10;  // per frame
  int loop_count = 0;           // 0 = loop forever
  int max_colors = 256;
};

// INVALID_ARGUMENT for no frames, frames of different sizes, or sizes beyond 65535.
absl::StatusOr<std::vector<uint8_t>> EncodeGif(const std::vector<Image>& frames, const GifOptions& options = {});
absl::Status WriteGif(const std::string& path, const std::vector<Image>& frames, const GifOptions& options = {});

}  // namespace vlarft::viz
