// Finite scalar quantisation (Mentzer et al., "Finite Scalar Quantization: VQ-VAE Made Simple"),
// the quantiser of the video tokenizer (docs/architecture.md, "Models": levels [7, 5, 5, 5, 5] = 4375 codes).
//
// A latent z ∈ R^d (d = number of levels) is bounded per dimension to (−L_i/2, L_i/2), rounded to
// the nearest of L_i integers and rescaled to [−1, 1]; the rounding passes gradients straight
// through. A code is therefore a point of a fixed integer grid, and its index is the mixed-radix
// number of its per-dimension digits (digit i in [0, L_i), dimension 0 least significant):
//   index = Σ_i digit_i · Π_{j<i} L_j,   digit_i = q_i · (L_i / 2) + L_i / 2   (integer division)
// so codes ↔ indices is exact in both directions.
#pragma once

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "libs/core/torch_compat.h"

namespace vlarft::models {

class Fsq {
 public:
  // INVALID_ARGUMENT unless every level is >= 2 and the codebook fits in int32.
  static absl::StatusOr<Fsq> Create(std::vector<int64_t> levels);

  const std::vector<int64_t>& levels() const { return levels_; }
  int64_t dims() const { return static_cast<int64_t>(levels_.size()); }
  int64_t codebook_size() const { return codebook_size_; }

  // z [..., dims] (any real values) -> quantised codes [..., dims] on the grid, in [−1, 1].
  // Forward value is the rounded grid point; the gradient is that of the smooth bound (STE).
  torch::Tensor Quantize(const torch::Tensor& z) const;
  // Grid codes [..., dims] -> int64 indices [...]. Codes off the grid are rounded to it.
  torch::Tensor CodesToIndices(const torch::Tensor& codes) const;
  // int64 indices [...] in [0, codebook_size) -> float codes [..., dims] (on `indices`' device).
  torch::Tensor IndicesToCodes(const torch::Tensor& indices) const;

 private:
  explicit Fsq(std::vector<int64_t> levels);
  // Per-dimension constants as tensors like `like` ([dims]).
  torch::Tensor Constant(const std::vector<double>& values, const torch::Tensor& like) const;

  std::vector<int64_t> levels_;
  std::vector<double> half_width_;  // L / 2 (integer division): the grid is {−hw, …, L − 1 − hw}
  std::vector<double> basis_;       // Π_{j<i} L_j
  int64_t codebook_size_ = 1;
};

}  // namespace vlarft::models
