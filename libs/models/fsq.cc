#include "libs/models/fsq.h"

#include <cmath>
#include <limits>

#include "absl/strings/str_cat.h"

namespace vlarft::models {

absl::StatusOr<Fsq> Fsq::Create(std::vector<int64_t> levels) {
  if (levels.empty()) return absl::InvalidArgumentError("FSQ needs at least one level");
  int64_t size = 1;
  for (int64_t level : levels) {
    if (level < 2) return absl::InvalidArgumentError(absl::StrCat("FSQ levels must be >= 2, got ", level));
    size *= level;
    if (size > std::numeric_limits<int32_t>::max()) {
      return absl::InvalidArgumentError("FSQ codebook does not fit in int32");
    }
  }
  return Fsq(std::move(levels));
}

Fsq::Fsq(std::vector<int64_t> levels) : levels_(std::move(levels)) {
  for (int64_t level : levels_) {
    half_width_.push_back(static_cast<double>(level / 2));
    basis_.push_back(static_cast<double>(codebook_size_));
    codebook_size_ *= level;
  }
}

torch::Tensor Fsq::Constant(const std::vector<double>& values, const torch::Tensor& like) const {
  return torch::tensor(values, like.options().dtype(torch::kFloat64)).to(like.scalar_type());
}

torch::Tensor Fsq::Quantize(const torch::Tensor& z) const {
  // Bound as in the FSQ reference code: odd levels map to (−(L−1)/2, (L−1)/2) slightly widened so
  // rounding reaches the end points; even levels are shifted by 1/2 so the grid is asymmetric
  // {−L/2, …, L/2 − 1}.
  constexpr double kEps = 1e-3;
  std::vector<double> half_l, offset, shift;
  for (int64_t level : levels_) {
    const double h = (static_cast<double>(level) - 1.0) * (1.0 + kEps) / 2.0;
    const double o = level % 2 == 0 ? 0.5 : 0.0;
    half_l.push_back(h);
    offset.push_back(o);
    shift.push_back(std::atanh(o / h));
  }
  const torch::Tensor x = z.to(torch::kFloat32);
  const torch::Tensor bounded =
      torch::tanh(x + Constant(shift, x)) * Constant(half_l, x) - Constant(offset, x);
  const torch::Tensor rounded = bounded + (bounded.round() - bounded).detach();  // straight-through
  return rounded / Constant(half_width_, x);
}

torch::Tensor Fsq::CodesToIndices(const torch::Tensor& codes) const {
  const torch::Tensor x = codes.to(torch::kFloat64);
  const torch::Tensor hw = Constant(half_width_, x);
  const torch::Tensor digits = (x * hw + hw).round();
  return (digits * Constant(basis_, x)).sum(-1).to(torch::kInt64);
}

torch::Tensor Fsq::IndicesToCodes(const torch::Tensor& indices) const {
  const torch::Tensor idx = indices.to(torch::kInt64).unsqueeze(-1);
  std::vector<int64_t> basis(basis_.begin(), basis_.end());
  const torch::Tensor b = torch::tensor(basis, idx.options());
  const torch::Tensor l = torch::tensor(levels_, idx.options());
  const torch::Tensor digits = torch::div(idx, b, "floor").remainder(l).to(torch::kFloat32);
  const torch::Tensor hw = Constant(half_width_, digits);
  return (digits - hw) / hw;
}

}  // namespace vlarft::models
