// Helpers for integration tests: child processes (libs/core/subprocess.h), temp dirs, binaries,
// HTTP scrapes.
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "libs/core/subprocess.h"

namespace vlarft::testing {

using ChildProcess = core::Subprocess;
using core::ReadJsonInt;
using core::WaitForFile;

// A fresh directory under the test temp dir, unique per call.
std::string MakeTempDir(const std::string& stem);

// Path of a project executable built into build/bin (from $VLARFT_BIN_DIR, set by CTest).
std::string BinaryPath(const std::string& name);

// A plain HTTP/1.0 GET against 127.0.0.1:port; returns the body of a 200 response.
absl::StatusOr<std::string> HttpGet(int port, const std::string& path, absl::Duration timeout);

}  // namespace vlarft::testing
