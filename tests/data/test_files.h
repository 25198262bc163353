// Helpers for the data tests: a fresh temporary directory, generated benchmark demonstrations, and a
// LIBERO-style file written with the raw HDF5 API (so the reader is tested against files it did not
// write).
#pragma once

#include <hdf5.h>
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "libs/data/demo_dataset.h"
#include "libs/data/generate.h"

namespace vlarft::data::testing {

inline std::string FreshDir(const std::string& name) {
  const std::string dir = ::testing::TempDir() + "/vlarft_data_" + name;
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

// Built-in benchmark demonstrations (`suites`, `demos_per_task` each, `image_size` pixels) generated
// into a fresh directory named after `name` and this process — CTest runs a file's tests as separate
// processes, in parallel. Returns the directory.
inline absl::StatusOr<std::string> GenerateDemosForTest(const std::string& name, std::vector<std::string> suites,
                                                        int demos_per_task, int image_size) {
  GenerateOptions options;
  options.out = FreshDir(name + "_" + std::to_string(getpid()));
  options.suites = std::move(suites);
  options.demos_per_task = demos_per_task;
  options.image_size = image_size;
  absl::StatusOr<GenerateSummary> generated = GenerateDemos(options, [](const std::string&) {});
  if (!generated.ok()) return generated.status();
  return options.out;
}

// A synthetic episode whose every value is distinct, so mix-ups show.
inline Episode MakeEpisode(int64_t length, int size, float base) {
  Episode e;
  e.length = length;
  e.size = size;
  for (int64_t t = 0; t < length; ++t) {
    for (int i = 0; i < size * size * 3; ++i) e.frames.push_back(static_cast<uint8_t>((t * 7 + i + static_cast<int>(base)) % 256));
    for (int d = 0; d < kActionDim; ++d) e.actions.push_back(base + t * 0.1f + d);
    for (int d = 0; d < kProprioDim; ++d) e.proprio.push_back(base - d * 0.01f + t);
  }
  return e;
}

// What a hand-written file should contain; tests break one thing at a time. The defaults are the
// types h5py writes for LIBERO: str attributes as variable-length UTF-8, float64 actions.
struct ForeignSpec {
  bool with_problem_info = true;
  std::string problem_info = R"({"problem_name": "libero_kitchen", "language_instruction": "open the top drawer"})";
  bool variable_length_string = true;
  bool utf8 = true;
  std::string image_convention;  // data/@macros_image_convention; "" = not written
  bool with_ee_states = true;
  bool with_ee_pos_ori = false;   // obs/ee_pos [T, 3] = 0.3, obs/ee_ori [T, 3] = -0.2
  bool with_wrist = false;        // obs/eye_in_hand_rgb = 255 - agentview
  hid_t action_type = H5T_NATIVE_DOUBLE;
  std::vector<hsize_t> action_dims = {2, 7};
  std::vector<hsize_t> ee_dims = {2, 6};
  bool with_gripper = true;
  hid_t frame_type = H5T_NATIVE_UINT8;
  std::vector<hsize_t> frame_dims = {2, 16, 12, 3};
  std::vector<hsize_t> dones_dims = {2};
};

inline void WriteForeignFile(const std::string& path, const ForeignSpec& spec) {
  hid_t file = H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  hid_t data = H5Gcreate2(file, "data", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  auto write_string = [&](const char* name, const std::string& value) {
    hid_t str = H5Tcopy(H5T_C_S1);
    hid_t scalar = H5Screate(H5S_SCALAR);
    const char* text = value.c_str();
    H5Tset_size(str, spec.variable_length_string ? H5T_VARIABLE : value.size() + 4);
    H5Tset_cset(str, spec.utf8 ? H5T_CSET_UTF8 : H5T_CSET_ASCII);
    hid_t attr = H5Acreate2(data, name, str, scalar, H5P_DEFAULT, H5P_DEFAULT);
    if (spec.variable_length_string) {
      H5Awrite(attr, str, &text);
    } else {
      std::string padded = value + std::string(4, '\0');
      H5Awrite(attr, str, padded.data());
    }
    H5Aclose(attr), H5Sclose(scalar), H5Tclose(str);
  };
  if (spec.with_problem_info) write_string("problem_info", spec.problem_info);
  if (!spec.image_convention.empty()) write_string("macros_image_convention", spec.image_convention);
  write_string("bddl_file_content", "(define (problem LIBERO) ; caf\u00e9)");  // ignored, not ASCII
  hid_t demo = H5Gcreate2(data, "demo_0", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  hid_t obs = H5Gcreate2(demo, "obs", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  auto write = [](hid_t g, const char* name, hid_t type, const std::vector<hsize_t>& dims, double fill) {
    size_t n = 1;
    for (hsize_t d : dims) n *= d;
    std::vector<double> values(n, fill);
    hid_t space = H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr);
    hid_t set = H5Dcreate2(g, name, type, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    H5Dwrite(set, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, values.data());  // HDF5 converts
    H5Dclose(set), H5Sclose(space);
  };
  write(demo, "actions", spec.action_type, spec.action_dims, 0.5);
  write(demo, "dones", H5T_NATIVE_UINT8, spec.dones_dims, 0);
  const hsize_t steps = spec.action_dims[0];
  if (spec.with_ee_states) write(obs, "ee_states", H5T_NATIVE_DOUBLE, spec.ee_dims, 0.1);
  if (spec.with_ee_pos_ori) {
    write(obs, "ee_pos", H5T_NATIVE_DOUBLE, {steps, 3}, 0.3);
    write(obs, "ee_ori", H5T_NATIVE_DOUBLE, {steps, 3}, -0.2);
  }
  if (spec.with_gripper) write(obs, "gripper_states", H5T_NATIVE_DOUBLE, {steps, 2}, 0.02);
  write(obs, "joint_states", H5T_NATIVE_DOUBLE, {steps, 7}, 0.0);  // LIBERO extra, ignored
  write(demo, "states", H5T_NATIVE_DOUBLE, {steps, 79}, 0.0);      // LIBERO extra, ignored
  // Frames: stored pixel value = 10 * stored row + 1 (a vertical ramp, so orientation shows); the
  // wrist camera stores 255 minus that.
  auto write_frames = [&](const char* name, bool inverted) {
    if (spec.frame_dims.size() != 4 || spec.frame_type != H5T_NATIVE_UINT8) {
      write(obs, name, spec.frame_type, spec.frame_dims, 200);  // a malformed-shape or -dtype case
      return;
    }
    std::vector<uint8_t> pixels;
    for (hsize_t t = 0; t < spec.frame_dims[0]; ++t) {
      for (hsize_t y = 0; y < spec.frame_dims[1]; ++y) {
        for (hsize_t i = 0; i < spec.frame_dims[2] * 3; ++i) {
          const auto v = static_cast<uint8_t>((10 * y + 1) % 256);
          pixels.push_back(inverted ? static_cast<uint8_t>(255 - v) : v);
        }
      }
    }
    hid_t space = H5Screate_simple(4, spec.frame_dims.data(), nullptr);
    hid_t set = H5Dcreate2(obs, name, H5T_NATIVE_UINT8, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    H5Dwrite(set, H5T_NATIVE_UINT8, H5S_ALL, H5S_ALL, H5P_DEFAULT, pixels.data());
    H5Dclose(set), H5Sclose(space);
  };
  write_frames("agentview_rgb", false);
  if (spec.with_wrist) write_frames("eye_in_hand_rgb", true);
  H5Gclose(obs), H5Gclose(demo), H5Gclose(data), H5Fclose(file);
}

}  // namespace vlarft::data::testing
