#include "services/common/weights_proto.h"

#include "absl/strings/str_cat.h"
#include "libs/core/status.h"
#include "libs/core/tensor_codec.h"

namespace vlarft::services {

uint64_t Fnv1a(uint64_t hash, const std::string& data) {
  for (unsigned char c : data) {
    hash ^= c;
    hash *= 1099511628211ull;
  }
  return hash;
}

absl::StatusOr<std::vector<v1::WeightChunk>> WeightsToChunks(int64_t version, const NamedTensors& tensors,
                                                             int64_t chunk_bytes) {
  if (chunk_bytes < 1) return absl::InvalidArgumentError("chunk_bytes must be positive");
  if (tensors.empty()) return absl::InvalidArgumentError("a weight version needs at least one tensor");
  std::vector<v1::WeightChunk> chunks;
  uint64_t checksum = 14695981039346656037ull;
  for (const auto& [name, tensor] : tensors) {
    VLARFT_ASSIGN_OR_RETURN(core::EncodedTensor encoded, core::EncodeTensor(tensor));
    checksum = Fnv1a(checksum, encoded.data);
    const uint64_t total = encoded.data.size();
    uint64_t offset = 0;
    do {
      const uint64_t n = std::min<uint64_t>(chunk_bytes, total - offset);
      v1::WeightChunk& chunk = chunks.emplace_back();
      chunk.set_version(version);
      chunk.set_name(name);
      chunk.set_dtype(static_cast<v1::DType>(static_cast<int>(encoded.dtype)));
      chunk.mutable_shape()->Assign(encoded.shape.begin(), encoded.shape.end());
      chunk.set_offset(offset);
      chunk.set_data(encoded.data.substr(offset, n));
      chunk.set_total_bytes(total);
      chunk.set_tensor_count(static_cast<int32_t>(tensors.size()));
      offset += n;
    } while (offset < total);
  }
  chunks.back().set_last_of_version(true);
  chunks.back().set_version_checksum(checksum);
  return chunks;
}

absl::StatusOr<bool> WeightAssembler::Add(const v1::WeightChunk& chunk) {
  auto corrupt = [&](absl::string_view why) {
    return absl::DataLossError(absl::StrCat("weight stream for version ", chunk.version(), ", tensor '", chunk.name(),
                                            "': ", why));
  };
  if (complete_) return corrupt("chunk after the version was complete");
  if (version_ == -1) version_ = chunk.version();
  if (chunk.version() != version_) return corrupt(absl::StrCat("mixed with version ", version_));
  if (chunk.name() != current_name_) {
    if (!current_bytes_.empty()) return corrupt(absl::StrCat("previous tensor '", current_name_, "' is incomplete"));
    if (tensors_.count(chunk.name())) return corrupt("tensor sent twice");
    current_name_ = chunk.name();
  }
  if (chunk.offset() != current_bytes_.size()) return corrupt("chunk offset out of order");
  current_bytes_ += chunk.data();
  if (current_bytes_.size() > chunk.total_bytes()) return corrupt("more bytes than total_bytes");
  if (current_bytes_.size() == chunk.total_bytes()) {
    absl::StatusOr<core::DType> dtype = core::DTypeFromInt(chunk.dtype());
    if (!dtype.ok()) return corrupt("bad dtype");
    core::DecodeOptions options;
    options.field = absl::StrCat("WeightChunk '", chunk.name(), "'");
    options.require_finite = true;
    const std::vector<int64_t> shape(chunk.shape().begin(), chunk.shape().end());
    VLARFT_ASSIGN_OR_RETURN(torch::Tensor tensor, core::DecodeTensor(*dtype, shape, current_bytes_, options));
    checksum_ = Fnv1a(checksum_, current_bytes_);
    tensors_[current_name_] = tensor;
    current_bytes_.clear();
    current_name_.clear();
  }
  if (!chunk.last_of_version()) return false;
  if (!current_bytes_.empty()) return corrupt("stream ended inside a tensor");
  if (static_cast<int32_t>(tensors_.size()) != chunk.tensor_count()) {
    return corrupt(absl::StrCat("got ", tensors_.size(), " tensors, expected ", chunk.tensor_count()));
  }
  if (checksum_ != chunk.version_checksum()) return corrupt("checksum mismatch");
  complete_ = true;
  return true;
}

}  // namespace vlarft::services
