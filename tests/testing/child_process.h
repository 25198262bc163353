// A child process for multi-process integration tests: started with posix_spawn, its stdout and
// stderr captured to a log file, waited for with a bound, and killed (whole process group) by the
// destructor so a failing test never leaves servers behind.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace vlarft::testing {

class ChildProcess {
 public:
  // Starts `argv[0]` (a path) with `argv`; output goes to `log_path`.
  static absl::StatusOr<ChildProcess> Start(const std::vector<std::string>& argv,
                                            const std::string& log_path);

  ChildProcess(ChildProcess&& other) noexcept;
  ChildProcess& operator=(ChildProcess&& other) noexcept;
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;
  ~ChildProcess();  // SIGKILLs and reaps the process if still running

  pid_t pid() const { return pid_; }
  void Signal(int sig) const;
  // Exit status (WEXITSTATUS, or 128 + signal) once it exits within `timeout`; nullopt otherwise.
  std::optional<int> WaitFor(absl::Duration timeout);
  bool running();
  std::string ReadLog() const;

 private:
  ChildProcess(pid_t pid, std::string log_path) : pid_(pid), log_path_(std::move(log_path)) {}
  pid_t pid_ = -1;
  std::string log_path_;
  std::optional<int> exit_code_;
};

// Waits until `path` exists and is non-empty, up to `timeout`; returns its contents.
absl::StatusOr<std::string> WaitForFile(const std::string& path, absl::Duration timeout);

// A fresh directory under the test temp dir, unique per call.
std::string MakeTempDir(const std::string& stem);

// Path of a project executable built into build/bin (from $VLARFT_BIN_DIR, set by CTest).
std::string BinaryPath(const std::string& name);

// A plain HTTP/1.0 GET against 127.0.0.1:port; returns the body of a 200 response.
absl::StatusOr<std::string> HttpGet(int port, const std::string& path, absl::Duration timeout);

// Reads an integer field from a flat JSON ready file ({"port": 123, ...}).
absl::StatusOr<int> ReadJsonInt(const std::string& json, const std::string& key);

}  // namespace vlarft::testing
