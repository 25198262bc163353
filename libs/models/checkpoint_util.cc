#include "libs/models/checkpoint_util.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "libs/core/safetensors.h"
#include "libs/core/state_dict.h"
#include "libs/core/status.h"

namespace vlarft::models {
namespace {

// Structural equality of two YAML trees; scalars that both read as numbers compare as numbers
// (so "0.1" written by one emitter equals 0.1 from a config struct).
bool SameYaml(const YAML::Node& a, const YAML::Node& b) {
  if (a.Type() != b.Type()) return false;
  if (a.IsScalar()) {
    if (a.Scalar() == b.Scalar()) return true;
    double x = 0, y = 0;
    if (YAML::convert<double>::decode(a, x) && YAML::convert<double>::decode(b, y)) {
      return std::abs(x - y) <= 1e-12 * std::max(std::abs(x), std::abs(y));
    }
    return false;
  }
  if (a.IsSequence()) {
    if (a.size() != b.size()) return false;
    for (size_t i = 0; i < a.size(); ++i) {
      if (!SameYaml(a[i], b[i])) return false;
    }
    return true;
  }
  if (a.IsMap()) {
    if (a.size() != b.size()) return false;
    for (const auto& item : a) {
      const YAML::Node other = b[item.first.Scalar()];
      if (!other.IsDefined() || !SameYaml(item.second, other)) return false;
    }
    return true;
  }
  return true;  // both null
}

std::string FlowString(const YAML::Node& node) {
  YAML::Emitter out;
  out << YAML::Flow << YAML::Clone(node);
  return out.c_str();
}

}  // namespace

absl::Status SaveModelAs(const std::string& stem, const torch::nn::Module& module, const ModelSidecar& sidecar,
                         torch::Dtype storage_dtype) {
  VLARFT_RETURN_IF_ERROR(SaveModel(stem, module, sidecar));
  if (storage_dtype == torch::kFloat32) return absl::OkStatus();
  // Rewrite the weights file (atomically) at the storage precision; the sidecar stays as written.
  std::vector<std::pair<std::string, torch::Tensor>> tensors;
  for (auto& [name, tensor] : core::NamedStateTensors(module)) {
    tensors.emplace_back(name, tensor.is_floating_point() ? tensor.detach().to(storage_dtype) : tensor);
  }
  return core::WriteSafetensors(stem + ".safetensors", tensors, {{"kind", sidecar.kind}});
}

absl::Status LoadModelWeightsConverting(const std::string& stem, torch::nn::Module& module) {
  VLARFT_ASSIGN_OR_RETURN(core::SafetensorsFile file, core::SafetensorsFile::Open(stem + ".safetensors"));
  VLARFT_ASSIGN_OR_RETURN(auto tensors, file.LoadAll());
  std::map<std::string, c10::ScalarType> module_types;
  for (const auto& [name, tensor] : core::NamedStateTensors(module)) module_types[name] = tensor.scalar_type();
  for (auto& [name, tensor] : tensors) {
    auto it = module_types.find(name);
    // Unknown names are left for LoadModuleState to report together with every other mismatch.
    if (it != module_types.end() && tensor.is_floating_point() && c10::isFloatingType(it->second)) {
      tensor = tensor.to(it->second);
    }
  }
  return core::Annotate(core::LoadModuleState(tensors, module), stem);
}

absl::StatusOr<torch::Dtype> ParseStorageDtype(const std::string& name) {
  if (name == "float32") return torch::kFloat32;
  if (name == "float16") return torch::kFloat16;
  if (name == "bfloat16") return torch::kBFloat16;
  return absl::InvalidArgumentError(absl::StrCat("storage dtype must be float32, float16 or bfloat16, got '", name, "'"));
}

absl::Status CheckSidecarConfig(const ModelSidecar& sidecar, const YAML::Node& expected, const std::string& what,
                                const YAML::Node& defaults) {
  for (const auto& item : expected) {
    const std::string key = item.first.Scalar();
    const YAML::Node stored = sidecar.config[key];
    if (!stored.IsDefined() && defaults.IsMap() && defaults[key].IsDefined() && SameYaml(defaults[key], item.second)) {
      continue;  // a field newer than the sidecar, left at its default
    }
    if (!stored.IsDefined() || !SameYaml(stored, item.second)) {
      return absl::FailedPreconditionError(absl::StrCat(what, ": checkpoint was made with ", key, " = ",
                                                        stored.IsDefined() ? FlowString(stored) : "<absent>",
                                                        " but the current config has ", FlowString(item.second)));
    }
  }
  return absl::OkStatus();
}

}  // namespace vlarft::models
