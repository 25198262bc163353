// Where the rollout loop's prompts come from (docs/benchmark.md, "RFT prompts"): one state — frame
// o_t, instruction, proprio s_t and the expert's next H action chunks. The production source samples
// LIBERO-layout HDF5 demonstrations (demo_prompt_source.h); policy_state_prompt_source.h puts the
// start in states the policy itself reaches; tests plug in synthetic ones.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "libs/core/torch_compat.h"

namespace vlarft::data {
struct DemoState;
}  // namespace vlarft::data

namespace vlarft::rollout {

struct Prompt {
  std::string dataset;
  std::string task;
  int64_t episode = 0;  // index into the source's dataset (what a real-simulator backend replays)
  int64_t step = 0;
  torch::Tensor frame;           // uint8 [H, W, 3]
  std::string instruction;
  torch::Tensor proprio;         // float [P], environment units
  torch::Tensor expert_actions;  // float [H * C, A], environment units
  torch::Tensor expert_frames;   // uint8 [H * C, H, W, 3]: the real frames after each expert action (reward type 2)
  // The exact benchmark state behind the prompt when it is not a demonstration step (a state the
  // policy reached): the real-simulator backend starts from it instead of replaying `episode` to
  // `step`. In-process only; it does not cross the wire.
  std::shared_ptr<const data::DemoState> simulator_state;
};

class PromptSource {
 public:
  virtual ~PromptSource() = default;
  // Thread-safe. `index` makes the draw reproducible: the same index gives the same prompt.
  virtual absl::StatusOr<Prompt> Get(uint64_t index) = 0;
};

}  // namespace vlarft::rollout
