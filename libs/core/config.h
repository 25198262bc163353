// Typed configuration from YAML, with `--set a.b.c=value` overrides and strict checking.
//
// A config struct lists its fields once, in a VisitFields template, and gets reading, writing and
// validation from that list:
//
//   struct BatchingConfig {
//     int max_batch = 32;
//     double max_wait_ms = 5.0;
//     template <typename V> void VisitFields(V& v) {
//       v.Field("max_batch", max_batch, "largest batch the simulator forms");
//       v.Field("max_wait_ms", max_wait_ms, "how long the first request waits for company");
//     }
//     absl::Status Validate() const;  // optional; called after binding
//   };
//
// Fields absent from the YAML keep their C++ defaults. Unknown keys, type mismatches and failed
// Validate() calls are INVALID_ARGUMENT errors naming the full key path ("simulator.batching.max_batch").
// Field types: bool, int, int64_t, uint64_t, float, double, std::string, std::vector of those,
// named enums (EnumNames below), and nested structs that have VisitFields.
#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "yaml-cpp/yaml.h"

namespace vlarft::core {

// Parses a YAML file; errors name the file and line.
absl::StatusOr<YAML::Node> LoadYamlFile(const std::string& path);
absl::StatusOr<YAML::Node> ParseYamlString(const std::string& text, absl::string_view origin);

// Applies "a.b.c=value" to `root`, creating intermediate maps. `value` is parsed as YAML, so
// "x=[1,2]" sets a list and "x=true" a bool. Malformed assignments are INVALID_ARGUMENT.
absl::Status ApplyOverride(YAML::Node& root, absl::string_view assignment);
absl::Status ApplyOverrides(YAML::Node& root, const std::vector<std::string>& assignments);

// Returns the node at dotted `path` ("learner.optimizer"), or an undefined/null node if absent.
YAML::Node NodeAtPath(const YAML::Node& root, absl::string_view path);

// An enum becomes a config field by naming its values: specialise EnumNames in this namespace,
//
//   template <> struct EnumNames<reward::RewardType> {
//     static constexpr std::pair<reward::RewardType, const char*> kEntries[] = {
//         {reward::RewardType::kActionL1, "action_l1"}, ...};
//   };
//
// YAML and --set hold the name; the enum's number is accepted too, so configs written before a
// field became an enum keep working (reward.type: 3). Anything else is INVALID_ARGUMENT listing
// the names.
template <typename T>
struct EnumNames {};

namespace config_internal {

template <typename T, typename = void>
struct IsNamedEnum : std::false_type {};
template <typename T>
struct IsNamedEnum<T, std::void_t<decltype(EnumNames<T>::kEntries)>> : std::true_type {};

}  // namespace config_internal

// The config spelling of `value` ("?" for a value without a name).
template <typename T>
const char* EnumName(T value) {
  for (const auto& [v, name] : EnumNames<T>::kEntries) {
    if (v == value) return name;
  }
  return "?";
}

// "a | b | c": the names, for help texts and errors.
template <typename T>
std::string EnumNameList() {
  std::string out;
  for (const auto& entry : EnumNames<T>::kEntries) absl::StrAppend(&out, out.empty() ? "" : " | ", entry.second);
  return out;
}

// The value named `text` (or numbered, see EnumNames); INVALID_ARGUMENT naming `what` otherwise.
template <typename T>
absl::StatusOr<T> ParseEnum(absl::string_view text, absl::string_view what) {
  for (const auto& [value, name] : EnumNames<T>::kEntries) {
    if (text == name || text == std::to_string(static_cast<int64_t>(value))) return value;
  }
  return absl::InvalidArgumentError(absl::StrCat(what, ": '", text, "' is not one of ", EnumNameList<T>()));
}

namespace config_internal {

// VisitFields is a member template; naming one instantiation detects it without running it.
template <typename T, typename = void>
struct IsVisitable : std::false_type {};
template <typename T>
struct IsVisitable<T, std::void_t<decltype(&T::template VisitFields<int>)>> : std::true_type {};

template <typename T, typename = void>
struct HasValidate : std::false_type {};
template <typename T>
struct HasValidate<T, std::void_t<decltype(std::declval<const T&>().Validate())>> : std::true_type {};

template <typename T>
struct IsVector : std::false_type {};
template <typename T>
struct IsVector<std::vector<T>> : std::true_type {};

std::string JoinPath(const std::string& prefix, absl::string_view name);
absl::Status MapExpectedError(const std::string& path, const YAML::Node& node);
absl::Status ScalarError(const std::string& path, const YAML::Node& node, absl::string_view type_name);
absl::Status UnknownKeysError(const std::string& path, const std::vector<std::string>& unknown,
                              const std::set<std::string>& known);

template <typename T>
absl::string_view TypeName() {
  if constexpr (std::is_same_v<T, bool>) return "bool";
  else if constexpr (std::is_integral_v<T>) return "integer";
  else if constexpr (std::is_floating_point_v<T>) return "number";
  else if constexpr (std::is_same_v<T, std::string>) return "string";
  else return "value";
}

template <typename T>
absl::Status ReadScalar(const YAML::Node& node, const std::string& path, T* out) {
  if (!node.IsScalar()) return ScalarError(path, node, TypeName<T>());
  try {
    if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) {
      // yaml-cpp happily reads "1.5" as 1 for some types; insist on an exact integer.
      const std::string text = node.Scalar();
      if (text.find_first_of(".eE") != std::string::npos) return ScalarError(path, node, TypeName<T>());
    }
    *out = node.as<T>();
  } catch (const YAML::Exception&) {
    return ScalarError(path, node, TypeName<T>());
  }
  return absl::OkStatus();
}

template <typename T>
absl::Status BindStruct(const YAML::Node& node, const std::string& path, T* out);

template <typename T>
absl::Status ReadValue(const YAML::Node& node, const std::string& path, T* out) {
  if constexpr (IsVisitable<T>::value) {
    return BindStruct(node, path, out);
  } else if constexpr (IsNamedEnum<T>::value) {
    if (!node.IsScalar()) return ScalarError(path, node, EnumNameList<T>());
    absl::StatusOr<T> value = ParseEnum<T>(node.Scalar(), absl::StrCat("config '", path, "'"));
    if (!value.ok()) return value.status();
    *out = *value;
    return absl::OkStatus();
  } else if constexpr (IsVector<T>::value) {
    if (!node.IsSequence()) return ScalarError(path, node, "list");
    T values;
    values.reserve(node.size());
    for (size_t i = 0; i < node.size(); ++i) {
      // Read into a local: std::vector<bool> elements have no address.
      typename T::value_type item{};
      absl::Status s = ReadValue(node[i], absl::StrCat(path, "[", i, "]"), &item);
      if (!s.ok()) return s;
      values.push_back(std::move(item));
    }
    *out = std::move(values);
    return absl::OkStatus();
  } else {
    return ReadScalar(node, path, out);
  }
}

// Visitor that reads fields from a YAML map and remembers which keys it consumed.
class YamlReader {
 public:
  YamlReader(const YAML::Node& node, std::string path) : node_(node), path_(std::move(path)) {}

