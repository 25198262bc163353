#include "libs/core/safetensors.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <limits>
#include <set>
#include <tuple>

#include "absl/strings/str_cat.h"
#include "libs/core/status.h"
#include "libs/core/tensor_codec.h"
#include "nlohmann/json.hpp"

namespace vlarft::core {
namespace {

using Json = nlohmann::json;

constexpr uint64_t kHeaderLengthBytes = 8;
// The reference implementation's limit: a larger header is a corrupt or hostile file.
constexpr uint64_t kMaxHeaderBytes = 100'000'000;
constexpr absl::string_view kMetadataKey = "__metadata__";

absl::Status DataLoss(const std::string& path, absl::string_view message) {
  return absl::DataLossError(absl::StrCat("safetensors file '", path, "': ", message));
}

absl::Status EntryError(const std::string& path, absl::string_view name,
                        absl::string_view message) {
  return absl::DataLossError(
      absl::StrCat("safetensors file '", path, "': tensor '", name, "': ", message));
}

uint64_t ReadLittleEndian64(const unsigned char* bytes) {
  uint64_t value = 0;
  for (int i = 7; i >= 0; --i) value = (value << 8) | bytes[i];
  return value;
}

// Owns an open file descriptor until destruction.
class FileDescriptor {
 public:
  explicit FileDescriptor(int fd) : fd_(fd) {}
  FileDescriptor(const FileDescriptor&) = delete;
  FileDescriptor& operator=(const FileDescriptor&) = delete;
  ~FileDescriptor() {
    if (fd_ >= 0) ::close(fd_);
  }
  int get() const { return fd_; }
  // Closes now and reports the error (close can fail, e.g. on NFS, after a successful write).
  int Close() {
    const int result = ::close(fd_);
    fd_ = -1;
    return result;
  }

 private:
  int fd_;
};

}  // namespace

// The mapped file plus everything parsed from its header.
struct SafetensorsFile::Mapping {
  std::string path;
  void* address = nullptr;
  size_t size = 0;
  uint64_t data_start = 0;  // file offset of the data section
  std::map<std::string, std::string> metadata;
  std::vector<SafetensorsEntry> entries;  // sorted by name

  Mapping() = default;
  Mapping(const Mapping&) = delete;
  Mapping& operator=(const Mapping&) = delete;
  ~Mapping() {
    if (address != nullptr) ::munmap(address, size);
  }

