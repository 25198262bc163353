// A tiny policy for tests: small enough to construct and run in milliseconds.
#pragma once

#include "libs/models/policy.h"

namespace vlarft::models::testing {

inline PolicyConfig TinyPolicyConfig() {
  PolicyConfig config;
  config.encoder.image_size = 16;
  config.encoder.patch_size = 8;
  config.encoder.dim = 32;
  config.encoder.layers = 1;
  config.encoder.heads = 2;
  config.encoder.ffn = 64;
  config.encoder.max_instruction_tokens = 12;
  config.encoder.action_queries = 4;
  for (DitConfig* dit : {&config.flow_head, &config.sigma_net}) {
    dit->depth = 2;
    dit->dim = 32;
    dit->heads = 2;
    dit->ffn = 64;
  }
  config.flow_steps = 4;
  return config;
}

inline ActionNormalizer UnitNormalizer(int64_t dims) {
  return *ActionNormalizer::Create(std::vector<double>(dims, -1.0), std::vector<double>(dims, 1.0));
}

inline VlaPolicy MakeTinyPolicy(const PolicyConfig& config = TinyPolicyConfig()) {
  InstructionTokenizer tokenizer = InstructionTokenizer::Build({"pick up the red cube", "put the bowl on the plate"});
  return VlaPolicy(config, tokenizer, UnitNormalizer(config.action_dim), UnitNormalizer(config.proprio_dim));
}

inline PolicyObservation TinyObservation(int64_t batch, int64_t size = 16) {
  PolicyObservation obs;
  obs.frames = torch::randint(0, 256, {batch, size, size, 3}).to(torch::kUInt8);
  for (int64_t b = 0; b < batch; ++b) obs.instructions.push_back(b % 2 ? "put the bowl on the plate" : "pick up the red cube");
  obs.proprio = torch::rand({batch, 8}) * 2 - 1;
  return obs;
}

// Gives every parameter of `module` random values so the networks' outputs are non-trivial (the
// zero-initialised final layers would otherwise make velocities 0 and σ constant).
inline void Randomize(torch::nn::Module& module, double scale = 0.2) {
  torch::NoGradGuard no_grad;
  for (auto& p : module.parameters()) p.normal_(0.0, scale);
}

}  // namespace vlarft::models::testing
