#include "libs/viz/gif_lzw.h"

#include <array>
#include <memory>

namespace vlarft::viz {
namespace {

constexpr int kMaxCodeBits = 12;
constexpr int kMaxCodes = 1 << kMaxCodeBits;

// LSB-first bit packer.
class BitWriter {
 public:
  explicit BitWriter(std::vector<uint8_t>* out) : out_(out) {}
  void Write(int code, int width) {
    buffer_ |= static_cast<uint32_t>(code) << bits_;
    bits_ += width;
    while (bits_ >= 8) {
      out_->push_back(static_cast<uint8_t>(buffer_ & 0xFF));
      buffer_ >>= 8;
      bits_ -= 8;
    }
  }
  void Flush() {
    if (bits_ > 0) out_->push_back(static_cast<uint8_t>(buffer_ & 0xFF));
    buffer_ = 0, bits_ = 0;
  }

 private:
  std::vector<uint8_t>* out_;
  uint32_t buffer_ = 0;
  int bits_ = 0;
};

// The string table as an open-addressing hash of (prefix code, next index) -> code. 8192 slots
// for at most 4096 entries keeps probes short; a reset refills one small array.
class CodeTable {
 public:
  void Clear() { keys_.fill(-1); }
  int Find(int prefix, int index) const {
    const int32_t key = (prefix << 8) | index;
    for (uint32_t slot = Hash(key);; slot = (slot + 1) & (kSlots - 1)) {
      if (keys_[slot] == key) return codes_[slot];
      if (keys_[slot] < 0) return -1;
    }
  }
  void Insert(int prefix, int index, int code) {
    const int32_t key = (prefix << 8) | index;
    uint32_t slot = Hash(key);
    while (keys_[slot] >= 0) slot = (slot + 1) & (kSlots - 1);
    keys_[slot] = key;
    codes_[slot] = static_cast<int16_t>(code);
  }

 private:
  static constexpr uint32_t kSlots = 2 * kMaxCodes;
  static uint32_t Hash(int32_t key) { return (static_cast<uint32_t>(key) * 2654435761u) >> (32 - 13); }
  std::array<int32_t, kSlots> keys_;
  std::array<int16_t, kSlots> codes_;
};

}  // namespace

std::vector<uint8_t> LzwEncode(const uint8_t* indices, size_t count, int min_code_size) {
  std::vector<uint8_t> out;
  BitWriter bits(&out);
  const int clear = 1 << min_code_size, end = clear + 1;
  int width = min_code_size + 1, next = clear + 2;
  auto table = std::make_unique<CodeTable>();
  table->Clear();
  bits.Write(clear, width);
  if (count == 0) {
    bits.Write(end, width);
    bits.Flush();
    return out;
  }
  int prefix = indices[0];
  for (size_t i = 1; i < count; ++i) {
    const int index = indices[i];
    const int found = table->Find(prefix, index);
    if (found >= 0) {
      prefix = found;
      continue;
    }
    bits.Write(prefix, width);
    // The decoder adds this entry only after reading the next code, so the width grows once the
    // entry just assigned needs it: when its code reaches 2^width.
    const int assigned = next++;
    table->Insert(prefix, index, assigned);
    if (assigned == (1 << width) && width < kMaxCodeBits) ++width;
    if (assigned == kMaxCodes - 1) {  // table full: start over
      bits.Write(clear, width);
      table->Clear();
      width = min_code_size + 1;
      next = clear + 2;
    }
    prefix = index;
  }
  bits.Write(prefix, width);
  // Reading that last code makes the decoder add one more entry, which may widen its codes.
  if (next == (1 << width) && width < kMaxCodeBits) ++width;
  bits.Write(end, width);
  bits.Flush();
  return out;
}

}  // namespace vlarft::viz