  const char* bytes() const { return static_cast<const char*>(address); }
  uint64_t data_size() const { return size - data_start; }
};

namespace {

absl::Status ParseMetadata(const std::string& path, const Json& value,
                           std::map<std::string, std::string>* metadata) {
  if (!value.is_object()) return DataLoss(path, "\"__metadata__\" is not an object");
  for (const auto& [key, item] : value.items()) {
    if (!item.is_string()) {
      return DataLoss(path, absl::StrCat("\"__metadata__\" value for '", key, "' is not a string"));
    }
    (*metadata)[key] = item.get<std::string>();
  }
  return absl::OkStatus();
}

absl::StatusOr<uint64_t> ParseUnsigned(const std::string& path, absl::string_view name,
                                       const Json& value, absl::string_view what) {
  // nlohmann stores every non-negative JSON integer as number_unsigned.
  if (!value.is_number_unsigned()) {
    return EntryError(path, name,
                      absl::StrCat(what, " ", value.dump(), " is not a non-negative integer"));
  }
  return value.get<uint64_t>();
}

absl::Status ParseShape(const std::string& path, absl::string_view name, const Json& value,
                        std::vector<int64_t>* shape) {
  if (!value.is_array()) return EntryError(path, name, "\"shape\" is not an array");
  for (const Json& dim : value) {
    VLARFT_ASSIGN_OR_RETURN(const uint64_t size, ParseUnsigned(path, name, dim, "dimension"));
    if (size > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
      return EntryError(path, name, absl::StrCat("dimension ", size, " is too large"));
    }
    shape->push_back(static_cast<int64_t>(size));
  }
  return absl::OkStatus();
}

// Byte size of dtype * shape, with overflow detection.
absl::StatusOr<uint64_t> ByteSize(const std::string& path, absl::string_view name, DType dtype,
                                  const std::vector<int64_t>& shape) {
  uint64_t bytes = ElementSize(dtype);
  for (const int64_t dim : shape) {
    if (__builtin_mul_overflow(bytes, static_cast<uint64_t>(dim), &bytes)) {
      return EntryError(path, name, absl::StrCat("shape ", ShapeString(shape), " overflows"));
    }
  }
  return bytes;
}

absl::StatusOr<SafetensorsEntry> ParseEntry(const std::string& path, const std::string& name,
                                            const Json& value, uint64_t data_size) {
  if (!value.is_object()) return EntryError(path, name, "entry is not an object");
  SafetensorsEntry entry;
  entry.name = name;

  const auto dtype_it = value.find("dtype");
  if (dtype_it == value.end() || !dtype_it->is_string()) {
    return EntryError(path, name, "missing string \"dtype\"");
  }
  absl::StatusOr<DType> dtype = DTypeFromSafetensorsName(dtype_it->get<std::string>());
  if (!dtype.ok()) {
    // A well-formed file we cannot represent (e.g. F8_E4M3): the caller asked for the wrong thing.
    return absl::InvalidArgumentError(absl::StrCat("safetensors file '", path, "': tensor '", name,
                                                   "': ", dtype.status().message()));
  }
  entry.dtype = *dtype;

  const auto shape_it = value.find("shape");
  if (shape_it == value.end()) return EntryError(path, name, "missing \"shape\"");
  VLARFT_RETURN_IF_ERROR(ParseShape(path, name, *shape_it, &entry.shape));

  const auto offsets_it = value.find("data_offsets");
  if (offsets_it == value.end() || !offsets_it->is_array() || offsets_it->size() != 2) {
    return EntryError(path, name, "\"data_offsets\" is not a [begin, end] pair");
  }
  VLARFT_ASSIGN_OR_RETURN(entry.begin, ParseUnsigned(path, name, (*offsets_it)[0], "begin offset"));
  VLARFT_ASSIGN_OR_RETURN(entry.end, ParseUnsigned(path, name, (*offsets_it)[1], "end offset"));
  if (entry.begin > entry.end || entry.end > data_size) {
    return EntryError(path, name,
                      absl::StrCat("data_offsets [", entry.begin, ", ", entry.end,
                                   "] are out of bounds of the ", data_size, "-byte data section"));
  }
  VLARFT_ASSIGN_OR_RETURN(const uint64_t expected, ByteSize(path, name, entry.dtype, entry.shape));
  if (entry.end - entry.begin != expected) {
    return EntryError(path, name,
                      absl::StrCat("data_offsets span ", entry.end - entry.begin, " bytes but ",
                                   DTypeName(entry.dtype), " shape ", ShapeString(entry.shape),
                                   " needs ", expected));
  }
  return entry;
}

// The spec requires the tensors to tile the data section exactly: no overlap, no gaps, no tail.
absl::Status CheckCoverage(const std::string& path, std::vector<SafetensorsEntry> entries,
                           uint64_t data_size) {
  std::sort(entries.begin(), entries.end(),
            [](const SafetensorsEntry& a, const SafetensorsEntry& b) {
              return std::tie(a.begin, a.end) < std::tie(b.begin, b.end);
            });
  uint64_t covered = 0;
  const SafetensorsEntry* previous = nullptr;
  for (const SafetensorsEntry& entry : entries) {
    if (entry.begin < covered) {
      return EntryError(
          path, entry.name,
          absl::StrCat("data_offsets [", entry.begin, ", ", entry.end, "] overlap tensor '",
                       previous->name, "' [", previous->begin, ", ", previous->end, "]"));
    }
    if (entry.begin > covered) {
      return EntryError(
          path, entry.name,
          absl::StrCat("data starts at ", entry.begin, " but the previous tensor ends at ", covered,
                       " (a ", entry.begin - covered, "-byte hole)"));
    }
    covered = entry.end;
    previous = &entry;
  }
  if (covered != data_size) {
    return DataLoss(path, absl::StrCat("tensors cover ", covered, " of the ", data_size,
                                       " bytes of the data section (", data_size - covered,
                                       " trailing bytes)"));
  }
  return absl::OkStatus();
}

absl::StatusOr<Json> ParseHeaderJson(const std::string& path, const char* begin, const char* end) {
  try {
    return Json::parse(begin, end);
  } catch (const Json::exception& e) {
    return DataLoss(path, absl::StrCat("header is not valid JSON: ", e.what()));
  }
}

absl::Status ParseHeader(const std::string& path, const Json& header, uint64_t data_size,
                         std::map<std::string, std::string>* metadata,
                         std::vector<SafetensorsEntry>* entries) {
  if (!header.is_object()) return DataLoss(path, "header is not a JSON object");
  for (const auto& [key, value] : header.items()) {
    if (key == kMetadataKey) {
      VLARFT_RETURN_IF_ERROR(ParseMetadata(path, value, metadata));
      continue;
    }
    VLARFT_ASSIGN_OR_RETURN(SafetensorsEntry entry, ParseEntry(path, key, value, data_size));
    entries->push_back(std::move(entry));
  }
  VLARFT_RETURN_IF_ERROR(CheckCoverage(path, *entries, data_size));
  // nlohmann::json objects iterate in key order already; sort anyway so the contract does not
  // depend on the JSON library's container choice.
  std::sort(entries->begin(), entries->end(),
            [](const SafetensorsEntry& a, const SafetensorsEntry& b) { return a.name < b.name; });
  return absl::OkStatus();
}

absl::Status OpenStatus(const std::string& path, absl::string_view action) {
  const int error = errno;
  return absl::ErrnoToStatus(error, absl::StrCat("safetensors file '", path, "': ", action));
}

}  // namespace

absl::StatusOr<SafetensorsFile> SafetensorsFile::Open(const std::string& path) {
  FileDescriptor fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) return OpenStatus(path, "cannot open");
  struct stat info;
  if (::fstat(fd.get(), &info) != 0) return OpenStatus(path, "cannot stat");
  if (!S_ISREG(info.st_mode)) {
    return absl::InvalidArgumentError(
        absl::StrCat("safetensors file '", path, "': not a regular file"));
  }
  const auto file_size = static_cast<uint64_t>(info.st_size);
  if (file_size < kHeaderLengthBytes) {
    return DataLoss(path, absl::StrCat("truncated: ", file_size,
                                       " bytes, fewer than the 8-byte header length"));
  }

