// Clips for a world model that imagines one frame every k environment steps (WorldModelConfig::
// action_stride): every k-th frame of a clip k times as long, the k steps' actions in between
// summed into one (SumActionSteps). Wraps any VideoDataSource, so demonstrations, policy branches
// and tests all train such a model the same way.
#pragma once

#include <cstdint>
#include <vector>

#include "libs/models/video_data.h"

namespace vlarft::models {

class StridedVideoData : public VideoDataSource {
 public:
  // `source` must outlive this; k >= 1 (k = 1 passes its clips through unchanged).
  StridedVideoData(VideoDataSource* source, int64_t k);

  // `steps` frames apart by k steps each: the source's clips of steps·k actions.
  absl::StatusOr<VideoClips> SampleClips(int64_t batch, int64_t steps, bool validation,
                                         at::Generator& generator) override;
  int64_t image_size() const override { return source_->image_size(); }
  // The summed dimensions span k times the source's range; the gripper keeps its own.
  std::vector<double> ActionMin() const override { return Scaled(source_->ActionMin()); }
  std::vector<double> ActionMax() const override { return Scaled(source_->ActionMax()); }

 private:
  std::vector<double> Scaled(std::vector<double> range) const;

  VideoDataSource* source_;
  int64_t k_;
};

}  // namespace vlarft::models
