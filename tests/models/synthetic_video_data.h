// A tiny deterministic video world for trainer tests: a bright square on a dark gradient moves by
// round(2·a_x), round(2·a_y) pixels per step (actions in [−1, 1]). Clips are pure functions of the
// generator, as the VideoDataSource contract asks.
#pragma once

#include <algorithm>
#include <vector>

#include "libs/models/video_data.h"

namespace vlarft::models::testing {

class SyntheticVideoData : public VideoDataSource {
 public:
  explicit SyntheticVideoData(int64_t size) : size_(size) {}

  absl::StatusOr<VideoClips> SampleClips(int64_t batch, int64_t steps, bool validation,
                                         at::Generator& generator) override {
    VideoClips clips;
    clips.actions = torch::rand({batch, steps, 7}, generator) * 2 - 1;
    clips.frames = torch::zeros({batch, steps + 1, size_, size_, 3}, torch::kUInt8);
    const torch::Tensor start = torch::randint(0, size_ - 4, {batch, 2}, generator);
    for (int64_t b = 0; b < batch; ++b) {
      int64_t x = start[b][0].item<int64_t>(), y = start[b][1].item<int64_t>();
      for (int64_t t = 0; t <= steps; ++t) {
        Draw(clips.frames[b][t], x, y, validation ? 180 : 220);
        if (t < steps) {
          x = std::clamp<int64_t>(x + std::lround(2 * clips.actions[b][t][0].item<float>()), 0, size_ - 4);
          y = std::clamp<int64_t>(y + std::lround(2 * clips.actions[b][t][1].item<float>()), 0, size_ - 4);
        }
      }
    }
    return clips;
  }
  int64_t image_size() const override { return size_; }
  std::vector<double> ActionMin() const override { return std::vector<double>(7, -1.0); }
  std::vector<double> ActionMax() const override { return std::vector<double>(7, 1.0); }

 private:
  void Draw(torch::Tensor frame, int64_t x, int64_t y, int64_t brightness) const {
    frame.select(2, 2).copy_(torch::linspace(10, 90, size_).to(torch::kUInt8).unsqueeze(0).expand({size_, size_}));
    frame.narrow(0, y, 4).narrow(1, x, 4).fill_(brightness);
  }
  int64_t size_;
};

}  // namespace vlarft::models::testing
