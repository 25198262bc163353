#include "libs/rollout/policy_state_prompt_source.h"

#include <cstring>
#include <vector>

#include "libs/core/rng.h"
#include "libs/core/status.h"

namespace vlarft::rollout {
namespace {

torch::Tensor Render(const tabletop::TabletopEnv& env, int size) {
  torch::Tensor frame = torch::empty({size, size, 3}, torch::kUInt8);
  env.RenderInto(size, frame.data_ptr<uint8_t>());
  return frame;
}

}  // namespace

absl::StatusOr<Prompt> PolicyStatePromptSource::Get(uint64_t index) {
  if (options_.max_decisions < 1 || options_.chunk_length < 1 || options_.expert_steps < 1) {
    return absl::InvalidArgumentError("policy-state prompts need max_decisions, chunk_length, expert_steps >= 1");
  }
  VLARFT_ASSIGN_OR_RETURN(Prompt demo, demos_->Get(index));
  const int size = static_cast<int>(demo.frame.size(0));
  VLARFT_ASSIGN_OR_RETURN(data::DemoState state, replayer_.StateAt(demo.episode, 0));
  const int decisions =
      1 + static_cast<int>(core::SeedPath(index).Child("policy_decisions").seed() % options_.max_decisions);
  for (int k = 0; k < decisions; ++k) {
    const data::DemoState before = state;
    absl::StatusOr<std::vector<tabletop::ActionChunk>> chunks;
    {
      std::lock_guard<std::mutex> lock(policy_mu_);
      chunks = tabletop::ActChecked(*policy_, {tabletop::Observe(state.env, size, 0)});
    }
    if (!chunks.ok()) return chunks.status();
    const tabletop::ActionChunk& chunk = (*chunks)[0];
    for (size_t t = 0; t < chunk.size() && t < static_cast<size_t>(options_.chunk_length) && !state.env.done(); ++t) {
      state.expert.Act(state.env);  // observe: the expert stays in step with the episode
      state.env.Step(chunk[t]);
    }
    if (state.env.done()) {  // nothing left to learn after the end: prompt from before the final chunk
      state = before;
      break;
    }
  }

  Prompt p;
  p.dataset = demo.dataset;
  p.task = demo.task;
  p.episode = demo.episode;
  p.step = state.env.steps();
  p.frame = Render(state.env, size);
  p.instruction = demo.instruction;
  const std::array<float, 8> proprio = state.env.proprio().Flat();
  p.proprio = torch::from_blob(const_cast<float*>(proprio.data()), {8}, torch::kFloat32).clone();
  p.expert_actions = torch::empty({options_.expert_steps, 7}, torch::kFloat32);
  p.expert_frames = torch::empty({options_.expert_steps, size, size, 3}, torch::kUInt8);
  data::DemoState expert = state;  // the expert's continuation, on a copy
  for (int64_t t = 0; t < options_.expert_steps; ++t) {
    const tabletop::Action action = expert.expert.Act(expert.env);
    std::memcpy(p.expert_actions[t].data_ptr<float>(), action.data(), sizeof(float) * 7);
    expert.env.Step(action);
    expert.env.RenderInto(size, p.expert_frames[t].data_ptr<uint8_t>());
  }
  p.simulator_state = std::make_shared<const data::DemoState>(std::move(state));
  return p;
}

}  // namespace vlarft::rollout
