#include "libs/rollout/policy_branch_video_data.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "libs/core/status.h"

namespace vlarft::rollout {

absl::Status PolicyBranchOptions::Validate() const {
  if (!(fraction >= 0.0 && fraction <= 1.0)) {
    return absl::InvalidArgumentError(absl::StrCat("branch fraction must be in [0, 1], got ", fraction));
  }
  if (chunks_per_state < 1) {
    return absl::InvalidArgumentError(absl::StrCat("chunks_per_state must be >= 1, got ", chunks_per_state));
  }
  return absl::OkStatus();
}

PolicyBranchVideoData::PolicyBranchVideoData(models::VlaPolicy policy, DemoPromptSource* prompts,
                                             models::VideoDataSource* demos, PolicyBranchOptions options)
    : policy_(policy),
      chunk_length_(policy->config().chunk_length),
      prompts_(prompts),
      demos_(demos),
      simulator_(&prompts->dataset(), {}),
      options_(options) {}

absl::StatusOr<std::unique_ptr<PolicyBranchVideoData>> PolicyBranchVideoData::Create(models::VlaPolicy policy,
                                                                                     DemoPromptSource* prompts,
                                                                                     models::VideoDataSource* demos,
                                                                                     PolicyBranchOptions options) {
  VLARFT_RETURN_IF_ERROR(options.Validate());
  if (prompts == nullptr || demos == nullptr) return absl::InvalidArgumentError("prompts and demos are required");
  const int64_t policy_size = policy->config().encoder.image_size;
  if (policy_size != prompts->dataset().image_size || policy_size != demos->image_size()) {
    return absl::InvalidArgumentError(absl::StrCat("the policy sees ", policy_size, "-px frames but the prompts have ",
                                                   prompts->dataset().image_size, " and the demonstrations ",
                                                   demos->image_size()));
  }
  return std::unique_ptr<PolicyBranchVideoData>(new PolicyBranchVideoData(std::move(policy), prompts, demos, options));
}

absl::StatusOr<models::VideoClips> PolicyBranchVideoData::BranchClips(int64_t count, at::Generator& generator) {
  std::vector<torch::Tensor> frames, actions;
  for (int64_t done = 0; done < count;) {
    const int64_t g = std::min(options_.chunks_per_state, count - done);
    // One draw gives the state and the policy's noise: the same generator state, the same clips.
    const torch::Tensor draw =
        torch::randint(0, int64_t{1} << 40, {2}, generator, torch::TensorOptions(torch::kInt64));
    const uint64_t state_index = static_cast<uint64_t>(draw[0].item<int64_t>());
    const uint64_t noise_seed = static_cast<uint64_t>(draw[1].item<int64_t>());
    VLARFT_ASSIGN_OR_RETURN(Prompt prompt, prompts_->Get(state_index));
    models::PolicyObservation observation{prompt.frame.unsqueeze(0), {prompt.instruction}, prompt.proprio.unsqueeze(0)};
    absl::StatusOr<PolicyReplica::Sampled> sampled = policy_.SampleGroup(observation, g, noise_seed);
    if (!sampled.ok()) {
      return core::Annotate(sampled.status(), absl::StrCat("sampling chunks at ", prompt.task, " episode ",
                                                           prompt.episode, " step ", prompt.step));
    }
    const torch::Tensor chunk = sampled->actions.to(torch::kFloat32).contiguous();  // [g, C, A]
    ImagineSettings settings;
    settings.group_size = g;
    VLARFT_ASSIGN_OR_RETURN(std::unique_ptr<ImaginationSession> session, simulator_.Start(prompt, settings));
    const torch::Tensor expert = prompt.expert_actions.narrow(0, 0, chunk.size(1)).to(torch::kFloat32);
    VLARFT_ASSIGN_OR_RETURN(ImaginedChunk executed, session->Next(chunk, expert));
    frames.push_back(torch::cat({prompt.frame.unsqueeze(0).unsqueeze(0).expand({g, 1, -1, -1, -1}), executed.frames}, 1));
    actions.push_back(chunk);
    done += g;
  }
  branch_clips_ += count;
  return models::VideoClips{torch::cat(frames), torch::cat(actions)};
}

absl::StatusOr<models::VideoClips> PolicyBranchVideoData::SampleClips(int64_t batch, int64_t steps, bool validation,
                                                                      at::Generator& generator) {
  const int64_t branches = validation ? 0 : static_cast<int64_t>(std::llround(batch * options_.fraction));
  if (branches == 0) return demos_->SampleClips(batch, steps, validation, generator);
  if (steps != chunk_length_) {
    return absl::InvalidArgumentError(absl::StrCat("branch clips are one policy chunk of ", chunk_length_,
                                                   " actions; the trainer asked for ", steps));
  }
  VLARFT_ASSIGN_OR_RETURN(models::VideoClips branch, BranchClips(branches, generator));
  if (branches == batch) return branch;
  VLARFT_ASSIGN_OR_RETURN(models::VideoClips demo, demos_->SampleClips(batch - branches, steps, false, generator));
  return models::VideoClips{torch::cat({demo.frames, branch.frames}), torch::cat({demo.actions, branch.actions})};
}

}  // namespace vlarft::rollout