  // Mapping is safe against concurrent checkpoint writes because WriteSafetensors replaces files by
  // rename(): the inode we map is never truncated underneath us.
  auto mapping = std::make_unique<Mapping>();
  mapping->path = path;
  void* address = ::mmap(nullptr, file_size, PROT_READ, MAP_PRIVATE, fd.get(), 0);
  if (address == MAP_FAILED) return OpenStatus(path, "cannot mmap");
  mapping->address = address;
  mapping->size = file_size;

  const uint64_t header_size = ReadLittleEndian64(reinterpret_cast<const unsigned char*>(address));
  if (header_size > file_size - kHeaderLengthBytes) {
    return DataLoss(path, absl::StrCat("header length ", header_size, " runs past the end of the ",
                                       file_size, "-byte file"));
  }
  if (header_size > kMaxHeaderBytes) {
    return DataLoss(path, absl::StrCat("header length ", header_size, " exceeds the limit of ",
                                       kMaxHeaderBytes, " bytes"));
  }
  mapping->data_start = kHeaderLengthBytes + header_size;
  const char* header_begin = mapping->bytes() + kHeaderLengthBytes;
  VLARFT_ASSIGN_OR_RETURN(const Json header,
                          ParseHeaderJson(path, header_begin, header_begin + header_size));
  try {
    VLARFT_RETURN_IF_ERROR(
        ParseHeader(path, header, mapping->data_size(), &mapping->metadata, &mapping->entries));
  } catch (const Json::exception& e) {  // defensive: ParseHeader checks types before reading
    return DataLoss(path, absl::StrCat("malformed header: ", e.what()));
  }
  return SafetensorsFile(std::move(mapping));
}

SafetensorsFile::SafetensorsFile(std::unique_ptr<Mapping> mapping) : mapping_(std::move(mapping)) {}
SafetensorsFile::SafetensorsFile(SafetensorsFile&&) noexcept = default;
SafetensorsFile& SafetensorsFile::operator=(SafetensorsFile&&) noexcept = default;
SafetensorsFile::~SafetensorsFile() = default;

const std::string& SafetensorsFile::path() const { return mapping_->path; }

const std::map<std::string, std::string>& SafetensorsFile::metadata() const {
  return mapping_->metadata;
}

