// Human-readable durations for progress lines ("elapsed 0:12:05  ETA 0:03:10").
#pragma once

#include <string>

namespace vlarft::core {

// H:MM:SS, whole seconds; negative durations (an ETA overshoot) print as 0:00:00.
std::string FormatClock(double seconds);

}  // namespace vlarft::core
