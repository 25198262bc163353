// Small tokenizer / world-model configurations for fast unit tests (16×16 frames, 4×4 context
// grid, 2×2 future grid, narrow layers) and helpers to build them.
#pragma once

#include <cstdint>
#include <vector>

#include "libs/models/action_normalizer.h"
#include "libs/models/tokenizer.h"
#include "libs/models/world_model.h"

namespace vlarft::models::testing {

inline TokenizerConfig SmallTokenizerConfig() {
  TokenizerConfig config;
  config.image_size = 16;
  config.context_downsample = 4;
  config.future_downsample = 8;
  config.base_channels = 8;
  config.max_channels = 16;
  return config;
}

inline WorldModelConfig SmallWorldModelConfig(const TokenizerConfig& tokenizer = SmallTokenizerConfig()) {
  WorldModelConfig config;
  config.layers = 2;
  config.dim = 32;
  config.heads = 2;
  config.ffn = 64;
  config.max_frames = 8;
  return WithTokenizerGeometry(config, tokenizer);
}

inline ActionNormalizer UnitActions(int64_t dims = 7) {
  return ActionNormalizer::Create(std::vector<double>(dims, -1.0), std::vector<double>(dims, 1.0)).value();
}

// Deterministic synthetic frames: a coloured square on a gradient, moved by `shift` pixels.
inline torch::Tensor SyntheticFrames(int64_t batch, int64_t size, int64_t shift = 0) {
  torch::Tensor frames = torch::zeros({batch, size, size, 3}, torch::kUInt8);
  for (int64_t b = 0; b < batch; ++b) {
    const torch::Tensor ramp = torch::linspace(20, 120, size).to(torch::kUInt8);
    frames[b].select(2, 2).copy_(ramp.unsqueeze(0).expand({size, size}));
    const int64_t x = (2 + b * 3 + shift) % (size - 4), y = (3 + b * 5) % (size - 4);
    frames[b].narrow(0, y, 4).narrow(1, x, 4).select(2, 0).fill_(200 + b % 50);
  }
  return frames;
}

}  // namespace vlarft::models::testing