const std::vector<SafetensorsEntry>& SafetensorsFile::entries() const { return mapping_->entries; }

bool SafetensorsFile::Contains(absl::string_view name) const { return Entry(name).ok(); }

absl::StatusOr<SafetensorsEntry> SafetensorsFile::Entry(absl::string_view name) const {
  const std::vector<SafetensorsEntry>& entries = mapping_->entries;
  const auto it = std::lower_bound(
      entries.begin(), entries.end(), name,
      [](const SafetensorsEntry& entry, absl::string_view key) { return entry.name < key; });
  if (it == entries.end() || it->name != name) {
    return absl::NotFoundError(
        absl::StrCat("safetensors file '", mapping_->path, "' has no tensor '", name, "'"));
  }
  return *it;
}

absl::StatusOr<torch::Tensor> SafetensorsFile::Load(absl::string_view name) const {
  VLARFT_ASSIGN_OR_RETURN(const SafetensorsEntry entry, Entry(name));
  const absl::string_view bytes(mapping_->bytes() + mapping_->data_start + entry.begin,
                                entry.end - entry.begin);
  DecodeOptions options;
  options.field = absl::StrCat(mapping_->path, ":", entry.name);
  options.max_elements = std::numeric_limits<int64_t>::max();  // the file itself bounds the size
  absl::StatusOr<torch::Tensor> tensor = DecodeTensor(entry.dtype, entry.shape, bytes, options);
  // Sizes were validated on Open, so what can still fail here is the content (e.g. a bool byte 7).
  if (!tensor.ok()) return absl::DataLossError(tensor.status().message());
  return tensor;
}

absl::StatusOr<std::map<std::string, torch::Tensor>> SafetensorsFile::LoadAll() const {
  std::map<std::string, torch::Tensor> tensors;
  for (const SafetensorsEntry& entry : mapping_->entries) {
    VLARFT_ASSIGN_OR_RETURN(tensors[entry.name], Load(entry.name));
  }
  return tensors;
}

// ---- writing ----------------------------------------------------------------------------------

