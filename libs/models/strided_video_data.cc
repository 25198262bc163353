#include "libs/models/strided_video_data.h"

#include "libs/core/status.h"
#include "libs/models/world_model.h"

namespace vlarft::models {

StridedVideoData::StridedVideoData(VideoDataSource* source, int64_t k) : source_(source), k_(k) {}

absl::StatusOr<VideoClips> StridedVideoData::SampleClips(int64_t batch, int64_t steps, bool validation,
                                                         at::Generator& generator) {
  VLARFT_ASSIGN_OR_RETURN(VideoClips clips, source_->SampleClips(batch, steps * k_, validation, generator));
  VideoClips strided;
  strided.frames = clips.frames.slice(/*dim=*/1, /*start=*/0, /*end=*/steps * k_ + 1, /*step=*/k_).contiguous();
  VLARFT_ASSIGN_OR_RETURN(strided.actions, SumActionSteps(clips.actions, k_));
  strided.actions = strided.actions.contiguous();
  return strided;
}

std::vector<double> StridedVideoData::Scaled(std::vector<double> range) const {
  for (size_t d = 0; d + 1 < range.size(); ++d) range[d] *= static_cast<double>(k_);
  return range;
}

}  // namespace vlarft::models
