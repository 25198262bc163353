// Progress lines for long commands (evaluation, data generation, studies): at most one line per
// interval (10 s by default) with done/total, rate and ETA, e.g.
//   [data generate] 620/2000 demos (31.0%), 4.12/s, 0:02:30 elapsed, ETA 0:05:35
// so a user watching a terminal or a log always knows the command is alive and how long is left.
#pragma once

#include <cstdint>
#include <functional>
#include <mutex>
#include <string>

namespace vlarft::core {

struct ProgressMeterOptions {
  std::string label;             // "[label] " starts every line (none when empty)
  std::string unit = "steps";    // what `done` counts
  int64_t total = 0;             // > 0
  double interval_seconds = 10;  // the least time between two lines
};

class ProgressMeter {
 public:
  using Sink = std::function<void(const std::string&)>;
  using Clock = std::function<double()>;  // monotonic seconds

  // Prints through `sink` (default: stdout, flushed). `clock` is for tests (default: steady clock).
  explicit ProgressMeter(ProgressMeterOptions options, Sink sink = nullptr, Clock clock = nullptr);

  // `done` of total are finished. Prints a line when the interval has passed since the previous
  // line (or the start), and once when `done` reaches total. `detail` is appended ("reward 0.12").
  // Safe to call from several threads.
  void Update(int64_t done, const std::string& detail = "");

  // The line Update would print at `elapsed` seconds.
  std::string Line(int64_t done, double elapsed, const std::string& detail) const;

 private:
  ProgressMeterOptions options_;
  Sink sink_;
  Clock clock_;
  double start_ = 0;
  std::mutex mu_;
  double last_line_ = 0;
  bool finished_ = false;
};

}  // namespace vlarft::core