  template <typename T>
  void Field(const char* name, T& value, const char* /*help*/ = "") {
    known_.insert(name);
    if (!status_.ok()) return;
    const YAML::Node child = node_[name];
    if (!child.IsDefined() || child.IsNull()) return;  // keep the default
    status_ = ReadValue(child, JoinPath(path_, name), &value);
  }

  absl::Status Finish() const {
    if (!status_.ok()) return status_;
    std::vector<std::string> unknown;
    for (const auto& kv : node_) {
      // Scalar() instead of as<std::string>(): a non-scalar key must not throw out of the library.
      const std::string key = kv.first.IsScalar() ? kv.first.Scalar() : "<non-scalar key>";
      if (known_.count(key) == 0) unknown.push_back(key);
    }
    if (!unknown.empty()) return UnknownKeysError(path_, unknown, known_);
    return absl::OkStatus();
  }

 private:
  const YAML::Node& node_;
  std::string path_;
  std::set<std::string> known_;
  absl::Status status_;
};

template <typename T>
absl::Status BindStruct(const YAML::Node& node, const std::string& path, T* out) {
  if (!node.IsMap()) return MapExpectedError(path, node);
  YamlReader reader(node, path);
  out->VisitFields(reader);
  absl::Status status = reader.Finish();
  if (!status.ok()) return status;
  if constexpr (HasValidate<T>::value) {
    absl::Status valid = out->Validate();
    if (!valid.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("config '", path.empty() ? "<root>" : path, "': ", valid.message()));
    }
  }
  return absl::OkStatus();
}

