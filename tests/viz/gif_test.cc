#include "libs/viz/gif.h"

#include <fstream>
#include <iterator>

#include "gtest/gtest.h"
#include "libs/viz/gif_lzw.h"
#include "libs/viz/palette.h"

namespace vlarft::viz {
namespace {

// An independent GIF reader written from the GIF89a spec, just enough to check the writer: global
// colour table, extensions skipped, full-frame images with the classic table-driven LZW decoder.
struct DecodedGif {
  int width = 0, height = 0, loop_count = -1;
  std::vector<int> delays;
  std::vector<std::vector<uint8_t>> frames;  // RGB
};

class Reader {
 public:
  explicit Reader(const std::vector<uint8_t>& b) : b_(b) {}
  uint8_t U8() { return pos_ < b_.size() ? b_[pos_++] : (failed_ = true, 0); }
  int U16() { const int lo = U8(); return lo | (U8() << 8); }
  std::vector<uint8_t> SubBlocks() {
    std::vector<uint8_t> out;
    for (int n = U8(); n != 0 && !failed_; n = U8()) {
      for (int i = 0; i < n; ++i) out.push_back(U8());
    }
    return out;
  }
  bool failed() const { return failed_; }

 private:
  const std::vector<uint8_t>& b_;
  size_t pos_ = 0;
  bool failed_ = false;
};

std::vector<uint8_t> LzwDecode(const std::vector<uint8_t>& data, int min_code_size, size_t expected) {
  const int clear = 1 << min_code_size, end = clear + 1;
  std::vector<std::vector<uint8_t>> table;
  auto reset = [&] {
    table.assign(clear + 2, {});
    for (int i = 0; i < clear; ++i) table[i] = {static_cast<uint8_t>(i)};
  };
  reset();
  int width = min_code_size + 1, previous = -1;
  size_t bit = 0;
  std::vector<uint8_t> out;
  while (bit + width <= data.size() * 8) {
    int code = 0;
    for (int k = 0; k < width; ++k, ++bit) code |= ((data[bit / 8] >> (bit % 8)) & 1) << k;
    if (code == clear) {
      reset();
      width = min_code_size + 1, previous = -1;
      continue;
    }
    if (code == end) break;
    std::vector<uint8_t> entry;
    if (code < static_cast<int>(table.size())) {
      entry = table[code];
    } else if (code == static_cast<int>(table.size()) && previous >= 0) {  // KwKwK
      entry = table[previous];
      entry.push_back(table[previous][0]);
    } else {
      ADD_FAILURE() << "code " << code << " beyond table of " << table.size();
      return {};
    }
    out.insert(out.end(), entry.begin(), entry.end());
    if (previous >= 0 && table.size() < 4096) {
      std::vector<uint8_t> added = table[previous];
      added.push_back(entry[0]);
      table.push_back(added);
      if (table.size() == (1u << width) && width < 12) ++width;
    }
    previous = code;
  }
  EXPECT_EQ(out.size(), expected);
  return out;
}

DecodedGif Decode(const std::vector<uint8_t>& bytes) {
  DecodedGif gif;
  Reader r(bytes);
  std::string magic;
  for (int i = 0; i < 6; ++i) magic += static_cast<char>(r.U8());
  EXPECT_EQ(magic, "GIF89a");
  gif.width = r.U16(), gif.height = r.U16();
  const int packed = r.U8();
  r.U8(), r.U8();
  EXPECT_TRUE(packed & 0x80) << "global colour table expected";
  std::vector<uint8_t> palette(3 * (2 << (packed & 7)));
  for (uint8_t& v : palette) v = r.U8();
  int delay = -1;
  while (!r.failed()) {
    const int block = r.U8();
    if (block == 0x3B) break;
    if (block == 0x21) {
      const int label = r.U8();
      const std::vector<uint8_t> ext = r.SubBlocks();
      if (label == 0xF9 && ext.size() == 4) delay = ext[1] | (ext[2] << 8);
      if (label == 0xFF && ext.size() == 14) gif.loop_count = ext[12] | (ext[13] << 8);  // "NETSCAPE2.0" + 01 + count
      continue;
    }
    EXPECT_EQ(block, 0x2C);
    if (block != 0x2C) break;
    r.U16(), r.U16();
    const int w = r.U16(), h = r.U16();
    r.U8();
    const int min_code_size = r.U8();
    const std::vector<uint8_t> indices = LzwDecode(r.SubBlocks(), min_code_size, static_cast<size_t>(w) * h);
    std::vector<uint8_t> rgb;
    for (uint8_t i : indices) rgb.insert(rgb.end(), {palette[3 * i], palette[3 * i + 1], palette[3 * i + 2]});
    gif.frames.push_back(rgb);
    gif.delays.push_back(delay);
  }
  EXPECT_FALSE(r.failed()) << "truncated GIF";
  return gif;
}

// A frame with few colours (exact palette) and a noisy one (> 256 colours, median cut).
Image Pattern(int w, int h, int seed, bool noisy) {
  Image image(w, h);
  uint32_t s = 2463534242u + seed;
  for (int y = 0; y < h; ++y) {
    for (int x = 0; x < w; ++x) {
      s ^= s << 13, s ^= s >> 17, s ^= s << 5;
      if (noisy) {
        image.Set(x, y, {static_cast<uint8_t>(s), static_cast<uint8_t>(s >> 8), static_cast<uint8_t>(s >> 16)});
      } else {
        const uint8_t v = static_cast<uint8_t>(((x / 3 + y / 2 + seed) % 5) * 60);
        image.Set(x, y, {v, static_cast<uint8_t>(255 - v), static_cast<uint8_t>(x * 7)});
      }
    }
  }
  return image;
}

TEST(GifTest, FewColoursRoundTripExactly) {
  std::vector<Image> frames = {Pattern(37, 23, 0, false), Pattern(37, 23, 1, false), Pattern(37, 23, 2, false)};
  auto bytes = EncodeGif(frames, {7, 3, 256});
  ASSERT_TRUE(bytes.ok()) << bytes.status();
  const DecodedGif gif = Decode(*bytes);
  EXPECT_EQ(gif.width, 37);
  EXPECT_EQ(gif.height, 23);
  EXPECT_EQ(gif.loop_count, 3);
  ASSERT_EQ(gif.frames.size(), 3u);
  for (size_t i = 0; i < frames.size(); ++i) {
    EXPECT_EQ(gif.frames[i], frames[i].pixels()) << "frame " << i;
    EXPECT_EQ(gif.delays[i], 7);
  }
}

TEST(GifTest, ManyColoursAreQuantisedCloselyAndLongStreamsResetTheTable) {
  // 200x150 random pixels: far more than 4096 LZW codes, so the encoder must emit clear codes.
  std::vector<Image> frames = {Pattern(200, 150, 5, true), Pattern(200, 150, 6, false)};
  auto bytes = EncodeGif(frames);
  ASSERT_TRUE(bytes.ok());
  const DecodedGif gif = Decode(*bytes);
  ASSERT_EQ(gif.frames.size(), 2u);
  double error = 0;
  for (size_t i = 0; i < gif.frames[0].size(); ++i) error += std::abs(gif.frames[0][i] - frames[0].pixels()[i]);
  error /= gif.frames[0].size();
  EXPECT_LT(error, 24.0) << "mean absolute error per channel of uniform noise in 256 colours";
  EXPECT_GT(error, 0.0);
}

TEST(GifTest, LzwHandlesEdgeLengthsAndEveryCodeSize) {
  for (int min_code_size = 2; min_code_size <= 8; ++min_code_size) {
    for (size_t n : {0, 1, 2, 3, 100, 5000, 20000}) {
      std::vector<uint8_t> indices(n);
      uint32_t s = 7 + n;
      for (uint8_t& v : indices) s = s * 1103515245u + 12345u, v = static_cast<uint8_t>((s >> 16) % (1u << min_code_size));
      if (n == 20000) std::fill(indices.begin(), indices.end(), 1);  // long runs: deep table, width 12
      const std::vector<uint8_t> decoded = LzwDecode(LzwEncode(indices.data(), n, min_code_size), min_code_size, n);
      EXPECT_EQ(decoded, indices) << "min code size " << min_code_size << ", " << n << " indices";
    }
  }
}

TEST(GifTest, BadInputIsAnError) {
  EXPECT_FALSE(EncodeGif({}).ok());
  EXPECT_FALSE(EncodeGif({Image(4, 4), Image(5, 4)}).ok());
  EXPECT_FALSE(WriteGif("/nonexistent/dir/a.gif", {Image(4, 4)}).ok());
  const std::string path = ::testing::TempDir() + "/vlarft_gif_test.gif";
  ASSERT_TRUE(WriteGif(path, {Image(4, 4, {1, 2, 3})}).ok());
  std::ifstream in(path, std::ios::binary);
  const std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const DecodedGif gif = Decode(bytes);
  ASSERT_EQ(gif.frames.size(), 1u);
  EXPECT_EQ(gif.frames[0][0], 1);
  EXPECT_EQ(gif.frames[0][2], 3);
}

TEST(PaletteTest, DeterministicAndNeverMoreThanAsked) {
  const std::vector<Image> frames = {Pattern(64, 64, 9, true)};
  const IndexedImages a = Quantize(frames, 16), b = Quantize(frames, 16);
  EXPECT_LE(a.palette.size(), 16u);
  EXPECT_GE(a.palette.size(), 8u);
  EXPECT_EQ(a.indices, b.indices);
  for (uint8_t i : a.indices[0]) ASSERT_LT(i, a.palette.size());
}

}  // namespace
}  // namespace vlarft::viz
