#include "libs/data/demo_dataset.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <mutex>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "libs/core/status.h"
#include "libs/data/hdf5_handle.h"
#include "nlohmann/json.hpp"

namespace vlarft::data {
namespace fs = std::filesystem;
namespace {

// libhdf5 as packaged by Debian is not thread-safe; every call goes through this lock.
std::mutex& Hdf5Mutex() {
  static std::mutex* mu = new std::mutex();
  return *mu;
}

absl::Status WriteDataset(hid_t parent, const std::string& name, hid_t type, const std::vector<hsize_t>& dims,
                          const void* data, bool compress) {
  H5Handle space(H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr), H5Sclose);
  H5Handle plist(H5Pcreate(H5P_DATASET_CREATE), H5Pclose);
  if (compress && dims[0] > 0) {
    std::vector<hsize_t> chunk = dims;
    chunk[0] = 1;  // one frame per chunk: random access to any step stays cheap
    H5Pset_chunk(plist.get(), static_cast<int>(chunk.size()), chunk.data());
    H5Pset_shuffle(plist.get());
    H5Pset_deflate(plist.get(), 4);
  }
  H5Handle set(H5Dcreate2(parent, name.c_str(), type, space.get(), H5P_DEFAULT, plist.get(), H5P_DEFAULT), H5Dclose);
  if (!set.valid() || H5Dwrite(set.get(), type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) < 0) {
    return absl::DataLossError(absl::StrCat("cannot write dataset '", name, "'"));
  }
  return absl::OkStatus();
}

absl::Status WriteStringAttribute(hid_t object, const std::string& name, const std::string& value) {
  H5Handle type(H5Tcopy(H5T_C_S1), H5Tclose);
  H5Tset_size(type.get(), std::max<size_t>(1, value.size()));
  H5Handle space(H5Screate(H5S_SCALAR), H5Sclose);
  H5Handle attr(H5Acreate2(object, name.c_str(), type.get(), space.get(), H5P_DEFAULT, H5P_DEFAULT), H5Aclose);
  if (!attr.valid() || H5Awrite(attr.get(), type.get(), value.c_str()) < 0) {
    return absl::DataLossError(absl::StrCat("cannot write attribute '", name, "'"));
  }
  return absl::OkStatus();
}

absl::Status WriteIntAttribute(hid_t object, const std::string& name, int64_t value) {
  H5Handle space(H5Screate(H5S_SCALAR), H5Sclose);
  H5Handle attr(H5Acreate2(object, name.c_str(), H5T_NATIVE_INT64, space.get(), H5P_DEFAULT, H5P_DEFAULT), H5Aclose);
  if (!attr.valid() || H5Awrite(attr.get(), H5T_NATIVE_INT64, &value) < 0) {
    return absl::DataLossError(absl::StrCat("cannot write attribute '", name, "'"));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> ReadStringAttribute(hid_t object, const std::string& name) {
  if (H5Aexists(object, name.c_str()) <= 0) return absl::NotFoundError(absl::StrCat("attribute '", name, "' is missing"));
  H5Handle attr(H5Aopen(object, name.c_str(), H5P_DEFAULT), H5Aclose);
  H5Handle type(H5Aget_type(attr.get()), H5Tclose);
  if (H5Tget_class(type.get()) != H5T_STRING) return absl::InvalidArgumentError(absl::StrCat("attribute '", name, "' is not a string"));
  if (H5Tis_variable_str(type.get()) > 0) {
    char* value = nullptr;
    H5Handle memtype(H5Tcopy(H5T_C_S1), H5Tclose);
    H5Tset_size(memtype.get(), H5T_VARIABLE);
    if (H5Aread(attr.get(), memtype.get(), &value) < 0) return absl::DataLossError(absl::StrCat("cannot read '", name, "'"));
    std::string out = value != nullptr ? value : "";
    H5free_memory(value);
    return out;
  }
  const size_t size = H5Tget_size(type.get());
  std::string out(size, '\0');
  if (H5Aread(attr.get(), type.get(), out.data()) < 0) return absl::DataLossError(absl::StrCat("cannot read '", name, "'"));
  out.resize(std::strlen(out.c_str()));
  return out;
}

// Reads a numeric dataset as float (converting float64), returning its dims.
absl::StatusOr<std::vector<float>> ReadFloats(hid_t group, const std::string& name, std::vector<hsize_t>* dims) {
  if (H5Lexists(group, name.c_str(), H5P_DEFAULT) <= 0) {
    return absl::NotFoundError(absl::StrCat("dataset '", name, "' is missing"));
  }
  H5Handle set(H5Dopen2(group, name.c_str(), H5P_DEFAULT), H5Dclose);
  H5Handle type(H5Dget_type(set.get()), H5Tclose);
  if (H5Tget_class(type.get()) != H5T_FLOAT && H5Tget_class(type.get()) != H5T_INTEGER) {
    return absl::InvalidArgumentError(absl::StrCat("dataset '", name, "' is not numeric"));
  }
  H5Handle space(H5Dget_space(set.get()), H5Sclose);
  const int rank = H5Sget_simple_extent_ndims(space.get());
  dims->assign(rank, 0);
  H5Sget_simple_extent_dims(space.get(), dims->data(), nullptr);
  size_t n = 1;
  for (hsize_t d : *dims) n *= d;
  std::vector<float> out(n);
  if (n > 0 && H5Dread(set.get(), H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, out.data()) < 0) {
    return absl::DataLossError(absl::StrCat("cannot read dataset '", name, "'"));
  }
  return out;
}

std::string Instruction(const std::string& problem_info) {
  const nlohmann::json j = nlohmann::json::parse(problem_info, nullptr, /*allow_exceptions=*/false);
  if (j.is_object() && j.contains("language_instruction") && j["language_instruction"].is_string()) {
    return j["language_instruction"].get<std::string>();
  }
  return "";
}

}  // namespace

RangeStats ComputeStats(const std::vector<const float*>& rows, int dims) {
  RangeStats s;
  s.min.assign(dims, 1e300);
  s.max.assign(dims, -1e300);
  s.mean.assign(dims, 0);
  s.std.assign(dims, 0);
  if (rows.empty()) {
    s.min.assign(dims, 0), s.max.assign(dims, 0);
    return s;
  }
  for (const float* r : rows) {
    for (int d = 0; d < dims; ++d) {
      s.min[d] = std::min<double>(s.min[d], r[d]);
      s.max[d] = std::max<double>(s.max[d], r[d]);
      s.mean[d] += r[d];
    }
  }
  for (double& m : s.mean) m /= rows.size();
  for (const float* r : rows) {
    for (int d = 0; d < dims; ++d) s.std[d] += (r[d] - s.mean[d]) * (r[d] - s.mean[d]);
  }
  for (double& v : s.std) v = std::sqrt(v / rows.size());
  return s;
}

std::vector<uint8_t> ResizeRgb(const uint8_t* pixels, int height, int width, int size) {
  std::vector<uint8_t> out(static_cast<size_t>(size) * size * 3);
  const double sy = static_cast<double>(height) / size, sx = static_cast<double>(width) / size;
  for (int y = 0; y < size; ++y) {
    const double fy = std::clamp((y + 0.5) * sy - 0.5, 0.0, height - 1.0);
    const int y0 = static_cast<int>(fy), y1 = std::min(y0 + 1, height - 1);
    const double wy = fy - y0;
    for (int x = 0; x < size; ++x) {
      const double fx = std::clamp((x + 0.5) * sx - 0.5, 0.0, width - 1.0);
      const int x0 = static_cast<int>(fx), x1 = std::min(x0 + 1, width - 1);
      const double wx = fx - x0;
      for (int c = 0; c < 3; ++c) {
        auto at = [&](int yy, int xx) { return static_cast<double>(pixels[(static_cast<size_t>(yy) * width + xx) * 3 + c]); };
        const double v = (1 - wy) * ((1 - wx) * at(y0, x0) + wx * at(y0, x1)) + wy * ((1 - wx) * at(y1, x0) + wx * at(y1, x1));
        out[(static_cast<size_t>(y) * size + x) * 3 + c] = static_cast<uint8_t>(std::lround(std::clamp(v, 0.0, 255.0)));
      }
    }
  }
  return out;
}

absl::Status WriteTaskFile(const std::string& path, const TaskDemos& demos) {
  std::lock_guard<std::mutex> lock(Hdf5Mutex());
  SilenceHdf5Errors quiet;
  std::error_code ec;
  if (fs::path(path).has_parent_path()) fs::create_directories(fs::path(path).parent_path(), ec);
  const std::string tmp = path + ".tmp";
  {
    H5Handle file(H5Fcreate(tmp.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT), H5Fclose);
    if (!file.valid()) return absl::PermissionDeniedError(absl::StrCat("cannot create ", tmp));
    H5Handle data(H5Gcreate2(file.get(), "data", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), H5Gclose);
    nlohmann::json info = {{"language_instruction", demos.instruction}, {"suite", demos.suite}, {"task", demos.task}};
    VLARFT_RETURN_IF_ERROR(WriteStringAttribute(data.get(), "problem_info", info.dump()));
    VLARFT_RETURN_IF_ERROR(WriteStringAttribute(data.get(), "env_args", demos.env_args_json));
    int64_t total = 0;
    for (size_t i = 0; i < demos.episodes.size(); ++i) {
      const Episode& e = demos.episodes[i];
      const hsize_t t = static_cast<hsize_t>(e.length);
      H5Handle demo(H5Gcreate2(data.get(), absl::StrCat("demo_", i).c_str(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), H5Gclose);
      H5Handle obs(H5Gcreate2(demo.get(), "obs", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), H5Gclose);
      VLARFT_RETURN_IF_ERROR(WriteIntAttribute(demo.get(), "num_samples", e.length));
      VLARFT_RETURN_IF_ERROR(WriteDataset(demo.get(), "actions", H5T_NATIVE_FLOAT, {t, kActionDim}, e.actions.data(), false));
      VLARFT_RETURN_IF_ERROR(WriteDataset(obs.get(), "agentview_rgb", H5T_NATIVE_UINT8,
                                          {t, static_cast<hsize_t>(e.size), static_cast<hsize_t>(e.size), 3}, e.frames.data(), true));
      std::vector<float> ee(e.length * 6), grip(e.length * 2), dones(e.length, 0.f), rewards(e.length, 0.f);
      for (int64_t k = 0; k < e.length; ++k) {
        std::copy(e.state(k), e.state(k) + 6, ee.begin() + k * 6);
        std::copy(e.state(k) + 6, e.state(k) + 8, grip.begin() + k * 2);
      }
      if (e.length > 0) dones.back() = 1.f, rewards.back() = 1.f;
      VLARFT_RETURN_IF_ERROR(WriteDataset(obs.get(), "ee_states", H5T_NATIVE_FLOAT, {t, 6}, ee.data(), false));
      VLARFT_RETURN_IF_ERROR(WriteDataset(obs.get(), "gripper_states", H5T_NATIVE_FLOAT, {t, 2}, grip.data(), false));
      VLARFT_RETURN_IF_ERROR(WriteDataset(demo.get(), "dones", H5T_NATIVE_FLOAT, {t}, dones.data(), false));
      VLARFT_RETURN_IF_ERROR(WriteDataset(demo.get(), "rewards", H5T_NATIVE_FLOAT, {t}, rewards.data(), false));
      total += e.length;
    }
    VLARFT_RETURN_IF_ERROR(WriteIntAttribute(data.get(), "total", total));
  }
  fs::rename(tmp, path, ec);
  if (ec) return absl::PermissionDeniedError(absl::StrCat("cannot rename ", tmp, " to ", path, ": ", ec.message()));
  return absl::OkStatus();
}

absl::StatusOr<std::vector<Episode>> ReadTaskFile(const std::string& path, int image_size) {
  std::lock_guard<std::mutex> lock(Hdf5Mutex());
  SilenceHdf5Errors quiet;
  auto fail = [&](const absl::Status& s, const std::string& where) {
    return absl::Status(s.code(), absl::StrCat(path, where.empty() ? "" : ": " + where, ": ", s.message()));
  };
  if (!fs::exists(path)) return absl::NotFoundError(absl::StrCat(path, ": no such file"));
  if (H5Fis_hdf5(path.c_str()) <= 0) return absl::DataLossError(absl::StrCat(path, ": not an HDF5 file"));
  H5Handle file(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), H5Fclose);
  if (!file.valid()) return absl::DataLossError(absl::StrCat(path, ": cannot open"));
  if (H5Lexists(file.get(), "data", H5P_DEFAULT) <= 0) return absl::DataLossError(absl::StrCat(path, ": group 'data' is missing"));
  H5Handle data(H5Gopen2(file.get(), "data", H5P_DEFAULT), H5Gclose);
  absl::StatusOr<std::string> info = ReadStringAttribute(data.get(), "problem_info");
  if (!info.ok()) return fail(info.status(), "data");
  const std::string instruction = Instruction(*info);
  if (instruction.empty()) return absl::DataLossError(absl::StrCat(path, ": data/problem_info has no language_instruction"));
  const nlohmann::json j = nlohmann::json::parse(*info, nullptr, false);
  const std::string suite = j.is_object() && j.contains("suite") ? j["suite"].get<std::string>()
                                                                 : fs::path(path).parent_path().filename().string();
  std::string task = j.is_object() && j.contains("task") ? j["task"].get<std::string>() : fs::path(path).stem().string();

  // demo_<i> groups, in numeric order.
  std::vector<int> indices;
  H5G_info_t group_info;
  H5Gget_info(data.get(), &group_info);
  for (hsize_t i = 0; i < group_info.nlinks; ++i) {
    char name[256];
    H5Lget_name_by_idx(data.get(), ".", H5_INDEX_NAME, H5_ITER_INC, i, name, sizeof(name), H5P_DEFAULT);
    if (absl::StartsWith(name, "demo_")) indices.push_back(std::atoi(name + 5));
  }
  std::sort(indices.begin(), indices.end());
  if (indices.empty()) return absl::DataLossError(absl::StrCat(path, ": no data/demo_* groups"));

  std::vector<Episode> episodes;
  for (int i : indices) {
    const std::string where = absl::StrCat("data/demo_", i);
    H5Handle demo(H5Gopen2(data.get(), absl::StrCat("demo_", i).c_str(), H5P_DEFAULT), H5Gclose);
    Episode e;
    e.suite = suite, e.task = task, e.instruction = instruction;
    std::vector<hsize_t> dims;
    absl::StatusOr<std::vector<float>> actions = ReadFloats(demo.get(), "actions", &dims);
    if (!actions.ok()) return fail(actions.status(), where);
    if (dims.size() != 2 || dims[1] != kActionDim) {
      return absl::DataLossError(absl::StrCat(path, ": ", where, "/actions must be [T, 7]"));
    }
    e.length = static_cast<int64_t>(dims[0]);
    e.actions = std::move(*actions);
    if (H5Lexists(demo.get(), "obs", H5P_DEFAULT) <= 0) return absl::DataLossError(absl::StrCat(path, ": ", where, "/obs is missing"));
    H5Handle obs(H5Gopen2(demo.get(), "obs", H5P_DEFAULT), H5Gclose);
    absl::StatusOr<std::vector<float>> ee = ReadFloats(obs.get(), "ee_states", &dims);
    if (!ee.ok()) return fail(ee.status(), where + "/obs");
    if (dims.size() != 2 || static_cast<int64_t>(dims[0]) != e.length || dims[1] < 3) {
      return absl::DataLossError(absl::StrCat(path, ": ", where, "/obs/ee_states must be [T, >=3] with T = ", e.length));
    }
    const size_t ee_dim = dims[1];
    absl::StatusOr<std::vector<float>> grip = ReadFloats(obs.get(), "gripper_states", &dims);
    if (!grip.ok()) return fail(grip.status(), where + "/obs");
    if (dims.size() != 2 || static_cast<int64_t>(dims[0]) != e.length || dims[1] != 2) {
      return absl::DataLossError(absl::StrCat(path, ": ", where, "/obs/gripper_states must be [T, 2]"));
    }
    e.proprio.assign(e.length * kProprioDim, 0.f);
    for (int64_t k = 0; k < e.length; ++k) {
      for (size_t d = 0; d < std::min<size_t>(ee_dim, 6); ++d) e.proprio[k * 8 + d] = (*ee)[k * ee_dim + d];
      e.proprio[k * 8 + 6] = (*grip)[k * 2];
      e.proprio[k * 8 + 7] = (*grip)[k * 2 + 1];
    }
    if (H5Lexists(obs.get(), "agentview_rgb", H5P_DEFAULT) <= 0) {
      return absl::DataLossError(absl::StrCat(path, ": ", where, "/obs/agentview_rgb is missing"));
    }
    H5Handle set(H5Dopen2(obs.get(), "agentview_rgb", H5P_DEFAULT), H5Dclose);
    H5Handle space(H5Dget_space(set.get()), H5Sclose);
    H5Handle type(H5Dget_type(set.get()), H5Tclose);
    hsize_t fdims[4] = {0, 0, 0, 0};
    if (H5Sget_simple_extent_ndims(space.get()) != 4 || H5Tget_class(type.get()) != H5T_INTEGER || H5Tget_size(type.get()) != 1) {
      return absl::DataLossError(absl::StrCat(path, ": ", where, "/obs/agentview_rgb must be uint8 [T, H, W, 3]"));
    }
    H5Sget_simple_extent_dims(space.get(), fdims, nullptr);
    if (static_cast<int64_t>(fdims[0]) != e.length || fdims[3] != 3) {
      return absl::DataLossError(absl::StrCat(path, ": ", where, "/obs/agentview_rgb has ", fdims[0], " frames of ",
                                              fdims[3], " channels; expected ", e.length, " RGB frames"));
    }
    std::vector<uint8_t> raw(fdims[0] * fdims[1] * fdims[2] * 3);
    if (!raw.empty() && H5Dread(set.get(), H5T_NATIVE_UINT8, H5S_ALL, H5S_ALL, H5P_DEFAULT, raw.data()) < 0) {
      return absl::DataLossError(absl::StrCat(path, ": ", where, "/obs/agentview_rgb is unreadable"));
    }
    const int h = static_cast<int>(fdims[1]), w = static_cast<int>(fdims[2]);
    e.size = image_size > 0 ? image_size : h;
    if (image_size <= 0 && h != w) {
      return absl::InvalidArgumentError(absl::StrCat(path, ": frames are ", h, "x", w, "; pass an image size to resize"));
    }
    if (e.size == h && e.size == w) {
      e.frames = std::move(raw);
    } else {
      e.frames.reserve(static_cast<size_t>(e.length) * e.size * e.size * 3);
      for (int64_t k = 0; k < e.length; ++k) {
        const std::vector<uint8_t> r = ResizeRgb(raw.data() + static_cast<size_t>(k) * h * w * 3, h, w, e.size);
        e.frames.insert(e.frames.end(), r.begin(), r.end());
      }
    }
    for (float v : e.actions) {
      if (!std::isfinite(v)) return absl::DataLossError(absl::StrCat(path, ": ", where, "/actions contains non-finite values"));
    }
    episodes.push_back(std::move(e));
  }
  return episodes;
}

absl::StatusOr<DemoDataset> LoadDemoDirectory(const std::string& dir, const std::vector<std::string>& suites,
                                              int image_size, int max_per_task) {
  if (!fs::is_directory(dir)) return absl::NotFoundError(absl::StrCat("demonstration directory ", dir, " does not exist"));
  std::vector<std::string> files;
  for (const auto& entry : fs::recursive_directory_iterator(dir)) {
    const std::string name = entry.path().filename().string();
    if (!entry.is_regular_file() || !absl::EndsWith(name, "_demo.hdf5")) continue;
    const std::string suite = entry.path().parent_path().filename().string();
    if (!suites.empty() && std::find(suites.begin(), suites.end(), suite) == suites.end()) continue;
    files.push_back(entry.path().string());
  }
  std::sort(files.begin(), files.end());
  if (files.empty()) return absl::NotFoundError(absl::StrCat("no *_demo.hdf5 files under ", dir));
  DemoDataset dataset;
  dataset.image_size = image_size;
  for (const std::string& f : files) {
    VLARFT_ASSIGN_OR_RETURN(std::vector<Episode> episodes, ReadTaskFile(f, image_size));
    if (max_per_task > 0 && static_cast<int>(episodes.size()) > max_per_task) episodes.resize(max_per_task);
    for (Episode& e : episodes) dataset.episodes.push_back(std::move(e));
  }
  std::vector<const float*> actions, proprio;
  for (const Episode& e : dataset.episodes) {
    for (int64_t t = 0; t < e.length; ++t) actions.push_back(e.action(t)), proprio.push_back(e.state(t));
  }
  dataset.actions = ComputeStats(actions, kActionDim);
  dataset.proprio = ComputeStats(proprio, kProprioDim);
  return dataset;
}

}  // namespace vlarft::data