// Visitor that writes fields into a YAML map.
class YamlWriter {
 public:
  explicit YamlWriter(YAML::Node& node) : node_(node) {}

  template <typename T>
  void Field(const char* name, T& value, const char* /*help*/ = "") {
    node_[name] = ToNode(value);
  }

  template <typename T>
  static YAML::Node ToNode(T& value) {
    if constexpr (IsVisitable<T>::value) {
      YAML::Node child(YAML::NodeType::Map);
      YamlWriter writer(child);
      value.VisitFields(writer);
      return child;
    } else if constexpr (IsNamedEnum<T>::value) {
      return YAML::Node(std::string(EnumName(value)));
    } else if constexpr (IsVector<T>::value) {
      YAML::Node seq(YAML::NodeType::Sequence);
      for (const auto& item : value) {
        typename T::value_type copy = item;  // std::vector<bool> yields proxies, not references
        seq.push_back(ToNode(copy));
      }
      return seq;
    } else {
      return YAML::Node(value);
    }
  }

 private:
  YAML::Node& node_;
};

}  // namespace config_internal

// Binds `node` (a map, or null/undefined for "all defaults") to `out`. `path` prefixes error messages.
template <typename T>
absl::Status BindConfig(const YAML::Node& node, T* out, const std::string& path = "") {
  if (!node.IsDefined() || node.IsNull()) {
    if constexpr (config_internal::HasValidate<T>::value) {
      absl::Status valid = out->Validate();
      if (!valid.ok()) {
        return absl::InvalidArgumentError(
            absl::StrCat("config '", path.empty() ? "<root>" : path, "': ", valid.message()));
      }
    }
    return absl::OkStatus();
  }
  return config_internal::BindStruct(node, path, out);
}

// Loads `file` (may be empty: defaults only), applies `overrides`, then binds the subtree at
// `section` ("" = the whole document) to a T.
template <typename T>
absl::StatusOr<T> LoadConfig(const std::string& file, const std::vector<std::string>& overrides,
                             const std::string& section = "") {
  YAML::Node root(YAML::NodeType::Map);
  if (!file.empty()) {
    absl::StatusOr<YAML::Node> loaded = LoadYamlFile(file);
    if (!loaded.ok()) return loaded.status();
    root = *loaded;
  }
  absl::Status s = ApplyOverrides(root, overrides);
  if (!s.ok()) return s;
  T out;
  s = BindConfig(NodeAtPath(root, section), &out, section);
  if (!s.ok()) return s;
  return out;
}

// The effective configuration as YAML (for logs, checkpoint sidecars and `vlarft config show`).
template <typename T>
YAML::Node ConfigToYaml(const T& config) {
  T copy = config;  // visitors take non-const references
  return config_internal::YamlWriter::ToNode(copy);
}

template <typename T>
std::string ConfigToYamlString(const T& config) {
  YAML::Emitter out;
  out << ConfigToYaml(config);
  return out.c_str();
}

}  // namespace vlarft::core
