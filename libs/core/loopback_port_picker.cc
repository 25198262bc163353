#include "libs/core/loopback_port_picker.h"

#include "absl/strings/str_cat.h"
#include "libs/core/subprocess.h"

namespace vlarft::core {

absl::StatusOr<int> LoopbackPortPicker::Pick() {
  // Repeats are rare (the kernel starts each search at a random offset), so a few tries suffice
  // unless nearly the whole ephemeral range is in use.
  constexpr int kAttempts = 64;
  for (int attempt = 0; attempt < kAttempts; ++attempt) {
    absl::StatusOr<int> port = FreeLoopbackPort();
    if (!port.ok()) return port.status();
    if (given_.insert(*port).second) return *port;
  }
  return absl::UnavailableError(absl::StrCat("no loopback port beside the ", given_.size(),
                                             " already picked after ", kAttempts, " tries"));
}

}  // namespace vlarft::core
