// Demonstrations in LIBERO's HDF5 layout (DESIGN.md §7), the same reader for the built-in
// benchmark's files and real LIBERO files:
//   <dir>/<suite>/<task>_demo.hdf5
//     /data                       attrs: problem_info (JSON with "language_instruction"), env_args (JSON), total
//     /data/demo_<i>/actions      float32|float64 [T, 7]
//     /data/demo_<i>/obs/agentview_rgb   uint8 [T, H, W, 3]   (any H, W: resized on load)
//     /data/demo_<i>/obs/ee_states       float [T, 6]
//     /data/demo_<i>/obs/gripper_states  float [T, 2]
//     /data/demo_<i>/dones, rewards      [T]
// Frames are observations before each action. Plain C++ (no LibTorch).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace vlarft::data {

constexpr int kActionDim = 7;
constexpr int kProprioDim = 8;  // ee_states (6) + gripper_states (2)

struct Episode {
  std::string suite, task, instruction;
  int64_t length = 0;          // T
  int size = 64;               // frames are size x size RGB
  std::vector<uint8_t> frames; // T * size * size * 3
  std::vector<float> actions;  // T * 7
  std::vector<float> proprio;  // T * 8

  const uint8_t* frame(int64_t t) const { return frames.data() + t * size * size * 3; }
  const float* action(int64_t t) const { return actions.data() + t * kActionDim; }
  const float* state(int64_t t) const { return proprio.data() + t * kProprioDim; }
};

struct RangeStats {
  std::vector<double> min, max, mean, std;
};
RangeStats ComputeStats(const std::vector<const float*>& rows, int dims);

// All demos of one task, to write.
struct TaskDemos {
  std::string suite, task, instruction;
  std::string env_args_json = "{}";
  std::vector<Episode> episodes;
};

// Writes one task's file (chunked, shuffled, gzip-compressed frames).
absl::Status WriteTaskFile(const std::string& path, const TaskDemos& demos);

// Reads one task's file, resizing frames to `image_size` (0 = keep the stored size; all demos
// must then share it). Errors name the file and the missing or malformed field.
absl::StatusOr<std::vector<Episode>> ReadTaskFile(const std::string& path, int image_size);

struct DemoDataset {
  std::vector<Episode> episodes;
  RangeStats actions, proprio;
  int image_size = 64;
};

// Loads every *_demo.hdf5 under `dir` (recursively), optionally only the given suites (the parent
// directory name), at most `max_per_task` demos per file (0 = all).
absl::StatusOr<DemoDataset> LoadDemoDirectory(const std::string& dir, const std::vector<std::string>& suites,
                                              int image_size, int max_per_task = 0);

// Bilinear resize of RGB uint8 [h][w][3] to [size][size][3].
std::vector<uint8_t> ResizeRgb(const uint8_t* pixels, int height, int width, int size);

}  // namespace vlarft::data
