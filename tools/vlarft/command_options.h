// Parsing a subcommand's options struct (see libs/core/command_line.h), with --help.
#pragma once

#include <iostream>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "libs/core/command_line.h"
#include "libs/core/status.h"

namespace vlarft::cli {

// False when --help was printed (the command should return OK without running).
template <typename Options>
absl::StatusOr<bool> ParseOptionsOrHelp(const std::vector<std::string>& args, const std::string& usage,
                                        Options* options) {
  VLARFT_ASSIGN_OR_RETURN(core::ParsedCommandLine parsed, core::ParseCommandLine(args));
  if (parsed.help) {
    std::cout << usage << "\n\noptions:\n" << core::OptionsHelp(*options);
    return false;
  }
  if (!parsed.positional.empty()) return absl::InvalidArgumentError("unexpected argument '" + parsed.positional[0] + "'");
  VLARFT_RETURN_IF_ERROR(core::BindOptions(parsed, options));
  return true;
}

}  // namespace vlarft::cli
