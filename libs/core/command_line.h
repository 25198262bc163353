// Command-line parsing for the `vlarft` tool and the service binaries, built on the config binder so
// flags and YAML share one declaration: an options struct with VisitFields is both the flag set and
// the help text.
//
//   vlarft data generate --out=data/demos --demos_per_task 50 --suites=[spatial,goal] --verbose
//   vlarft-simulator --config=configs/tiny.yaml --set simulator.max_batch=64 --port=50051
//
// `--name=value` and `--name value` set option `name` (value parsed as YAML, so lists and bools work);
// a bare `--name` means true; dotted names reach nested sections (`--batching.max_batch=8`).
// `--config FILE` and the repeatable `--set a.b=c` are collected separately: they address the YAML
// config document, not the options struct. `--help`/`-h` sets `help`. A lone `--` ends options.
// Unknown options are errors naming the option and listing the known ones.
#pragma once

#include <sstream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "libs/core/config.h"
#include "yaml-cpp/yaml.h"

namespace vlarft::core {

struct ParsedCommandLine {
  std::vector<std::string> positional;
  YAML::Node options{YAML::NodeType::Map};
  std::string config_file;                    // --config
  std::vector<std::string> config_overrides;  // --set (repeatable)
  bool help = false;
};

// `args` excludes the program name (and, for subcommands, the subcommand words).
absl::StatusOr<ParsedCommandLine> ParseCommandLine(const std::vector<std::string>& args);

// Binds the parsed `--name` options to `out`; errors read "unknown option --max_bach (known: ...)".
template <typename T>
absl::Status BindOptions(const ParsedCommandLine& parsed, T* out) {
  absl::Status status = BindConfig(parsed.options, out, "");
  if (status.ok()) return status;
  return absl::InvalidArgumentError(absl::StrCat("command line: ", status.message()));
}

namespace command_line_internal {
// Visitor that prints one line per option: "  --name (default: value)  help".
class HelpWriter {
 public:
  HelpWriter(std::ostringstream& out, std::string prefix, std::string marker)
      : out_(out), prefix_(std::move(prefix)), marker_(std::move(marker)) {}
  template <typename T>
  void Field(const char* name, T& value, const char* help = "") {
    const std::string flag = prefix_.empty() ? name : prefix_ + "." + name;
    if constexpr (config_internal::IsVisitable<T>::value) {
      HelpWriter nested(out_, flag, marker_);
      value.VisitFields(nested);
    } else {
      YAML::Emitter emitter;
      emitter << YAML::Flow << config_internal::YamlWriter::ToNode(value);
      out_ << "  " << marker_ << flag << " (default: " << emitter.c_str() << ")\n      " << help << "\n";
    }
  }

 private:
  std::ostringstream& out_;
  std::string prefix_;
  std::string marker_;
};
}  // namespace command_line_internal

// Help text for an options struct (its current values are shown as defaults). Options print as
// "--name"; pass marker "--set " and prefix "simulator" to document a YAML section instead.
template <typename T>
std::string OptionsHelp(const T& defaults, const std::string& prefix = "",
                        const std::string& marker = "--") {
  T copy = defaults;
  std::ostringstream out;
  command_line_internal::HelpWriter writer(out, prefix, marker);
  copy.VisitFields(writer);
  return out.str();
}

}  // namespace vlarft::core
