#include "libs/core/command_line.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace vlarft::core {
namespace {

bool IsOption(const std::string& arg) { return arg.size() > 2 && absl::StartsWith(arg, "--"); }

}  // namespace

absl::StatusOr<ParsedCommandLine> ParseCommandLine(const std::vector<std::string>& args) {
  ParsedCommandLine parsed;
  bool options_ended = false;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (options_ended || (!IsOption(arg) && arg != "-h" && arg != "--")) {
      parsed.positional.push_back(arg);
      continue;
    }
    if (arg == "--") {
      options_ended = true;
      continue;
    }
    if (arg == "-h" || arg == "--help") {
      parsed.help = true;
      continue;
    }
    std::string name = arg.substr(2);
    std::string value;
    bool has_value = false;
    if (const size_t eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
      has_value = true;
    } else if (i + 1 < args.size() && !IsOption(args[i + 1]) && args[i + 1] != "--") {
      value = args[++i];
      has_value = true;
    }
    if (name.empty()) return absl::InvalidArgumentError(absl::StrCat("malformed option '", arg, "'"));
    if (name == "config") {
      if (!has_value) return absl::InvalidArgumentError("--config needs a file name");
      parsed.config_file = value;
    } else if (name == "set") {
      if (!has_value) return absl::InvalidArgumentError("--set needs an assignment like a.b=c");
      parsed.config_overrides.push_back(value);
    } else {
      absl::Status status = ApplyOverride(parsed.options, absl::StrCat(name, "=", has_value ? value : "true"));
      if (!status.ok()) {
        return absl::InvalidArgumentError(absl::StrCat("option --", name, ": ", status.message()));
      }
    }
  }
  return parsed;
}

}  // namespace vlarft::core
