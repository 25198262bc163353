#include "libs/rollout/demo_prompt_source.h"

#include <cstring>

#include "libs/core/status.h"

namespace vlarft::rollout {

absl::StatusOr<std::unique_ptr<DemoPromptSource>> DemoPromptSource::Load(const std::string& dir,
                                                                        const std::vector<std::string>& suites,
                                                                        int image_size, uint64_t split_seed,
                                                                        double validation_fraction, int64_t steps) {
  VLARFT_ASSIGN_OR_RETURN(data::DemoDataset loaded, data::LoadDemoDirectory(dir, suites, image_size));
  auto dataset = std::make_unique<data::DemoDataset>(std::move(loaded));
  VLARFT_ASSIGN_OR_RETURN(data::PromptSampler sampler,
                          data::PromptSampler::Create(dataset.get(), split_seed, validation_fraction));
  return std::unique_ptr<DemoPromptSource>(new DemoPromptSource(std::move(dataset), std::move(sampler), steps, dir));
}

absl::StatusOr<Prompt> DemoPromptSource::Get(uint64_t index) {
  const data::PromptSample s = sampler_.Get(index, steps_);
  const data::Episode& e = *s.source;
  Prompt p;
  p.dataset = dir_;
  p.task = e.task;
  p.episode = s.episode;
  p.step = s.step;
  p.frame = torch::empty({e.size, e.size, 3}, torch::kUInt8);
  std::memcpy(p.frame.data_ptr<uint8_t>(), e.frame(s.step), static_cast<size_t>(e.size) * e.size * 3);
  p.instruction = e.instruction;
  p.proprio = torch::from_blob(const_cast<float*>(e.state(s.step)), {data::kProprioDim}, torch::kFloat32).clone();
  p.expert_actions = torch::from_blob(const_cast<float*>(s.expert_actions.data()), {steps_, data::kActionDim},
                                      torch::kFloat32).clone();
  p.expert_frames = torch::from_blob(const_cast<uint8_t*>(s.expert_frames.data()), {steps_, e.size, e.size, 3},
                                     torch::kUInt8).clone();
  return p;
}

}  // namespace vlarft::rollout
