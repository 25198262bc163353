#include "libs/core/config.h"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"

namespace vlarft::core {
namespace {

// "a.b.c" -> {"a", "b", "c"}; an empty segment ("a..b", ".a", "a.") is an error.
absl::StatusOr<std::vector<std::string>> SplitKey(absl::string_view key,
                                                  absl::string_view assignment) {
  std::vector<std::string> segments = absl::StrSplit(key, '.');
  for (const std::string& segment : segments) {
    if (segment.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("override '", assignment, "': key '", key, "' has an empty segment"));
    }
  }
  return segments;
}

// How a node reads in a message: "scalar 'abc'", "a sequence", "a map", "null".
std::string Describe(const YAML::Node& node) {
  if (!node.IsDefined()) return "nothing";
  switch (node.Type()) {
    case YAML::NodeType::Scalar:
      return absl::StrCat("'", node.Scalar(), "'");
    case YAML::NodeType::Sequence:
      return "a sequence";
    case YAML::NodeType::Map:
      return "a map";
    case YAML::NodeType::Null:
      return "null";
    default:
      return "nothing";
  }
}

std::string DisplayPath(const std::string& path) { return path.empty() ? "<root>" : path; }

// True when `node` can hold keys: a map, or nothing yet (yaml-cpp turns null/undefined into a map
// on the first non-const operator[]).
bool CanHoldKeys(const YAML::Node& node) {
  return !node.IsDefined() || node.IsNull() || node.IsMap();
}

// The value of "key=value": positions inside a one-line value would only confuse, so none are
// shown.
absl::StatusOr<YAML::Node> ParseOverrideValue(absl::string_view assignment,
                                              absl::string_view text) {
  try {
    return YAML::Load(std::string(text));
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(
        absl::StrCat("override '", assignment, "': value is not valid YAML: ", e.msg));
  }
}

}  // namespace

absl::StatusOr<YAML::Node> ParseYamlString(const std::string& text, absl::string_view origin) {
  try {
    return YAML::Load(text);
  } catch (const YAML::Exception& e) {
    // Marks are 0-based; editors count from 1. Some exceptions carry no position (line -1).
    if (e.mark.is_null()) {
      return absl::InvalidArgumentError(absl::StrCat(origin, ": invalid YAML: ", e.msg));
    }
    return absl::InvalidArgumentError(absl::StrCat(origin, ":", e.mark.line + 1, ":",
                                                   e.mark.column + 1, ": invalid YAML: ", e.msg));
  }
}

absl::StatusOr<YAML::Node> LoadYamlFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    const int error = errno;
    if (error == ENOENT) {
      return absl::NotFoundError(absl::StrCat("config file '", path, "' not found"));
    }
    return absl::ErrnoToStatus(error, absl::StrCat("config file '", path, "': cannot open"));
  }
  // A directory opens fine as a stream on Linux and then reads as an empty (all-defaults) config.
  std::error_code ignored;
  if (std::filesystem::is_directory(path, ignored)) {
    return absl::InvalidArgumentError(absl::StrCat("config file '", path, "' is a directory"));
  }
  std::ostringstream contents;
  contents << in.rdbuf();
  if (in.bad()) return absl::DataLossError(absl::StrCat("config file '", path, "': read error"));
  return ParseYamlString(contents.str(), path);
}

absl::Status ApplyOverride(YAML::Node& root, absl::string_view assignment) {
  const size_t equals = assignment.find('=');
  if (equals == absl::string_view::npos) {
    return absl::InvalidArgumentError(absl::StrCat(
        "override '", assignment, "': expected key=value (e.g. simulator.max_batch=64)"));
  }
  const absl::string_view key = absl::StripAsciiWhitespace(assignment.substr(0, equals));
  if (key.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("override '", assignment, "': empty key"));
  }
  absl::StatusOr<std::vector<std::string>> segments = SplitKey(key, assignment);
  if (!segments.ok()) return segments.status();
  absl::StatusOr<YAML::Node> value = ParseOverrideValue(assignment, assignment.substr(equals + 1));
  if (!value.ok()) return value.status();

  // `current` walks down the tree. It must be re-bound with reset(): assigning (`current = child`)
  // would overwrite the node `current` refers to, i.e. corrupt the config. The first level goes
  // through `root` itself so that a default-constructed root gets a backing node.
  const std::vector<std::string>& keys = *segments;
  YAML::Node current;
  current.reset(root);
  std::string walked;
  for (size_t i = 0; i < keys.size(); ++i) {
    if (!CanHoldKeys(current)) {
      return absl::InvalidArgumentError(
          absl::StrCat("override '", assignment, "': cannot set a key below '", DisplayPath(walked),
                       "', which is ", Describe(current), ", not a map"));
    }
    YAML::Node& parent = i == 0 ? root : current;
    if (i + 1 == keys.size()) {
      parent[keys[i]] = *value;
      break;
    }
    YAML::Node child = parent[keys[i]];
    current.reset(child);
    walked = config_internal::JoinPath(walked, keys[i]);
  }
  return absl::OkStatus();
}

absl::Status ApplyOverrides(YAML::Node& root, const std::vector<std::string>& assignments) {
  for (const std::string& assignment : assignments) {
    absl::Status status = ApplyOverride(root, assignment);
    if (!status.ok()) return status;
  }
  return absl::OkStatus();
}

YAML::Node NodeAtPath(const YAML::Node& root, absl::string_view path) {
  if (path.empty()) return root;
  YAML::Node current;
  current.reset(root);
  for (const absl::string_view segment : absl::StrSplit(path, '.')) {
    if (segment.empty() || !current.IsDefined() || !current.IsMap()) {
      return YAML::Node(YAML::NodeType::Undefined);
    }
    // Const lookup: the non-const operator[] would insert the key into the caller's tree.
    const YAML::Node& parent = current;
    const YAML::Node child = parent[std::string(segment)];
    if (!child.IsDefined()) return YAML::Node(YAML::NodeType::Undefined);
    current.reset(child);
  }
  return current;
}

namespace config_internal {

std::string JoinPath(const std::string& prefix, absl::string_view name) {
  if (prefix.empty()) return std::string(name);
  return absl::StrCat(prefix, ".", name);
}

absl::Status MapExpectedError(const std::string& path, const YAML::Node& node) {
  return absl::InvalidArgumentError(
      absl::StrCat("config '", DisplayPath(path), "': expected a map, got ", Describe(node)));
}

absl::Status ScalarError(const std::string& path, const YAML::Node& node,
                         absl::string_view type_name) {
  return absl::InvalidArgumentError(absl::StrCat("config '", DisplayPath(path), "': expected ",
                                                 type_name, ", got ", Describe(node)));
}

absl::Status UnknownKeysError(const std::string& path, const std::vector<std::string>& unknown,
                              const std::set<std::string>& known) {
  std::vector<std::string> quoted;
  quoted.reserve(unknown.size());
  for (const std::string& key : unknown) quoted.push_back(absl::StrCat("'", key, "'"));
  return absl::InvalidArgumentError(
      absl::StrCat("config '", DisplayPath(path), "': unknown key",
                   unknown.size() == 1 ? " " : "s ", absl::StrJoin(quoted, ", "),
                   " (known keys: ", known.empty() ? "none" : absl::StrJoin(known, ", "), ")"));
}

}  // namespace config_internal
}  // namespace vlarft::core
