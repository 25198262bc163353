// Whole-file reads and atomic writes, the one place the project does them (configs aside: YAML
// files go through core::LoadYamlFile). Errors name the path.
#pragma once

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace vlarft::core {

// The file's bytes. NOT_FOUND (absent or unreadable path), PERMISSION_DENIED (no access).
absl::StatusOr<std::string> ReadFileToString(const std::string& path);

// Writes `contents` to a temporary file beside `path` (unique per process and thread), then
// renames it into place: readers see the old file or the new one, never a partial one.
absl::Status WriteFileAtomically(const std::string& path, const std::string& contents);

}  // namespace vlarft::core
