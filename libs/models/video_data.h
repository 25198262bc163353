// Training and evaluation data of the tokenizer and the world model: short clips of consecutive
// frames with the actions between them. An interface, so the trainers do not care whether the
// demonstrations come from the built-in benchmark's HDF5 files, real LIBERO files, or a test.
#pragma once

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "libs/core/torch_compat.h"

namespace vlarft::models {

struct VideoClips {
  torch::Tensor frames;   // uint8 [B, T + 1, H, W, 3]: o_t, o_t+1, …, o_t+T
  torch::Tensor actions;  // float [B, T, A], environment units: a_t … a_t+T−1 (a_k leads to o_k+1)
};

class VideoDataSource {
 public:
  virtual ~VideoDataSource() = default;
  // `batch` clips of `steps` actions (steps + 1 frames) from the training or validation split.
  // Must be deterministic given the generator's state.
  virtual absl::StatusOr<VideoClips> SampleClips(int64_t batch, int64_t steps, bool validation,
                                                 at::Generator& generator) = 0;
  virtual int64_t image_size() const = 0;
  // Per-dimension action statistics of the training demonstrations (the normalisation ranges).
  virtual std::vector<double> ActionMin() const = 0;
  virtual std::vector<double> ActionMax() const = 0;
};

}  // namespace vlarft::models
