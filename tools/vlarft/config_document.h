// Single values read from the whole config document (the file plus --set overrides), for commands
// that need a key of another process's section without binding that section (which would reject
// the keys they do not declare).
#pragma once

#include <exception>
#include <string>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "libs/core/config.h"
#include "libs/core/status.h"

namespace vlarft::cli {

// The config file (an empty map when none) with the overrides applied.
inline absl::StatusOr<YAML::Node> LoadConfigDocument(const std::string& config_file,
                                                     const std::vector<std::string>& overrides) {
  YAML::Node root(YAML::NodeType::Map);
  if (!config_file.empty()) {
    VLARFT_ASSIGN_OR_RETURN(root, core::LoadYamlFile(config_file));
  }
  VLARFT_RETURN_IF_ERROR(core::ApplyOverrides(root, overrides));
  return root;
}

// The value at dotted `path`, `fallback` when absent; a value of the wrong type is an error naming
// the key.
template <typename T>
absl::StatusOr<T> ConfigScalar(const YAML::Node& root, const std::string& path, T fallback) {
  const YAML::Node node = core::NodeAtPath(root, path);
  if (!node.IsDefined() || node.IsNull()) return fallback;
  try {
    return node.as<T>();
  } catch (const std::exception& e) {
    return absl::InvalidArgumentError(absl::StrCat("config '", path, "': ", e.what()));
  }
}

}  // namespace vlarft::cli
