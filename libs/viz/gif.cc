#include "libs/viz/gif.h"

#include <algorithm>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "libs/viz/gif_lzw.h"
#include "libs/viz/palette.h"

namespace vlarft::viz {
namespace {

void PutU16(std::vector<uint8_t>& out, int v) {
  out.push_back(static_cast<uint8_t>(v & 0xFF));
  out.push_back(static_cast<uint8_t>((v >> 8) & 0xFF));
}

void PutBytes(std::vector<uint8_t>& out, const char* bytes) {
  for (const char* p = bytes; *p != '\0'; ++p) out.push_back(static_cast<uint8_t>(*p));
}

// Data sub-blocks: a length byte (1..255) before each piece, a zero-length block at the end.
void PutSubBlocks(std::vector<uint8_t>& out, const std::vector<uint8_t>& data) {
  for (size_t i = 0; i < data.size(); i += 255) {
    const size_t n = std::min<size_t>(255, data.size() - i);
    out.push_back(static_cast<uint8_t>(n));
    out.insert(out.end(), data.begin() + i, data.begin() + i + n);
  }
  out.push_back(0);
}

}  // namespace

absl::StatusOr<std::vector<uint8_t>> EncodeGif(const std::vector<Image>& frames, const GifOptions& options) {
  if (frames.empty()) return absl::InvalidArgumentError("a GIF needs at least one frame");
  const int width = frames[0].width(), height = frames[0].height();
  if (width <= 0 || height <= 0 || width > 65535 || height > 65535) {
    return absl::InvalidArgumentError(absl::StrCat("GIF frames must be 1..65535 pixels a side, got ", width, "x", height));
  }
  for (size_t i = 0; i < frames.size(); ++i) {
    if (frames[i].width() != width || frames[i].height() != height) {
      return absl::InvalidArgumentError(absl::StrCat("GIF frame ", i, " is ", frames[i].width(), "x", frames[i].height(),
                                                     "; frame 0 is ", width, "x", height));
    }
  }
  const IndexedImages indexed = Quantize(frames, options.max_colors);
  int table_bits = 1;  // the colour table holds 2^table_bits entries (padded with black)
  while ((1 << table_bits) < static_cast<int>(indexed.palette.size())) ++table_bits;
  const int min_code_size = std::max(2, table_bits);

  std::vector<uint8_t> out;
  PutBytes(out, "GIF89a");
  PutU16(out, width);
  PutU16(out, height);
  out.push_back(static_cast<uint8_t>(0x80 | (7 << 4) | (table_bits - 1)));  // global table, 8-bit colour resolution
  out.push_back(0);                                                          // background colour index
  out.push_back(0);                                                          // square pixels
  for (int i = 0; i < (1 << table_bits); ++i) {
    const Rgb c = i < static_cast<int>(indexed.palette.size()) ? indexed.palette[i] : Rgb{};
    out.insert(out.end(), {c.r, c.g, c.b});
  }
  if (frames.size() > 1) {  // NETSCAPE2.0 application extension: loop count
    out.insert(out.end(), {0x21, 0xFF, 0x0B});
    PutBytes(out, "NETSCAPE2.0");
    out.insert(out.end(), {0x03, 0x01});
    PutU16(out, std::clamp(options.loop_count, 0, 65535));
    out.push_back(0);
  }
  for (const std::vector<uint8_t>& indices : indexed.indices) {
    out.insert(out.end(), {0x21, 0xF9, 0x04, 0x04});  // graphic control: disposal "leave in place", no transparency
    PutU16(out, std::clamp(options.delay_centiseconds, 0, 65535));
    out.insert(out.end(), {0x00, 0x00});
    out.push_back(0x2C);  // image descriptor: full frame, no local table, not interlaced
    PutU16(out, 0);
    PutU16(out, 0);
    PutU16(out, width);
    PutU16(out, height);
    out.push_back(0);
    out.push_back(static_cast<uint8_t>(min_code_size));
    PutSubBlocks(out, LzwEncode(indices.data(), indices.size(), min_code_size));
  }
  out.push_back(0x3B);  // trailer
  return out;
}

absl::Status WriteGif(const std::string& path, const std::vector<Image>& frames, const GifOptions& options) {
  absl::StatusOr<std::vector<uint8_t>> bytes = EncodeGif(frames, options);
  if (!bytes.ok()) return bytes.status();
  std::ofstream file(path, std::ios::binary | std::ios::trunc);
  if (!file) return absl::PermissionDeniedError(absl::StrCat("cannot open ", path, " for writing"));
  file.write(reinterpret_cast<const char*>(bytes->data()), static_cast<std::streamsize>(bytes->size()));
  if (!file) return absl::DataLossError(absl::StrCat("failed writing ", path));
  return absl::OkStatus();
}

}  // namespace vlarft::viz
