// `vlarft study rft`'s experiment: the whole GRPO loop in one process, for controlled experiments
// (docs/results.md, "The RFT harness"). The same rollout loop (libs/rollout GroupProducer) and the
// same learner step (rl::GrpoLearner) as the distributed pipeline, on-policy (the sampler shares the
// learner's module, so every group is sampled with the current weights), with a choice of reward:
//   oracle       the benchmark's ground truth: chunks executed in the real simulator from the
//                prompt's exact state, the expert finishes (tabletop_imaginer.h: progress)
//   real_frames  the type-3 formula on real rendered frames of the policy's and the expert's chunks
//   tokenized_frames  the same frames after a round trip through the world model's tokenizer: what
//                a dynamics model that predicts every token right would imagine (tokenized_imaginer.h)
//   world_model  the paper's reward: the type-3 formula on world-model imaginations (as `vlarft rft`)
//   world_model_blend  the type-3 formula on tokenized real frames + w · (imagination − them)
//                (blended_imaginer.h): a world model w times as wrong as ours (w = world_model_weight)
// and a control that destroys the reward's information while keeping everything else:
//   shuffled     rewards permuted inside each group (same reward distribution, no credit)
//   zero         advantages zeroed: only the flow-matching anchor and the entropy bonus act
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "libs/models/policy.h"
#include "libs/rl/grpo.h"
#include "libs/rl/grpo_learner.h"
#include "libs/reward/reward_config.h"
#include "libs/rollout/group_producer.h"

namespace vlarft::studies {

enum class StudyReward { kOracle, kRealFrames, kTokenizedFrames, kWorldModel, kWorldModelBlend };
enum class StudyControl { kNone, kShuffled, kZero };
absl::StatusOr<StudyReward> ParseStudyReward(const std::string& name);
absl::StatusOr<StudyControl> ParseStudyControl(const std::string& name);

struct RftStudyOptions {
  std::string policy;          // stem of the start policy
  std::string dataset;         // prompt demonstrations
  std::vector<std::string> suites;
  uint64_t split_seed = 1;     // the rollout workers' split seed (rollout.seed)
  double validation_fraction = 0.1;
  std::string tokenizer, world_model;  // stems (world_model reward; tokenizer also for the perceptual term)
  StudyReward reward = StudyReward::kOracle;
  StudyControl control = StudyControl::kNone;
  int64_t steps = 100;
  int64_t prompts_per_step = 2;
  uint64_t seed = 1;           // training seed: prompts, policy noise, world-model noise, learner draws
  rollout::GroupProducerOptions producer;
  rl::GrpoConfig grpo;
  rl::LearnerOptimConfig optim;
  reward::RewardConfig scoring;
  // With reward oracle: who finishes each sample's episode after its chunk. "expert" (the scripted
  // expert: the chunk's value under an expert continuation) or "policy" (the policy being trained,
  // deterministic ODE sampling as in evaluation: the chunk's value under the policy's own
  // continuation, i.e. its success). tabletop_imaginer.h says more.
  std::string oracle_finisher = "expert";
  bool finisher_bf16 = false;  // bf16 autocast for the finishing policy (as the evaluation runs)
  // With reward world_model: how a step's groups share the world model, "parallel" (each on its own
  // thread at once: a CPU's cores) or "batched" (one decode loop: a GPU). world_model_imaginer.h.
  std::string imagine = "parallel";
  // With reward world_model_blend: w, the world model's share of the frames, in [0, 1].
  double world_model_weight = 1.0;
};

struct RftStudyStep {
  int64_t step = 0;
  rl::LearnerStepMetrics metrics;  // reward_mean etc. of the rewards as the learner saw them
  double reward_mean = 0;          // of the true (unshuffled) rewards
  double seconds = 0;              // since the start
};

struct RftStudyResult {
  models::VlaPolicy tuned{nullptr};
  std::vector<RftStudyStep> steps;
  rollout::StageSeconds stage_seconds;  // summed over groups
  double learner_seconds = 0, seconds = 0;
};

absl::StatusOr<RftStudyResult> RunRftStudy(const RftStudyOptions& options,
                                           const std::function<void(const std::string&)>& say);

}  // namespace vlarft::studies
