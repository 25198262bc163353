// Helpers for the data tests: a fresh temporary directory and a LIBERO-style file written with the
// raw HDF5 API (so the reader is tested against files it did not write).
#pragma once

#include <hdf5.h>

#include <filesystem>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "libs/data/demo_dataset.h"

namespace vlarft::data::testing {

inline std::string FreshDir(const std::string& name) {
  const std::string dir = ::testing::TempDir() + "/vlarft_data_" + name;
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
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

// What a hand-written file should contain; tests break one thing at a time.
struct ForeignSpec {
  bool with_problem_info = true;
  std::string problem_info = R"({"problem_name": "libero_kitchen", "language_instruction": "open the top drawer"})";
  bool variable_length_string = true;
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
  if (spec.with_problem_info) {
    hid_t str = H5Tcopy(H5T_C_S1);
    hid_t scalar = H5Screate(H5S_SCALAR);
    const char* info = spec.problem_info.c_str();
    H5Tset_size(str, spec.variable_length_string ? H5T_VARIABLE : spec.problem_info.size() + 4);
    hid_t attr = H5Acreate2(data, "problem_info", str, scalar, H5P_DEFAULT, H5P_DEFAULT);
    if (spec.variable_length_string) {
      H5Awrite(attr, str, &info);
    } else {
      std::string padded = spec.problem_info + std::string(4, '\0');
      H5Awrite(attr, str, padded.data());
    }
    H5Aclose(attr), H5Sclose(scalar), H5Tclose(str);
  }
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
  write(obs, "ee_states", H5T_NATIVE_FLOAT, spec.ee_dims, 0.1);
  if (spec.with_gripper) write(obs, "gripper_states", H5T_NATIVE_FLOAT, {spec.action_dims[0], 2}, 0.02);
  write(obs, "joint_states", H5T_NATIVE_FLOAT, {spec.action_dims[0], 7}, 0.0);  // LIBERO extra, ignored
  write(obs, "agentview_rgb", spec.frame_type, spec.frame_dims, 200);
  H5Gclose(obs), H5Gclose(demo), H5Gclose(data), H5Fclose(file);
}

}  // namespace vlarft::data::testing
