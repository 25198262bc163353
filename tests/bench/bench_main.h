// The shared main() of the benchmark executables: flags bound to an options struct (VisitFields),
// --help prints them, errors go to stderr with exit 2 for bad arguments and 1 otherwise.
#pragma once

#include <iostream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "libs/core/command_line.h"

namespace vlarft::bench {

template <typename Options, typename RunFn>
int BenchMain(int argc, char** argv, const std::string& name, RunFn run) {
  Options options;
  auto parsed = core::ParseCommandLine(std::vector<std::string>(argv + 1, argv + argc));
  if (!parsed.ok()) {
    std::cerr << name << ": " << parsed.status() << "\n";
    return 2;
  }
  if (parsed->help) {
    std::cout << "usage: " << name << " [options]\n\noptions:\n" << core::OptionsHelp(options);
    return 0;
  }
  absl::Status status = core::BindOptions(*parsed, &options);
  if (status.ok()) status = run(options);
  if (!status.ok()) {
    std::cerr << name << ": " << status << "\n";
    return status.code() == absl::StatusCode::kInvalidArgument ? 2 : 1;
  }
  return 0;
}

}  // namespace vlarft::bench
