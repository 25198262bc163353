#include "libs/data/hdf5_io.h"

#include <zlib.h>

#include <algorithm>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace vlarft::data {
namespace {

constexpr int kDeflateLevel = 6;
constexpr size_t kDeflateWindow = 32 * 1024;
constexpr hsize_t kMaxFramesPerChunk = 16;

std::string ClassName(H5T_class_t c) {
  switch (c) {
    case H5T_INTEGER: return "integer";
    case H5T_FLOAT: return "float";
    case H5T_STRING: return "string";
    case H5T_COMPOUND: return "compound";
    default: return "non-numeric";
  }
}

std::string Describe(const ArrayInfo& info) {
  std::string shape;
  for (size_t i = 0; i < info.dims.size(); ++i) absl::StrAppend(&shape, i ? ", " : "", info.dims[i]);
  return absl::StrCat(ClassName(info.type_class), info.type_size * 8, " [", shape, "]");
}

size_t Elements(const std::vector<hsize_t>& dims) {
  size_t n = 1;
  for (hsize_t d : dims) n *= d;
  return n;
}

}  // namespace

std::unique_lock<std::mutex> Hdf5Lock() {
  static std::mutex* mu = new std::mutex();  // leaked on purpose: usable during static destruction
  return std::unique_lock<std::mutex>(*mu);
}

H5Handle CreateGroup(hid_t parent, const std::string& name) {
  H5Handle plist(H5Pcreate(H5P_GROUP_CREATE), H5Pclose);
  H5Pset_obj_track_times(plist.get(), false);
  return H5Handle(H5Gcreate2(parent, name.c_str(), H5P_DEFAULT, plist.get(), H5P_DEFAULT), H5Gclose);
}

