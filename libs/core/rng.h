// Deterministic seeding. Every random stream in the project is derived from one user seed plus a
// path of tags ("rollout", worker id, prompt id, sample index), so runs are reproducible no matter
// how work is scheduled across threads and processes.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <random>

#include "absl/strings/string_view.h"
#include "libs/core/torch_compat.h"

namespace vlarft::core {

// splitmix64 finaliser: a bijective, well-mixed 64-bit hash.
uint64_t MixSeed(uint64_t x);

// Derives a child seed from `seed` and a tag (string or integer); order of derivation matters.
uint64_t DeriveSeed(uint64_t seed, absl::string_view tag);
uint64_t DeriveSeed(uint64_t seed, uint64_t tag);

// A value-type seed path: SeedPath(7).Child("worker").Child(3).seed().
class SeedPath {
 public:
  explicit SeedPath(uint64_t root) : seed_(root) {}
  SeedPath Child(absl::string_view tag) const { return SeedPath(DeriveSeed(seed_, tag)); }
  SeedPath Child(uint64_t tag) const { return SeedPath(DeriveSeed(seed_, tag)); }
  uint64_t seed() const { return seed_; }
  std::mt19937_64 Engine() const { return std::mt19937_64(seed_); }
  at::Generator TorchGenerator() const { return MakeCpuGenerator(seed_); }

 private:
  uint64_t seed_;
};

}  // namespace vlarft::core
