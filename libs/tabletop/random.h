// A small deterministic PRNG for the benchmark (splitmix64 stream). Unlike std::*_distribution its
// outputs are identical on every platform and standard library, so a seed always means the same
// layout, noise and episode.
#pragma once

#include <cmath>
#include <cstdint>

namespace vlarft::tabletop {

class Random {
 public:
  explicit Random(uint64_t seed) : state_(seed) {}
  uint64_t Next() {
    uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  double Uniform() { return static_cast<double>(Next() >> 11) * 0x1.0p-53; }  // [0, 1)
  double Uniform(double lo, double hi) { return lo + (hi - lo) * Uniform(); }
  int UniformInt(int n) { return static_cast<int>(Uniform() * n); }  // [0, n)
  double Normal() {  // Box–Muller
    const double u1 = std::max(Uniform(), 1e-300), u2 = Uniform();
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
  }

 private:
  uint64_t state_;
};

// Mixes a seed with task/episode indices into an independent stream seed.
inline uint64_t StreamSeed(uint64_t seed, uint64_t a, uint64_t b = 0) {
  Random r(seed ^ (a * 0xD1B54A32D192ED03ull) ^ (b * 0x8CB92BA72F3D8DD7ull));
  r.Next();
  return r.Next();
}

}  // namespace vlarft::tabletop
