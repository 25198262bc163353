#include "libs/data/demo_dataset.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "libs/core/status.h"
#include "libs/data/hdf5_handle.h"
#include "libs/data/hdf5_io.h"
#include "libs/data/resize.h"
#include "nlohmann/json.hpp"

namespace vlarft::data {
namespace fs = std::filesystem;
namespace {

// ---- writing ----

absl::Status WriteEpisode(hid_t data, int index, const Episode& e, const CompressedFrames& frames) {
  const std::string name = absl::StrCat("demo_", index);
  H5Handle demo = CreateGroup(data, name);
  H5Handle obs = demo.valid() ? CreateGroup(demo.get(), "obs") : H5Handle();
  if (!obs.valid()) return absl::DataLossError(absl::StrCat("cannot create group data/", name));
  const hsize_t t = static_cast<hsize_t>(e.length);
  std::vector<float> ee(e.length * 6), grip(e.length * 2);
  std::vector<uint8_t> dones(e.length, 0), rewards(e.length, 0);
  for (int64_t k = 0; k < e.length; ++k) {
    std::copy(e.state(k), e.state(k) + 6, ee.begin() + k * 6);
    std::copy(e.state(k) + 6, e.state(k) + 8, grip.begin() + k * 2);
  }
  if (e.length > 0) dones.back() = 1, rewards.back() = 1;  // kept demos end in success (robomimic convention)
  // Low-dimensional arrays stay contiguous: a chunked dataset costs a few KiB of index per demo,
  // more than deflate saves on a few hundred floats.
  VLARFT_RETURN_IF_ERROR(WriteIntAttribute(demo.get(), "num_samples", e.length));
  VLARFT_RETURN_IF_ERROR(WriteArray(demo.get(), "actions", H5T_NATIVE_FLOAT, {t, kActionDim}, e.actions.data(), false));
  VLARFT_RETURN_IF_ERROR(WriteArray(demo.get(), "dones", H5T_NATIVE_UINT8, {t}, dones.data(), false));
  VLARFT_RETURN_IF_ERROR(WriteArray(demo.get(), "rewards", H5T_NATIVE_UINT8, {t}, rewards.data(), false));
  VLARFT_RETURN_IF_ERROR(WriteCompressedFrames(obs.get(), "agentview_rgb", frames));
  VLARFT_RETURN_IF_ERROR(WriteArray(obs.get(), "ee_states", H5T_NATIVE_FLOAT, {t, 6}, ee.data(), false));
  VLARFT_RETURN_IF_ERROR(WriteArray(obs.get(), "gripper_states", H5T_NATIVE_FLOAT, {t, 2}, grip.data(), false));
  return absl::OkStatus();
}

absl::Status CheckEpisodeBuffers(const Episode& e, int index) {
  const size_t t = static_cast<size_t>(e.length);
  if (e.length < 0 || e.size < 1 || e.actions.size() != t * kActionDim || e.proprio.size() != t * kProprioDim ||
      e.frames.size() != t * e.size * e.size * 3) {
    return absl::InvalidArgumentError(absl::StrCat("episode ", index, ": buffers do not match length ", e.length,
                                                   " and frame size ", e.size));
  }
  return absl::OkStatus();
}

// ---- reading ----

// "<file>: <field>: <message>", keeping the code.
absl::Status AtField(const std::string& path, const std::string& field, const absl::Status& s) {
  return absl::Status(s.code(), absl::StrCat(path, ": ", field, ": ", s.message()));
}

absl::Status Malformed(const std::string& path, const std::string& field, const std::string& what) {
  return absl::InvalidArgumentError(absl::StrCat(path, ": ", field, ": ", what));
}

std::string Shape(const std::vector<hsize_t>& dims) {
  std::string s = "[";
  for (size_t i = 0; i < dims.size(); ++i) absl::StrAppend(&s, i ? ", " : "", dims[i]);
  return s + "]";
}

// Reads a float dataset of shape [T, width] (`min_width` .. `max_width`) below `group`.
absl::StatusOr<std::vector<float>> ReadRows(const std::string& path, hid_t group, const std::string& field_prefix,
                                            const std::string& name, int64_t length, size_t min_width,
                                            size_t max_width, size_t* width) {
  const std::string field = field_prefix + "/" + name;
  ArrayInfo info;
  absl::StatusOr<std::vector<float>> rows = ReadFloatArray(group, name, &info);
  if (!rows.ok()) {
    return rows.status().code() == absl::StatusCode::kDataLoss ? AtField(path, field, rows.status())
                                                                : Malformed(path, field, std::string(rows.status().message()));
  }
  if (info.dims.size() != 2 || info.dims[1] < min_width || info.dims[1] > max_width) {
    return Malformed(path, field, absl::StrCat("shape ", Shape(info.dims), "; expected [T, ",
                                               min_width == max_width ? absl::StrCat(min_width) : absl::StrCat(min_width, "..", max_width), "]"));
  }
  if (length >= 0 && static_cast<int64_t>(info.dims[0]) != length) {
    return Malformed(path, field, absl::StrCat("has ", info.dims[0], " steps but actions has ", length));
  }
  *width = info.dims[1];
  return rows;
}

bool Exists(hid_t group, const char* name) { return H5Lexists(group, name, H5P_DEFAULT) > 0; }

// The end-effector pose [T, >= 3]: `ee_states` (position + axis-angle), or, in files that store
// the two halves apart (LIBERO keeps both), `ee_pos` [T, 3] beside `ee_ori` [T, 3].
absl::StatusOr<std::vector<float>> ReadEndEffector(const std::string& path, hid_t obs, const std::string& obs_where,
                                                   int64_t length, size_t* width) {
  if (Exists(obs, "ee_states")) return ReadRows(path, obs, obs_where, "ee_states", length, 3, 64, width);
  if (!Exists(obs, "ee_pos") || !Exists(obs, "ee_ori")) {
    return Malformed(path, obs_where + "/ee_states", "is missing, and there is no ee_pos + ee_ori pair to build it from");
  }
  size_t pos_width = 0, ori_width = 0;
  VLARFT_ASSIGN_OR_RETURN(std::vector<float> pos, ReadRows(path, obs, obs_where, "ee_pos", length, 3, 3, &pos_width));
  VLARFT_ASSIGN_OR_RETURN(std::vector<float> ori, ReadRows(path, obs, obs_where, "ee_ori", length, 3, 3, &ori_width));
  std::vector<float> ee(static_cast<size_t>(length) * 6);
  for (int64_t k = 0; k < length; ++k) {
    std::copy(pos.begin() + k * 3, pos.begin() + k * 3 + 3, ee.begin() + k * 6);
    std::copy(ori.begin() + k * 3, ori.begin() + k * 3 + 3, ee.begin() + k * 6 + 3);
  }
  *width = 6;
  return ee;
}

// Checks a camera dataset's shape [T, H, W, 3] against the episode's `length`; returns the size
// frames will have after loading (`image_size`, or the stored size, which must then be square).
absl::StatusOr<int> CheckFrameShape(const std::string& path, const std::string& field, const std::vector<hsize_t>& dims,
                                    int64_t length, int image_size) {
  if (dims.size() != 4 || dims[3] != 3 || dims[1] == 0 || dims[2] == 0) {
    return Malformed(path, field, absl::StrCat("shape ", Shape(dims), "; expected [T, H, W, 3]"));
  }
  if (static_cast<int64_t>(dims[0]) != length) {
    return Malformed(path, field, absl::StrCat("has ", dims[0], " frames but actions has ", length, " steps"));
  }
  if (image_size <= 0 && dims[1] != dims[2]) {
    return Malformed(path, field, absl::StrCat("frames are ", dims[1], "x", dims[2], "; pass an image size to resize them"));
  }
  return image_size > 0 ? image_size : static_cast<int>(dims[1]);
}

// Camera frames obs/<name> [T, H, W, 3] uint8, rows reversed when the file was written in
// OpenGL's convention (bottom row first), then resized to `size` x `size` (0 = the stored size,
// which must then be square). `*size` receives the final size.
absl::StatusOr<std::vector<uint8_t>> ReadFrames(const std::string& path, hid_t obs, const std::string& obs_where,
                                                const char* name, int64_t length, int image_size, bool flip_rows,
                                                int* size) {
  const std::string field = obs_where + "/" + name;
  ArrayInfo info;
  absl::StatusOr<std::vector<uint8_t>> raw = ReadByteArray(obs, name, &info);
  if (!raw.ok()) {
    return raw.status().code() == absl::StatusCode::kDataLoss ? AtField(path, field, raw.status())
                                                               : Malformed(path, field, std::string(raw.status().message()));
  }
  VLARFT_ASSIGN_OR_RETURN(*size, CheckFrameShape(path, field, info.dims, length, image_size));
  const int h = static_cast<int>(info.dims[1]), w = static_cast<int>(info.dims[2]);
  const size_t row = static_cast<size_t>(w) * 3, frame = row * h;
  if (flip_rows) {
    std::vector<uint8_t> upright(raw->size());
    for (int64_t k = 0; k < length; ++k) {
      for (int y = 0; y < h; ++y) {
        const uint8_t* from = raw->data() + k * frame + static_cast<size_t>(h - 1 - y) * row;
        std::copy(from, from + row, upright.begin() + k * frame + static_cast<size_t>(y) * row);
      }
    }
    *raw = std::move(upright);
  }
  if (*size == h && *size == w) return raw;
  std::vector<uint8_t> frames;
  frames.reserve(static_cast<size_t>(length) * *size * *size * 3);
  for (int64_t k = 0; k < length; ++k) {
    const std::vector<uint8_t> r = ResizeRgb(raw->data() + k * frame, h, w, *size);
    frames.insert(frames.end(), r.begin(), r.end());
  }
  return frames;
}

// How the file stores images (`data/@macros_image_convention`, written by robosuite/LIBERO):
// "opengl" = upside down (the renderer's bottom row first), "opencv" or absent = upright.
absl::StatusOr<bool> StoredUpsideDown(const std::string& path, hid_t data) {
  absl::StatusOr<std::string> convention = ReadStringAttribute(data, "macros_image_convention");
  if (convention.status().code() == absl::StatusCode::kNotFound) return false;
  if (!convention.ok()) return Malformed(path, "data/@macros_image_convention", std::string(convention.status().message()));
  if (*convention == "opengl") return true;
  if (*convention == "opencv") return false;
  return Malformed(path, "data/@macros_image_convention",
                   absl::StrCat("is '", *convention, "'; expected 'opengl' (stored upside down) or 'opencv' (upright)"));
}

absl::StatusOr<Episode> ReadEpisode(const std::string& path, hid_t data, const std::string& name, int image_size,
                                    bool with_frames, bool flip_rows, bool with_wrist) {
  const std::string where = "data/" + name;
  H5Handle demo(H5Gopen2(data, name.c_str(), H5P_DEFAULT), H5Gclose);
  if (!demo.valid()) return Malformed(path, where, "is not a group");
  Episode e;
  size_t width = 0;
  VLARFT_ASSIGN_OR_RETURN(e.actions, ReadRows(path, demo.get(), where, "actions", -1, kActionDim, kActionDim, &width));
  e.length = static_cast<int64_t>(e.actions.size() / kActionDim);
  if (e.length == 0) return Malformed(path, where + "/actions", "has no steps");
  for (float v : e.actions) {
    if (!std::isfinite(v)) return Malformed(path, where + "/actions", "contains non-finite values");
  }
  if (H5Lexists(demo.get(), "obs", H5P_DEFAULT) <= 0) return Malformed(path, where + "/obs", "is missing");
  H5Handle obs(H5Gopen2(demo.get(), "obs", H5P_DEFAULT), H5Gclose);
  if (!obs.valid()) return Malformed(path, where + "/obs", "is not a group");
  const std::string obs_where = where + "/obs";
  size_t ee_width = 0, grip_width = 0;
  VLARFT_ASSIGN_OR_RETURN(std::vector<float> ee, ReadEndEffector(path, obs.get(), obs_where, e.length, &ee_width));
  VLARFT_ASSIGN_OR_RETURN(std::vector<float> grip,
                          ReadRows(path, obs.get(), obs_where, "gripper_states", e.length, 2, 2, &grip_width));
  e.proprio.assign(e.length * kProprioDim, 0.f);
  for (int64_t k = 0; k < e.length; ++k) {
    for (size_t d = 0; d < std::min<size_t>(ee_width, 6); ++d) e.proprio[k * kProprioDim + d] = ee[k * ee_width + d];
    e.proprio[k * kProprioDim + 6] = grip[k * 2];
    e.proprio[k * kProprioDim + 7] = grip[k * 2 + 1];
  }
  // dones/rewards are optional (not needed for learning from demonstrations) but must agree.
  for (const char* optional : {"dones", "rewards"}) {
    if (H5Lexists(demo.get(), optional, H5P_DEFAULT) <= 0) continue;
    absl::StatusOr<ArrayInfo> info = InspectArray(demo.get(), optional);
    if (!info.ok()) return Malformed(path, where + "/" + optional, std::string(info.status().message()));
    if (info->dims.size() != 1 || static_cast<int64_t>(info->dims[0]) != e.length) {
      return Malformed(path, where + "/" + optional, absl::StrCat("shape ", Shape(info->dims), "; expected [", e.length, "]"));
    }
  }

  const std::string frames_field = obs_where + "/agentview_rgb";
  e.file = path;
  e.demo = name;
  if (!with_frames) {
    if (H5Lexists(obs.get(), "agentview_rgb", H5P_DEFAULT) <= 0) return Malformed(path, frames_field, "is missing");
    absl::StatusOr<ArrayInfo> shape = InspectArray(obs.get(), "agentview_rgb");
    if (!shape.ok()) return Malformed(path, frames_field, std::string(shape.status().message()));
    VLARFT_ASSIGN_OR_RETURN(e.size, CheckFrameShape(path, frames_field, shape->dims, e.length, image_size));
    return e;
  }
  VLARFT_ASSIGN_OR_RETURN(e.frames, ReadFrames(path, obs.get(), obs_where, "agentview_rgb", e.length, image_size,
                                               flip_rows, &e.size));
  if (with_wrist && Exists(obs.get(), "eye_in_hand_rgb")) {
    int wrist_size = 0;
    VLARFT_ASSIGN_OR_RETURN(e.wrist_frames, ReadFrames(path, obs.get(), obs_where, "eye_in_hand_rgb", e.length, e.size,
                                                       flip_rows, &wrist_size));
  }
  return e;
}

// demo_<i> group names in numeric order (demo_2 before demo_10).
std::vector<std::string> DemoNames(hid_t data) {
  std::vector<std::pair<int64_t, std::string>> found;
  H5G_info_t group_info;
  if (H5Gget_info(data, &group_info) < 0) return {};
  for (hsize_t i = 0; i < group_info.nlinks; ++i) {
    const ssize_t n = H5Lget_name_by_idx(data, ".", H5_INDEX_NAME, H5_ITER_INC, i, nullptr, 0, H5P_DEFAULT);
    if (n <= 0) continue;
    std::string name(static_cast<size_t>(n) + 1, '\0');
    H5Lget_name_by_idx(data, ".", H5_INDEX_NAME, H5_ITER_INC, i, name.data(), name.size(), H5P_DEFAULT);
    name.resize(static_cast<size_t>(n));
    int64_t index = 0;
    if (absl::StartsWith(name, "demo_") && absl::SimpleAtoi(name.substr(5), &index)) found.push_back({index, name});
  }
  std::sort(found.begin(), found.end());
  std::vector<std::string> names;
  for (auto& [index, name] : found) names.push_back(std::move(name));
  return names;
}

}  // namespace

absl::Status WriteTaskFile(const std::string& path, const TaskDemos& demos) {
  std::vector<CompressedFrames> frames;  // the expensive part, outside the HDF5 lock
  std::vector<float> all_actions;
  for (size_t i = 0; i < demos.episodes.size(); ++i) {
    const Episode& e = demos.episodes[i];
    VLARFT_RETURN_IF_ERROR(CheckEpisodeBuffers(e, static_cast<int>(i)));
    frames.push_back(CompressFrames(e.frames.data(), e.length, e.size, e.size));
    all_actions.insert(all_actions.end(), e.actions.begin(), e.actions.end());
  }
  const nlohmann::json info = {{"problem_name", demos.task},
                               {"language_instruction", demos.instruction},
                               {"suite", demos.suite},
                               {"task", demos.task}};
  const std::string action_stats = StatsToJson(ComputeStats(all_actions, kActionDim)).dump();

  std::error_code ec;
  if (fs::path(path).has_parent_path()) fs::create_directories(fs::path(path).parent_path(), ec);
  const std::string tmp = path + ".tmp";
  auto lock = Hdf5Lock();
  SilenceHdf5Errors quiet;
  {
    H5Handle file(H5Fcreate(tmp.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT), H5Fclose);
    if (!file.valid()) return absl::PermissionDeniedError(absl::StrCat("cannot create ", tmp));
    H5Handle data = CreateGroup(file.get(), "data");
    if (!data.valid()) return absl::DataLossError(absl::StrCat(tmp, ": cannot create group data"));
    int64_t total = 0;
    for (size_t i = 0; i < demos.episodes.size(); ++i) {
      absl::Status s = WriteEpisode(data.get(), static_cast<int>(i), demos.episodes[i], frames[i]);
      if (!s.ok()) return AtField(tmp, absl::StrCat("data/demo_", i), s);
      total += demos.episodes[i].length;
    }
    VLARFT_RETURN_IF_ERROR(WriteStringAttribute(data.get(), "problem_info", info.dump()));
    VLARFT_RETURN_IF_ERROR(WriteStringAttribute(data.get(), "env_args", demos.env_args_json));
    VLARFT_RETURN_IF_ERROR(WriteStringAttribute(data.get(), "macros_image_convention", "opencv"));  // upright
    VLARFT_RETURN_IF_ERROR(WriteStringAttribute(data.get(), "action_stats", action_stats));
    VLARFT_RETURN_IF_ERROR(WriteIntAttribute(data.get(), "total", total));
    VLARFT_RETURN_IF_ERROR(WriteIntAttribute(data.get(), "num_demos", static_cast<int64_t>(demos.episodes.size())));
    if (H5Fflush(file.get(), H5F_SCOPE_LOCAL) < 0) return absl::DataLossError(absl::StrCat("cannot flush ", tmp));
  }
  fs::rename(tmp, path, ec);
  if (ec) return absl::PermissionDeniedError(absl::StrCat("cannot rename ", tmp, " to ", path, ": ", ec.message()));
  return absl::OkStatus();
}

absl::StatusOr<Episode> ReadDemoEpisode(const std::string& path, const std::string& demo, int image_size,
                                        bool with_wrist) {
  if (!fs::exists(path)) return absl::NotFoundError(absl::StrCat(path, ": no such file"));
  auto lock = Hdf5Lock();
  SilenceHdf5Errors quiet;
  H5Handle file(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), H5Fclose);
  if (!file.valid()) return absl::DataLossError(absl::StrCat(path, ": HDF5 cannot open it"));
  H5Handle data(H5Gopen2(file.get(), "data", H5P_DEFAULT), H5Gclose);
  if (!data.valid()) return Malformed(path, "data", "is not a group");
  if (H5Lexists(data.get(), demo.c_str(), H5P_DEFAULT) <= 0) return Malformed(path, "data/" + demo, "is missing");
  VLARFT_ASSIGN_OR_RETURN(const bool upside_down, StoredUpsideDown(path, data.get()));
  return ReadEpisode(path, data.get(), demo, image_size, /*with_frames=*/true, upside_down, with_wrist);
}

