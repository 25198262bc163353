#include "libs/core/clock_format.h"

#include <algorithm>
#include <cstdint>

#include "absl/strings/str_format.h"

namespace vlarft::core {

std::string FormatClock(double seconds) {
  const int64_t s = static_cast<int64_t>(std::max(0.0, seconds));
  return absl::StrFormat("%d:%02d:%02d", s / 3600, (s / 60) % 60, s % 60);
}

}  // namespace vlarft::core
