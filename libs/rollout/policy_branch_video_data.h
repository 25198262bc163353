// World-model training data from the policy's own exploration (docs/world_model.md, "Training on the
// policy's SDE chunks"). The reward RFT uses ranks the G chunks the SDE policy samples around its own
// action at one state; a world model trained on expert demonstrations alone has hardly seen how such a
// centimetre-scale change of action changes the next frames. This source mixes demonstration clips
// with "branch" clips: at a demonstration state (an RFT prompt of the training split) the policy
// samples a few SDE chunks, each is executed in the real benchmark from the state's exact copy
// (tabletop_imaginer.h), and every chunk with its 8 rendered frames becomes one clip — several
// actions from one context frame, which is exactly the contrast the reward needs.
//
// Validation clips stay demonstrations (validation split), so the trainer's loss and accuracy remain
// comparable with a demonstrations-only training.
#pragma once

#include <cstdint>

#include "libs/models/policy.h"
#include "libs/models/video_data.h"
#include "libs/rollout/demo_prompt_source.h"
#include "libs/rollout/policy_replica.h"
#include "libs/rollout/tabletop_imaginer.h"

namespace vlarft::rollout {

struct PolicyBranchOptions {
  double fraction = 0.5;         // share of each training batch that is branch clips (0..1)
  int64_t chunks_per_state = 4;  // SDE chunks sampled and executed per demonstration state
  absl::Status Validate() const;
};

class PolicyBranchVideoData : public models::VideoDataSource {
 public:
  // `prompts` (the states; its dataset is the one the real simulator replays) and `demos` (the
  // demonstration clips and the action statistics) are borrowed and must outlive this source.
  // The policy's frame size must be the prompts'.
  static absl::StatusOr<std::unique_ptr<PolicyBranchVideoData>> Create(models::VlaPolicy policy,
                                                                        DemoPromptSource* prompts,
                                                                        models::VideoDataSource* demos,
                                                                        PolicyBranchOptions options);

  // Training: round(batch * fraction) branch clips (whole groups of chunks_per_state, the last one
  // cut short), the rest demonstration clips; `steps` must be the policy's chunk length. Validation:
  // demonstration clips only. Deterministic given the generator's state.
  absl::StatusOr<models::VideoClips> SampleClips(int64_t batch, int64_t steps, bool validation,
                                                 at::Generator& generator) override;
  int64_t image_size() const override { return demos_->image_size(); }
  std::vector<double> ActionMin() const override { return demos_->ActionMin(); }
  std::vector<double> ActionMax() const override { return demos_->ActionMax(); }

  int64_t branch_clips() const { return branch_clips_; }  // produced so far

 private:
  PolicyBranchVideoData(models::VlaPolicy policy, DemoPromptSource* prompts, models::VideoDataSource* demos,
                        PolicyBranchOptions options);
  // `count` clips from the SDE chunks of ceil(count / chunks_per_state) states.
  absl::StatusOr<models::VideoClips> BranchClips(int64_t count, at::Generator& generator);

  PolicyReplica policy_;
  int64_t chunk_length_;
  DemoPromptSource* prompts_;
  models::VideoDataSource* demos_;
  TabletopImaginer simulator_;
  PolicyBranchOptions options_;
  int64_t branch_clips_ = 0;
};

}  // namespace vlarft::rollout
