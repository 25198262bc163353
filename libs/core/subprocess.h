// Child processes for launchers and integration tests: started with posix_spawn in their own
// process group, stdout+stderr captured to a log file, waited for with a bound, and killed (SIGKILL
// to the whole group) by the destructor, so nothing outlives its owner by accident.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace vlarft::core {

class Subprocess {
 public:
  // Starts `argv[0]` (a path) with `argv`; output goes to `log_path` (appended when `append`).
  static absl::StatusOr<Subprocess> Start(const std::vector<std::string>& argv, const std::string& log_path,
                                          bool append = false);

  Subprocess(Subprocess&& other) noexcept;
  Subprocess& operator=(Subprocess&& other) noexcept;
  Subprocess(const Subprocess&) = delete;
  Subprocess& operator=(const Subprocess&) = delete;
  ~Subprocess();  // SIGKILLs and reaps the process if still running

  pid_t pid() const { return pid_; }
  void Signal(int sig) const;
  // Exit status (WEXITSTATUS, or 128 + signal) once it exits within `timeout`; nullopt otherwise.
  std::optional<int> WaitFor(absl::Duration timeout);
  bool running();
  std::string ReadLog() const;
  const std::string& log_path() const { return log_path_; }

 private:
  Subprocess(pid_t pid, std::string log_path) : pid_(pid), log_path_(std::move(log_path)) {}
  pid_t pid_ = -1;
  std::string log_path_;
  std::optional<int> exit_code_;
};

// Waits until `path` exists and is non-empty, up to `timeout`; returns its contents.
absl::StatusOr<std::string> WaitForFile(const std::string& path, absl::Duration timeout);

// A loopback TCP port nothing listens on right now (bind to port 0, read it, close). Another
// process may take it before the caller binds, so use it where a retry is possible.
absl::StatusOr<int> FreeLoopbackPort();

// Reads an integer field from a flat JSON object such as a ready file ({"port": 123, ...}).
absl::StatusOr<int> ReadJsonInt(const std::string& json, const std::string& key);

}  // namespace vlarft::core
