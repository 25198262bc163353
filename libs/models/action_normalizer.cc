#include "libs/models/action_normalizer.h"

#include <cmath>

#include "absl/strings/str_cat.h"

namespace vlarft::models {

absl::StatusOr<ActionNormalizer> ActionNormalizer::Create(std::vector<double> min, std::vector<double> max) {
  if (min.empty() || min.size() != max.size()) {
    return absl::InvalidArgumentError(absl::StrCat("action statistics need equal, non-empty min/max; got ",
                                                   min.size(), " and ", max.size(), " dimensions"));
  }
  for (size_t d = 0; d < min.size(); ++d) {
    if (!std::isfinite(min[d]) || !std::isfinite(max[d]) || min[d] > max[d]) {
      return absl::InvalidArgumentError(
          absl::StrCat("action statistics for dimension ", d, " are invalid: min ", min[d], ", max ", max[d]));
    }
  }
  return ActionNormalizer(std::move(min), std::move(max));
}

absl::StatusOr<ActionNormalizer> ActionNormalizer::FromYaml(const YAML::Node& node) {
  if (!node.IsMap() || !node["min"].IsSequence() || !node["max"].IsSequence()) {
    return absl::InvalidArgumentError("action statistics must be a map with 'min' and 'max' lists");
  }
  try {
    return Create(node["min"].as<std::vector<double>>(), node["max"].as<std::vector<double>>());
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(absl::StrCat("action statistics are not numbers: ", e.what()));
  }
}

YAML::Node ActionNormalizer::ToYaml() const {
  YAML::Node node;
  node["min"] = min_;
  node["max"] = max_;
  node["min"].SetStyle(YAML::EmitterStyle::Flow);
  node["max"].SetStyle(YAML::EmitterStyle::Flow);
  return node;
}

torch::Tensor ActionNormalizer::Tensor(const std::vector<double>& values, const torch::Tensor& like) const {
  return torch::tensor(values, torch::kFloat64).to(like.device(), like.scalar_type());
}

torch::Tensor ActionNormalizer::Normalize(const torch::Tensor& actions) const {
  TORCH_CHECK(actions.size(-1) == dims(), "actions have ", actions.size(-1), " dimensions, statistics ", dims());
  const torch::Tensor lo = Tensor(min_, actions);
  const torch::Tensor range = Tensor(max_, actions) - lo;
  const torch::Tensor safe = torch::where(range > 0, range, torch::ones_like(range));
  const torch::Tensor n = 2.0 * (actions - lo) / safe - 1.0;
  return torch::where(range > 0, n, torch::zeros_like(n)).clamp(-1.0, 1.0);
}

torch::Tensor ActionNormalizer::Denormalize(const torch::Tensor& normalized) const {
  TORCH_CHECK(normalized.size(-1) == dims(), "actions have ", normalized.size(-1), " dimensions, statistics ", dims());
  const torch::Tensor lo = Tensor(min_, normalized);
  const torch::Tensor range = Tensor(max_, normalized) - lo;
  return (normalized.clamp(-1.0, 1.0) + 1.0) / 2.0 * range + lo;
}

torch::Tensor ActionNormalizer::ToBins(const torch::Tensor& normalized, int64_t bins) {
  return torch::floor((normalized.clamp(-1.0, 1.0) + 1.0) / 2.0 * bins).clamp(0, bins - 1).to(torch::kInt64);
}

torch::Tensor ActionNormalizer::FromBins(const torch::Tensor& indices, int64_t bins) {
  return (indices.to(torch::kFloat32) + 0.5) / static_cast<double>(bins) * 2.0 - 1.0;
}

}  // namespace vlarft::models
