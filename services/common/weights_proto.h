// Streaming a policy weight version as vlarft.v1.WeightChunk messages (docs/architecture.md, "Contracts": only trainable
// tensors, chunked). Large tensors are split into byte ranges; the last chunk carries the version's
// FNV-1a checksum over all bytes in stream order. The receiver applies nothing until it has a
// complete, checksum-verified version.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "libs/core/torch_compat.h"
#include "vlarft/v1/learner.pb.h"

namespace vlarft::services {

using NamedTensors = std::vector<std::pair<std::string, torch::Tensor>>;

// Splits `tensors` (any device; copied to CPU) into chunks of at most `chunk_bytes` data bytes.
absl::StatusOr<std::vector<v1::WeightChunk>> WeightsToChunks(int64_t version, const NamedTensors& tensors,
                                                             int64_t chunk_bytes);

// Reassembles one version from its chunks, in order.
class WeightAssembler {
 public:
  // Adds the next chunk. Returns true once the version is complete and verified; errors
  // (DATA_LOSS) for out-of-order offsets, mixed versions, size mismatches or a bad checksum.
  absl::StatusOr<bool> Add(const v1::WeightChunk& chunk);
  int64_t version() const { return version_; }
  // The assembled tensors (valid after Add returned true).
  const std::map<std::string, torch::Tensor>& tensors() const { return tensors_; }

 private:
  int64_t version_ = -1;
  std::string current_name_;
  std::string current_bytes_;
  uint64_t checksum_ = 14695981039346656037ull;
  std::map<std::string, torch::Tensor> tensors_;
  bool complete_ = false;
};

// FNV-1a 64 continued over `data`.
uint64_t Fnv1a(uint64_t hash, const std::string& data);

}  // namespace vlarft::services
