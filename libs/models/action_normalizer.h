// The one action-normalisation convention of the project (docs/architecture.md, "Models"): per-dimension min–max
// statistics of the training demonstrations map environment units to [-1, 1]:
//   n = clip(2 (a - min) / (max - min) - 1, -1, 1)        (dimensions with max == min map to 0)
// The policy predicts actions in this normalised space and the world model bins the same normalised
// values into 256 tokens, so both models agree on what an action means. The statistics are stored in
// each checkpoint's sidecar (extra.action_stats).
#pragma once

#include <vector>

#include "absl/status/statusor.h"
#include "libs/core/torch_compat.h"
#include "yaml-cpp/yaml.h"

namespace vlarft::models {

class ActionNormalizer {
 public:
  ActionNormalizer() = default;
  // INVALID_ARGUMENT unless both have the same non-zero size, are finite, and min <= max.
  static absl::StatusOr<ActionNormalizer> Create(std::vector<double> min, std::vector<double> max);
  // Reads {min: [...], max: [...]} as written by ToYaml.
  static absl::StatusOr<ActionNormalizer> FromYaml(const YAML::Node& node);
  YAML::Node ToYaml() const;

  int64_t dims() const { return static_cast<int64_t>(min_.size()); }
  const std::vector<double>& min() const { return min_; }
  const std::vector<double>& max() const { return max_; }

  // [..., dims] environment units -> [..., dims] in [-1, 1] (clipped).
  torch::Tensor Normalize(const torch::Tensor& actions) const;
  // [..., dims] normalised -> environment units (inputs clipped to [-1, 1] first).
  torch::Tensor Denormalize(const torch::Tensor& normalized) const;
  // Normalised values -> bin indices in [0, bins): floor((n + 1) / 2 * bins), with n = 1 -> bins-1.
  static torch::Tensor ToBins(const torch::Tensor& normalized, int64_t bins);
  // Bin indices -> bin centres in normalised units: (i + 0.5) / bins * 2 - 1.
  static torch::Tensor FromBins(const torch::Tensor& indices, int64_t bins);

 private:
  ActionNormalizer(std::vector<double> min, std::vector<double> max)
      : min_(std::move(min)), max_(std::move(max)) {}
  torch::Tensor Tensor(const std::vector<double>& values, const torch::Tensor& like) const;

  std::vector<double> min_;
  std::vector<double> max_;
};

}  // namespace vlarft::models
