// Typed helpers over the HDF5 C API for demonstration files: arrays and attributes in, arrays and
// attributes out, with dtype/rank checks whose errors name the field. Debian's libhdf5 is built
// without thread-safety, so every HDF5 call happens under Hdf5Lock(); the expensive part of
// writing frames (deflate) runs before taking it (CompressFrames), so writers on several threads
// compress in parallel and only copy bytes into the file one at a time.
#pragma once

#include <hdf5.h>

#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "libs/data/hdf5_handle.h"

namespace vlarft::data {

// The process-wide lock every HDF5 call must hold.
std::unique_lock<std::mutex> Hdf5Lock();

// ---- writing ----

// A new group (invalid handle on failure). Like every object written here it carries no
// modification time, so the same demonstrations always produce the same file bytes.
H5Handle CreateGroup(hid_t parent, const std::string& name);

// A plain (contiguous) or shuffled+deflated (chunked along the first axis) array. `type` is both
// the memory and the file type (H5T_NATIVE_FLOAT, H5T_NATIVE_UINT8, ...).
absl::Status WriteArray(hid_t parent, const std::string& name, hid_t type, const std::vector<hsize_t>& dims,
                        const void* data, bool compress);
absl::Status WriteStringAttribute(hid_t object, const std::string& name, const std::string& value);
absl::Status WriteIntAttribute(hid_t object, const std::string& name, int64_t value);

// uint8 frames [T, H, W, 3] deflated chunk by chunk, ready for WriteCompressedFrames. Chunks hold
// several consecutive frames when a frame is smaller than deflate's 32 KiB window, so each frame
// compresses against the previous one (consecutive frames differ in a few pixels). No HDF5 calls:
// safe to run on any thread without the lock.
struct CompressedFrames {
  std::vector<hsize_t> dims;        // T, H, W, 3
  std::vector<hsize_t> chunk_dims;  // frames_per_chunk, H, W, 3
  std::vector<std::vector<uint8_t>> chunks;
};
CompressedFrames CompressFrames(const uint8_t* frames, int64_t length, int height, int width);
// Writes them as a chunked dataset with the deflate filter declared, so any HDF5 reader (h5py,
// LIBERO's loaders) decompresses them transparently.
absl::Status WriteCompressedFrames(hid_t parent, const std::string& name, const CompressedFrames& frames);

// ---- reading ----

struct ArrayInfo {
  H5T_class_t type_class = H5T_NO_CLASS;
  size_t type_size = 0;  // bytes per element
  std::vector<hsize_t> dims;
};
// NOT_FOUND when `name` is absent below `group`.
absl::StatusOr<ArrayInfo> InspectArray(hid_t group, const std::string& name);
// Reads a float32/float64 dataset as float; INVALID_ARGUMENT for any other type.
absl::StatusOr<std::vector<float>> ReadFloatArray(hid_t group, const std::string& name, ArrayInfo* info);
// Reads a uint8 dataset; INVALID_ARGUMENT for any other type.
absl::StatusOr<std::vector<uint8_t>> ReadByteArray(hid_t group, const std::string& name, ArrayInfo* info);
// Fixed- or variable-length string attribute, ASCII or UTF-8 (h5py writes every str as
// variable-length UTF-8).
absl::StatusOr<std::string> ReadStringAttribute(hid_t object, const std::string& name);

}  // namespace vlarft::data