namespace {

struct PreparedTensor {
  const std::string* name;
  DType dtype;
  torch::Tensor host;  // CPU, contiguous
  uint64_t num_bytes;
};

absl::Status WriteError(const std::string& path, absl::string_view message) {
  return absl::InvalidArgumentError(absl::StrCat("writing safetensors '", path, "': ", message));
}

absl::StatusOr<std::vector<PreparedTensor>> PrepareTensors(
    const std::string& path, const std::vector<std::pair<std::string, torch::Tensor>>& tensors) {
  std::vector<PreparedTensor> prepared;
  std::set<absl::string_view> seen;
  for (const auto& [name, tensor] : tensors) {
    if (name.empty()) return WriteError(path, "tensor names must not be empty");
    if (name == kMetadataKey) return WriteError(path, "\"__metadata__\" is a reserved name");
    if (!seen.insert(name).second)
      return WriteError(path, absl::StrCat("duplicate tensor name '", name, "'"));
    if (!tensor.defined())
      return WriteError(path, absl::StrCat("tensor '", name, "' is undefined"));
    absl::StatusOr<DType> dtype = DTypeFromScalarType(tensor.scalar_type());
    if (!dtype.ok())
      return WriteError(path, absl::StrCat("tensor '", name, "': ", dtype.status().message()));
    VLARFT_ASSIGN_OR_RETURN(
        torch::Tensor host,
        CatchTorchErrors(absl::StrCat("writing safetensors '", path, "': tensor '", name, "'"),
                         [&tensor]() { return tensor.to(torch::kCPU).contiguous(); }));
    const uint64_t num_bytes = static_cast<uint64_t>(host.numel()) * ElementSize(*dtype);
    prepared.push_back(PreparedTensor{&name, *dtype, std::move(host), num_bytes});
  }
  return prepared;
}

// JSON header padded with spaces so the data section starts 8-byte aligned (as the reference
// writer does); readers that mmap the file can then alias every tensor without copying.
absl::StatusOr<std::string> BuildHeader(const std::string& path,
                                        const std::vector<PreparedTensor>& tensors,
                                        const std::map<std::string, std::string>& metadata) {
  Json header = Json::object();
  if (!metadata.empty()) header[std::string(kMetadataKey)] = metadata;
  uint64_t offset = 0;
  for (const PreparedTensor& tensor : tensors) {
    header[*tensor.name] = {{"dtype", std::string(SafetensorsDTypeName(tensor.dtype))},
                            {"shape", tensor.host.sizes().vec()},
                            {"data_offsets", {offset, offset + tensor.num_bytes}}};
    offset += tensor.num_bytes;
  }
  std::string text;
  try {
    text = header.dump();
  } catch (const Json::exception& e) {  // only invalid UTF-8 in a name or metadata can get here
    return WriteError(path,
                      absl::StrCat("names and metadata must be valid UTF-8 (", e.what(), ")"));
  }
  text.append((8 - text.size() % 8) % 8, ' ');
  return text;
}

absl::Status ErrnoError(const std::string& path, absl::string_view action) {
  const int error = errno;
  return absl::ErrnoToStatus(error, absl::StrCat("writing safetensors '", path, "': ", action));
}

bool WriteAll(int fd, const char* data, uint64_t size) {
  while (size > 0) {
    const ssize_t written = ::write(fd, data, std::min<uint64_t>(size, 1 << 30));
    if (written < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    data += written;
    size -= static_cast<uint64_t>(written);
  }
  return true;
}

absl::Status WriteContents(const std::string& path, const std::string& tmp_path, int fd,
                           const std::string& header, const std::vector<PreparedTensor>& tensors) {
  unsigned char length[8];
  for (int i = 0; i < 8; ++i) length[i] = static_cast<unsigned char>(header.size() >> (8 * i));
  if (!WriteAll(fd, reinterpret_cast<const char*>(length), sizeof(length)) ||
      !WriteAll(fd, header.data(), header.size())) {
    return ErrnoError(path, absl::StrCat("cannot write '", tmp_path, "'"));
  }
  for (const PreparedTensor& tensor : tensors) {
    if (tensor.num_bytes == 0) continue;
    if (!WriteAll(fd, static_cast<const char*>(tensor.host.data_ptr()), tensor.num_bytes)) {
      return ErrnoError(path, absl::StrCat("cannot write '", tmp_path, "'"));
    }
  }
  if (::fsync(fd) != 0) return ErrnoError(path, absl::StrCat("cannot fsync '", tmp_path, "'"));
  return absl::OkStatus();
}

// Makes the rename itself durable; best effort because some filesystems refuse directory fsync.
void SyncParentDirectory(const std::string& path) {
  const size_t slash = path.rfind('/');
  const std::string dir =
      slash == std::string::npos ? "." : (slash == 0 ? "/" : path.substr(0, slash));
  FileDescriptor fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (fd.get() >= 0) ::fsync(fd.get());
}

}  // namespace

absl::Status WriteSafetensors(const std::string& path,
                              const std::vector<std::pair<std::string, torch::Tensor>>& tensors,
                              const std::map<std::string, std::string>& metadata) {
  if (path.empty()) return WriteError(path, "empty path");
  VLARFT_ASSIGN_OR_RETURN(const std::vector<PreparedTensor> prepared,
                          PrepareTensors(path, tensors));
  VLARFT_ASSIGN_OR_RETURN(const std::string header, BuildHeader(path, prepared, metadata));

  // Unique per process and thread: two concurrent writers of one path each rename a complete file
  // (the last one wins) instead of interleaving their bytes in a shared temporary.
  const std::string tmp_path =
      absl::StrCat(path, ".tmp.", ::getpid(), ".", static_cast<long>(::syscall(SYS_gettid)));
  FileDescriptor fd(::open(tmp_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  if (fd.get() < 0) return ErrnoError(path, absl::StrCat("cannot create '", tmp_path, "'"));
  absl::Status status = WriteContents(path, tmp_path, fd.get(), header, prepared);
  if (status.ok() && fd.Close() != 0) {
    status = ErrnoError(path, absl::StrCat("cannot close '", tmp_path, "'"));
  }
  if (status.ok() && ::rename(tmp_path.c_str(), path.c_str()) != 0) {
    status = ErrnoError(path, absl::StrCat("cannot rename '", tmp_path, "' into place"));
  }
  if (!status.ok()) {
    ::unlink(tmp_path.c_str());
    return status;
  }
  SyncParentDirectory(path);
  return absl::OkStatus();
}

}  // namespace vlarft::core
