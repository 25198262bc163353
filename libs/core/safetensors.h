// Reader and writer for the safetensors format (https://huggingface.co/docs/safetensors):
//   8-byte little-endian header length N | N bytes of JSON header | tensor data.
// The JSON maps tensor names to {"dtype","shape","data_offsets":[begin,end]} (offsets relative to the
// start of the data section) plus an optional "__metadata__" object of string -> string.
//
// Reading is strict: a truncated file, a header length past the end, invalid JSON, an unknown dtype,
// offsets that are out of bounds, overlap, leave holes or disagree with dtype*shape are each a clear
// DATA_LOSS / INVALID_ARGUMENT error naming the file and tensor. Files are memory-mapped.
// Writing is atomic (temporary file + fsync + rename): a crash never leaves a half-written checkpoint.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "libs/core/dtype.h"
#include "libs/core/torch_compat.h"

namespace vlarft::core {

struct SafetensorsEntry {
  std::string name;
  DType dtype = DType::kInvalid;
  std::vector<int64_t> shape;
  uint64_t begin = 0;  // offsets into the data section
  uint64_t end = 0;
};

// A validated, memory-mapped safetensors file. Movable, not copyable; unmaps on destruction.
class SafetensorsFile {
 public:
  static absl::StatusOr<SafetensorsFile> Open(const std::string& path);

  SafetensorsFile(SafetensorsFile&&) noexcept;
  SafetensorsFile& operator=(SafetensorsFile&&) noexcept;
  SafetensorsFile(const SafetensorsFile&) = delete;
  SafetensorsFile& operator=(const SafetensorsFile&) = delete;
  ~SafetensorsFile();

  const std::string& path() const;
  const std::map<std::string, std::string>& metadata() const;
  // Entries sorted by name.
  const std::vector<SafetensorsEntry>& entries() const;
  bool Contains(absl::string_view name) const;
  absl::StatusOr<SafetensorsEntry> Entry(absl::string_view name) const;

  // Copies the tensor out of the mapping into a new CPU tensor. NOT_FOUND for unknown names.
  absl::StatusOr<torch::Tensor> Load(absl::string_view name) const;
  // All tensors, copied.
  absl::StatusOr<std::map<std::string, torch::Tensor>> LoadAll() const;

 private:
  struct Mapping;
  explicit SafetensorsFile(std::unique_ptr<Mapping> mapping);
  std::unique_ptr<Mapping> mapping_;
};

// Writes `tensors` (any device/strides; stored contiguous, little-endian) with `metadata` to `path`
// atomically. Names must be unique and non-empty; "__metadata__" is reserved.
absl::Status WriteSafetensors(const std::string& path,
                              const std::vector<std::pair<std::string, torch::Tensor>>& tensors,
                              const std::map<std::string, std::string>& metadata = {});

}  // namespace vlarft::core