absl::StatusOr<std::vector<Episode>> ReadTaskFile(const std::string& path, int image_size, bool with_frames,
                                                  bool with_wrist) {
  if (!fs::exists(path)) return absl::NotFoundError(absl::StrCat(path, ": no such file"));
  auto lock = Hdf5Lock();
  SilenceHdf5Errors quiet;
  if (H5Fis_hdf5(path.c_str()) <= 0) return absl::DataLossError(absl::StrCat(path, ": not an HDF5 file"));
  H5Handle file(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), H5Fclose);
  if (!file.valid()) return absl::DataLossError(absl::StrCat(path, ": HDF5 cannot open it"));
  if (H5Lexists(file.get(), "data", H5P_DEFAULT) <= 0) return Malformed(path, "data", "group is missing");
  H5Handle data(H5Gopen2(file.get(), "data", H5P_DEFAULT), H5Gclose);
  if (!data.valid()) return Malformed(path, "data", "is not a group");

  absl::StatusOr<std::string> problem_info = ReadStringAttribute(data.get(), "problem_info");
  if (!problem_info.ok()) return Malformed(path, "data", std::string(problem_info.status().message()));
  const nlohmann::json info = nlohmann::json::parse(*problem_info, nullptr, /*allow_exceptions=*/false);
  if (!info.is_object()) return Malformed(path, "data/@problem_info", "is not a JSON object");
  if (!info.contains("language_instruction") || !info["language_instruction"].is_string() ||
      info["language_instruction"].get<std::string>().empty()) {
    return Malformed(path, "data/@problem_info", "has no language_instruction");
  }
  auto text = [&](const char* key, const std::string& fallback) {
    return info.contains(key) && info[key].is_string() ? info[key].get<std::string>() : fallback;
  };
  const std::string instruction = info["language_instruction"].get<std::string>();
  const std::string suite = text("suite", fs::path(path).parent_path().filename().string());
  std::string task = fs::path(path).stem().string();
  if (absl::EndsWith(task, "_demo")) task.resize(task.size() - 5);
  task = text("task", task);

  VLARFT_ASSIGN_OR_RETURN(const bool upside_down, StoredUpsideDown(path, data.get()));
  const std::vector<std::string> names = DemoNames(data.get());
  if (names.empty()) return Malformed(path, "data", "has no demo_<i> groups");
  std::vector<Episode> episodes;
  for (const std::string& name : names) {
    VLARFT_ASSIGN_OR_RETURN(Episode e, ReadEpisode(path, data.get(), name, image_size, with_frames, upside_down, with_wrist));
    e.suite = suite, e.task = task, e.instruction = instruction;
    episodes.push_back(std::move(e));
  }
  return episodes;
}

absl::StatusOr<DemoDataset> LoadDemoDirectory(const std::string& dir, const std::vector<std::string>& suites,
                                              int image_size, int max_per_task, bool with_frames) {
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
  if (files.empty()) {
    return absl::NotFoundError(absl::StrCat("no *_demo.hdf5 files under ", dir,
                                            suites.empty() ? "" : " in the requested suites"));
  }
  DemoDataset dataset;
  dataset.image_size = image_size;
  for (const std::string& f : files) {
    VLARFT_ASSIGN_OR_RETURN(std::vector<Episode> episodes, ReadTaskFile(f, image_size, with_frames));
    if (max_per_task > 0 && static_cast<int>(episodes.size()) > max_per_task) episodes.resize(max_per_task);
    if (dataset.image_size <= 0) dataset.image_size = episodes[0].size;
    for (Episode& e : episodes) {
      if (e.size != dataset.image_size) {
        return absl::InvalidArgumentError(absl::StrCat(f, ": frames are ", e.size, "x", e.size, " but earlier files are ",
                                                       dataset.image_size, "x", dataset.image_size,
                                                       "; pass an image size to resize all of them"));
      }
      dataset.episodes.push_back(std::move(e));
    }
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
