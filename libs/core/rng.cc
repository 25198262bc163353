#include "libs/core/rng.h"

namespace vlarft::core {
namespace {

// Domain separators so that an integer tag never collides with a string tag by construction.
constexpr uint64_t kIntegerTagDomain = 0x6a09e667f3bcc908ULL;
constexpr uint64_t kStringTagDomain = 0xbb67ae8584caa73bULL;

// FNV-1a 64: tiny, specified byte-for-byte, so the result is identical on every platform and run
// (unlike std::hash).
uint64_t Fnv1a64(absl::string_view text) {
  uint64_t hash = 0xcbf29ce484222325ULL;
  for (const char c : text) {
    hash ^= static_cast<uint8_t>(c);
    hash *= 0x100000001b3ULL;
  }
  return hash;
}

// Mixing the parent seed and the tag through separate MixSeed calls makes the derivation
// asymmetric: DeriveSeed(a, b) != DeriveSeed(b, a) in general, so derivation order matters.
uint64_t Combine(uint64_t seed, uint64_t tag_hash) { return MixSeed(MixSeed(seed) ^ tag_hash); }

}  // namespace

uint64_t MixSeed(uint64_t x) {
  // splitmix64: golden-ratio increment then the finaliser (so MixSeed(0) != 0). Bijective.
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

uint64_t DeriveSeed(uint64_t seed, absl::string_view tag) {
  return Combine(seed, MixSeed(Fnv1a64(tag) ^ kStringTagDomain));
}

uint64_t DeriveSeed(uint64_t seed, uint64_t tag) {
  return Combine(seed, MixSeed(tag ^ kIntegerTagDomain));
}

}  // namespace vlarft::core