absl::Status WriteArray(hid_t parent, const std::string& name, hid_t type, const std::vector<hsize_t>& dims,
                        const void* data, bool compress) {
  H5Handle space(H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr), H5Sclose);
  H5Handle plist(H5Pcreate(H5P_DATASET_CREATE), H5Pclose);
  H5Pset_obj_track_times(plist.get(), false);  // no timestamps: same demos, same bytes
  if (compress && !dims.empty() && dims[0] > 0) {
    std::vector<hsize_t> chunk = dims;
    chunk[0] = std::min<hsize_t>(dims[0], 1024);
    H5Pset_chunk(plist.get(), static_cast<int>(chunk.size()), chunk.data());
    H5Pset_shuffle(plist.get());  // groups the bytes of floats by significance: deflates better
    H5Pset_deflate(plist.get(), kDeflateLevel);
  }
  H5Handle set(H5Dcreate2(parent, name.c_str(), type, space.get(), H5P_DEFAULT, plist.get(), H5P_DEFAULT), H5Dclose);
  if (!set.valid() || (Elements(dims) > 0 && H5Dwrite(set.get(), type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) < 0)) {
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

CompressedFrames CompressFrames(const uint8_t* frames, int64_t length, int height, int width) {
  CompressedFrames out;
  const size_t frame_bytes = static_cast<size_t>(height) * width * 3;
  const hsize_t t = static_cast<hsize_t>(length);
  out.dims = {t, static_cast<hsize_t>(height), static_cast<hsize_t>(width), 3};
  const hsize_t per_chunk = std::clamp<hsize_t>(frame_bytes < kDeflateWindow ? kMaxFramesPerChunk : 1, 1, std::max<hsize_t>(t, 1));
  out.chunk_dims = {per_chunk, out.dims[1], out.dims[2], 3};
  const size_t chunk_bytes = per_chunk * frame_bytes;
  std::vector<uint8_t> padded;
  for (hsize_t first = 0; first < t; first += per_chunk) {
    // HDF5 stores edge chunks at full size; the part past the last frame is zeros.
    const size_t valid = std::min<hsize_t>(per_chunk, t - first) * frame_bytes;
    const uint8_t* src = frames + first * frame_bytes;
    if (valid < chunk_bytes) {
      padded.assign(chunk_bytes, 0);
      std::memcpy(padded.data(), src, valid);
      src = padded.data();
    }
    uLongf size = compressBound(chunk_bytes);
    std::vector<uint8_t>& chunk = out.chunks.emplace_back(size);
    compress2(chunk.data(), &size, src, chunk_bytes, kDeflateLevel);  // cannot fail: bound-sized output
    chunk.resize(size);
  }
  return out;
}

absl::Status WriteCompressedFrames(hid_t parent, const std::string& name, const CompressedFrames& frames) {
  H5Handle space(H5Screate_simple(4, frames.dims.data(), nullptr), H5Sclose);
  H5Handle plist(H5Pcreate(H5P_DATASET_CREATE), H5Pclose);
  H5Pset_obj_track_times(plist.get(), false);
  // Shuffle is omitted: for 1-byte elements it is the identity.
  if (frames.dims[0] > 0) {
    H5Pset_chunk(plist.get(), 4, frames.chunk_dims.data());
    H5Pset_deflate(plist.get(), kDeflateLevel);
  }
  H5Handle set(H5Dcreate2(parent, name.c_str(), H5T_NATIVE_UINT8, space.get(), H5P_DEFAULT, plist.get(), H5P_DEFAULT),
               H5Dclose);
  if (!set.valid()) return absl::DataLossError(absl::StrCat("cannot create dataset '", name, "'"));
  for (size_t i = 0; i < frames.chunks.size(); ++i) {
    const hsize_t offset[4] = {i * frames.chunk_dims[0], 0, 0, 0};
    if (H5Dwrite_chunk(set.get(), H5P_DEFAULT, /*filters=*/0, offset, frames.chunks[i].size(), frames.chunks[i].data()) < 0) {
      return absl::DataLossError(absl::StrCat("cannot write chunk ", i, " of dataset '", name, "'"));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<ArrayInfo> InspectArray(hid_t group, const std::string& name) {
  if (H5Lexists(group, name.c_str(), H5P_DEFAULT) <= 0) return absl::NotFoundError(absl::StrCat(name, " is missing"));
  H5Handle set(H5Dopen2(group, name.c_str(), H5P_DEFAULT), H5Dclose);
  if (!set.valid()) return absl::InvalidArgumentError(absl::StrCat(name, " is not a dataset"));
  H5Handle type(H5Dget_type(set.get()), H5Tclose);
  H5Handle space(H5Dget_space(set.get()), H5Sclose);
  ArrayInfo info;
  info.type_class = H5Tget_class(type.get());
  info.type_size = H5Tget_size(type.get());
  const int rank = H5Sget_simple_extent_ndims(space.get());
  if (rank < 0) return absl::DataLossError(absl::StrCat(name, " has an unreadable shape"));
  info.dims.assign(rank, 0);
  H5Sget_simple_extent_dims(space.get(), info.dims.data(), nullptr);
  return info;
}

namespace {

template <typename T>
absl::StatusOr<std::vector<T>> ReadArray(hid_t group, const std::string& name, hid_t mem_type, bool (*accept)(const ArrayInfo&),
                                         const char* wanted, ArrayInfo* info) {
  absl::StatusOr<ArrayInfo> inspected = InspectArray(group, name);
  if (!inspected.ok()) return inspected.status();
  *info = *inspected;
  if (!accept(*info)) {
    return absl::InvalidArgumentError(absl::StrCat(name, " is ", Describe(*info), "; expected ", wanted));
  }
  std::vector<T> out(Elements(info->dims));
  H5Handle set(H5Dopen2(group, name.c_str(), H5P_DEFAULT), H5Dclose);
  if (!out.empty() && H5Dread(set.get(), mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, out.data()) < 0) {
    return absl::DataLossError(absl::StrCat(name, " is unreadable (corrupt or compressed with an unavailable filter)"));
  }
  return out;
}

}  // namespace

absl::StatusOr<std::vector<float>> ReadFloatArray(hid_t group, const std::string& name, ArrayInfo* info) {
  return ReadArray<float>(
      group, name, H5T_NATIVE_FLOAT, [](const ArrayInfo& i) { return i.type_class == H5T_FLOAT; }, "float32 or float64",
      info);
}

absl::StatusOr<std::vector<uint8_t>> ReadByteArray(hid_t group, const std::string& name, ArrayInfo* info) {
  return ReadArray<uint8_t>(
      group, name, H5T_NATIVE_UINT8,
      [](const ArrayInfo& i) { return i.type_class == H5T_INTEGER && i.type_size == 1; }, "uint8", info);
}

absl::StatusOr<std::string> ReadStringAttribute(hid_t object, const std::string& name) {
  if (H5Aexists(object, name.c_str()) <= 0) return absl::NotFoundError(absl::StrCat("attribute '", name, "' is missing"));
  H5Handle attr(H5Aopen(object, name.c_str(), H5P_DEFAULT), H5Aclose);
  H5Handle type(H5Aget_type(attr.get()), H5Tclose);
  if (H5Tget_class(type.get()) != H5T_STRING) {
    return absl::InvalidArgumentError(absl::StrCat("attribute '", name, "' is not a string"));
  }
  if (H5Tis_variable_str(type.get()) > 0) {
    char* value = nullptr;
    // The memory type must carry the file's character set: HDF5 refuses to convert between ASCII
    // and UTF-8 strings, and h5py writes every Python str as variable-length UTF-8.
    H5Handle memtype(H5Tcopy(H5T_C_S1), H5Tclose);
    H5Tset_size(memtype.get(), H5T_VARIABLE);
    H5Tset_cset(memtype.get(), H5Tget_cset(type.get()));
    if (H5Aread(attr.get(), memtype.get(), &value) < 0) {
      return absl::DataLossError(absl::StrCat("attribute '", name, "' is unreadable"));
    }
    std::string out = value != nullptr ? value : "";
    H5free_memory(value);
    return out;
  }
  std::string out(H5Tget_size(type.get()), '\0');
  if (H5Aread(attr.get(), type.get(), out.data()) < 0) {
    return absl::DataLossError(absl::StrCat("attribute '", name, "' is unreadable"));
  }
  out.resize(std::strlen(out.c_str()));  // fixed-length strings may be NUL-padded
  return out;
}

}  // namespace vlarft::data
