// Picks loopback TCP ports for a launcher or a test that starts several servers at once.
#pragma once

#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"

namespace vlarft::core {

// Hands out loopback ports that nothing listens on, never the same one twice.
//
// Why not call FreeLoopbackPort() once per server: it binds port 0 and closes the socket, and the
// kernel may hand the very same port to the next bind(0) at once. A launcher that picks the
// simulator's and the learner's ports before either server binds then gives both one port, and the
// second server fails with "address already in use" (seen in CI). This picker remembers what it gave
// and asks the kernel again on a repeat.
//
// Not a reservation: another process can still bind a picked port before its server does. Not
// thread-safe: one picker per launching thread.
class LoopbackPortPicker {
 public:
  // A port not given before by this picker; UNAVAILABLE when the kernel keeps offering given ones.
  absl::StatusOr<int> Pick();

  size_t given() const { return given_.size(); }

 private:
  absl::flat_hash_set<int> given_;
};

}  // namespace vlarft::core
