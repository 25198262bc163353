// `vlarft version`: what this binary was built with (for bug reports and result provenance).
#include <iostream>

#include "libs/core/torch_compat.h"
#include "tools/vlarft/command.h"

namespace vlarft::cli {
namespace {

absl::Status RunVersion(const std::vector<std::string>& args) {
  if (!args.empty()) return absl::InvalidArgumentError("'vlarft version' takes no arguments");
  std::cout << "vlarft " << VLARFT_VERSION << "\nlibtorch " << core::TorchVersionString()
            << "\ncuda available: " << (core::CudaAvailable() ? "yes" : "no") << "\n";
  return absl::OkStatus();
}

}  // namespace

void AddVersionCommands(std::vector<Command>& commands) {
  commands.push_back({{"version"}, "print versions of vlarft and LibTorch", &RunVersion});
}

}  // namespace vlarft::cli
