// Demonstrations in LIBERO's HDF5 layout (docs/benchmark.md): one reader for the built-in benchmark's
// files and real LIBERO files.
//   <dir>/<suite>/<task>_demo.hdf5
//     /data                         attrs: problem_info (JSON string with "language_instruction"),
//                                          env_args (JSON string), total (steps in the file),
//                                          action_stats (JSON string, ours only)
//     /data/demo_<i>                attrs: num_samples
//     /data/demo_<i>/actions        float32 (ours) | float64 (LIBERO)  [T, 7]
//     /data/demo_<i>/obs/agentview_rgb    uint8 [T, H, W, 3]   (any H, W: resized on load)
//     /data/demo_<i>/obs/ee_states        float [T, 6]   (>= 3 accepted; position first)
//     /data/demo_<i>/obs/gripper_states   float [T, 2]
//     /data/demo_<i>/dones, rewards       [T]  (1 at the last step; optional on read)
// obs[t] is the observation before actions[t]. Frames are row-major RGB as rendered (LIBERO's own
// files store agentview upside down; they are read as stored). Plain C++ (no LibTorch).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "libs/data/stats.h"

namespace vlarft::data {

constexpr int kActionDim = 7;
constexpr int kProprioDim = 8;  // ee_states (6) + gripper_states (2)

struct Episode {
  std::string suite, task, instruction;
  int64_t length = 0;           // T
  int size = 64;                // frames are size x size RGB
  std::vector<uint8_t> frames;  // T * size * size * 3, upright (row 0 = top), agentview camera
  // The wrist camera (obs/eye_in_hand_rgb), same layout and size; empty unless asked for and present.
  std::vector<uint8_t> wrist_frames;
  std::vector<float> actions;   // T * 7
  std::vector<float> proprio;   // T * 8: ee_states[0..6) then gripper_states[0..2)
  // Where it was read from (empty for episodes made in memory): an index loaded without frames
  // reads them from here on demand (ReadDemoEpisode).
  std::string file, demo;

  const uint8_t* frame(int64_t t) const { return frames.data() + t * size * size * 3; }
  const float* action(int64_t t) const { return actions.data() + t * kActionDim; }
  const float* state(int64_t t) const { return proprio.data() + t * kProprioDim; }
};

// All demos of one task, to write.
struct TaskDemos {
  std::string suite, task, instruction;
  std::string env_args_json = "{}";
  std::vector<Episode> episodes;
};

// Writes one task's file atomically (a temporary file renamed into place). Frames are deflated on
// the calling thread before the process-wide HDF5 lock is taken, so several threads writing
// different files compress in parallel.
absl::Status WriteTaskFile(const std::string& path, const TaskDemos& demos);

// Reads one task's file, resizing frames to `image_size` x `image_size` (0 = keep the stored size,
// which must then be square). Errors name the file and the field: NOT_FOUND for a missing file,
// DATA_LOSS for a file HDF5 cannot open or decode, INVALID_ARGUMENT for a layout that is not the
// one above (missing dataset or instruction, wrong rank or dtype, lengths that disagree).
// With `with_frames` false the frames are checked for shape but not read: episodes keep their
// size, length, actions and proprio, and `frames` stays empty (an index to stream frames from).
//
// Files written by LIBERO's own scripts (h5py) load as they are (docs/benchmark.md, "Real LIBERO
// files"): string attributes in ASCII or UTF-8, fixed or variable length; float32 or float64
// arrays; images stored in OpenGL's convention (`data/@macros_image_convention` = "opengl",
// bottom row first) are turned upright; the proprio comes from `ee_states` + `gripper_states` or,
// without `ee_states`, from `ee_pos` + `ee_ori` + `gripper_states`; other datasets (joint_states,
// states, robot_states, ...) are ignored. With `with_wrist`, obs/eye_in_hand_rgb is read into
// `wrist_frames` when the file has it.
absl::StatusOr<std::vector<Episode>> ReadTaskFile(const std::string& path, int image_size, bool with_frames = true,
                                                  bool with_wrist = false);

// One demonstration, frames included, of a task file (`demo` is its group name, e.g. "demo_3"),
// with the same checks, orientation and resizing as ReadTaskFile.
absl::StatusOr<Episode> ReadDemoEpisode(const std::string& path, const std::string& demo, int image_size,
                                        bool with_wrist = false);

struct DemoDataset {
  std::vector<Episode> episodes;
  RangeStats actions, proprio;
  int image_size = 64;
};

// Loads every *_demo.hdf5 under `dir` (recursively, in sorted path order), optionally only the
// given suites (the parent directory name), at most `max_per_task` demos per file (0 = all).
// With `with_frames` false, an index: every episode without its frames (ReadTaskFile).
absl::StatusOr<DemoDataset> LoadDemoDirectory(const std::string& dir, const std::vector<std::string>& suites,
                                              int image_size, int max_per_task = 0, bool with_frames = true);

}  // namespace vlarft::data
