// The real benchmark behind the Imaginer interface: each prompt's exact simulator state is rebuilt
// from its demonstration (data/demo_replay.h), every sample's chunk and the expert's chunk are
// executed in the tabletop simulator and rendered. Its sessions know the ground truth:
//
//   Outcome(): from where each sample's chunks left the scene, the scripted expert (in step with
//   the demonstration: same plan, same noise stream) finishes the episode within the task's step
//   budget. progress = success ? 1 + (max_steps − steps_used) / max_steps : 0, in [0, 2]: solving
//   matters most, then solving sooner. The expert finishes rather than the policy because it is
//   cheap, deterministic given the state, and good at finishing from anywhere, so the value
//   measures what the chunk itself did (a chunk toward the wrong cube costs the steps to come back).
//
//   With a finisher (set_finisher): the given policy finishes every sample's episode instead, in
//   lockstep over the group (tabletop::RunEpisodes). Then the value is the *policy's* return after
//   the chunk — what RFT optimises in the benchmark (SimpleVLA-RL style) — and failures the policy
//   makes later (a wrong subgoal at a later decision) count, where the expert would have recovered.
//   Costlier: ~10 decisions per sample.
//
// Same-state rule: samples and the reference all start from copies of one state, so within a group
// the only difference is the chunks (common random numbers).
#pragma once

#include <memory>

#include "libs/data/demo_replay.h"
#include "libs/rollout/imaginer.h"
#include "libs/tabletop/evaluation.h"

namespace vlarft::rollout {

class TabletopImaginer : public Imaginer {
 public:
  // `dataset` is the one prompts are drawn from (Prompt::episode indexes it); borrowed.
  TabletopImaginer(const data::DemoDataset* dataset, data::DemoReplayOptions options) : replayer_(dataset, options) {}
  std::string name() const override { return "tabletop simulator"; }
  absl::StatusOr<std::unique_ptr<ImaginationSession>> Start(const Prompt& prompt,
                                                            const ImagineSettings& settings) override;
  // Who finishes the episodes in Outcome(): null = the scripted expert (default). Borrowed; must be
  // safe to call from the threads that call Outcome() (tabletop::Policy is single-threaded, so a
  // shared one needs a lock around it).
  void set_finisher(tabletop::Policy* finisher) { finisher_ = finisher; }

 private:
  data::DemoReplayer replayer_;
  tabletop::Policy* finisher_ = nullptr;
};

// The chunk value above, from an outcome of the benchmark.
float ChunkProgress(bool success, int steps_used, int max_steps);

}  // namespace vlarft::rollout
