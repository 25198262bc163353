#include "libs/core/progress_meter.h"

#include <algorithm>
#include <chrono>
#include <iostream>

#include "absl/strings/str_format.h"
#include "libs/core/clock_format.h"

namespace vlarft::core {
namespace {

double SteadySeconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

}  // namespace

ProgressMeter::ProgressMeter(ProgressMeterOptions options, Sink sink, Clock clock)
    : options_(std::move(options)),
      sink_(sink ? std::move(sink) : [](const std::string& line) { std::cout << line << std::endl; }),
      clock_(clock ? std::move(clock) : SteadySeconds) {
  options_.total = std::max<int64_t>(options_.total, 1);
  start_ = clock_();
  last_line_ = start_;
}

std::string ProgressMeter::Line(int64_t done, double elapsed, const std::string& detail) const {
  const double rate = elapsed > 0 ? done / elapsed : 0;
  const std::string eta = rate > 0 ? FormatClock((options_.total - done) / rate) : "unknown";
  return absl::StrFormat("%s%d/%d %s (%.1f%%), %.3g/s, %s elapsed, ETA %s%s%s",
                         options_.label.empty() ? "" : "[" + options_.label + "] ", done, options_.total,
                         options_.unit, 100.0 * done / options_.total, rate, FormatClock(elapsed), eta,
                         detail.empty() ? "" : ", ", detail);
}

void ProgressMeter::Update(int64_t done, const std::string& detail) {
  const double now = clock_();
  std::string line;
  {
    std::lock_guard<std::mutex> lock(mu_);
    const bool final_line = done >= options_.total && !finished_;
    if (!final_line && now - last_line_ < options_.interval_seconds) return;
    finished_ = finished_ || final_line;
    last_line_ = now;
    line = Line(done, now - start_, detail);
  }
  sink_(line);
}

}  // namespace vlarft::core
