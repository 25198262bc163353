// Prompts at states the policy itself reaches. Demonstration prompts (demo_prompt_source.h) only
// show the policy states an expert visited, but this policy fails later in its own episodes, where
// its earlier chunks left the scene somewhere no demonstration went (docs/results.md, "The RFT
// harness"). Each prompt here starts from a demonstration's first state (rebuilt bit for bit,
// libs/data/demo_replay.h), lets the policy act for k chunks (k in [1, max_decisions], drawn from
// the prompt's index) and stops: the frame and proprio there, and the scripted expert's next actions
// from that exact state (the expert observes every step, so it stays in step with the episode's plan
// and noise stream, as in the tabletop imaginer), with Prompt::simulator_state set so the
// real-simulator backend continues from it. An episode that ends (solved or out of steps) within k
// chunks gives the last state before its final chunk.
#pragma once

#include <cstdint>
#include <mutex>

#include "libs/data/demo_replay.h"
#include "libs/rollout/demo_prompt_source.h"
#include "libs/tabletop/evaluation.h"

namespace vlarft::rollout {

struct PolicyStatePromptOptions {
  int max_decisions = 6;   // chunks the policy acts before the prompt: 1..max_decisions
  int chunk_length = 8;    // actions per policy decision (the policy's chunk length)
  int64_t expert_steps = 8;  // expert actions per prompt (chunk_length × horizon)
};

class PolicyStatePromptSource : public PromptSource {
 public:
  // `demos` picks the episodes (the same train split and index → episode map) and must hold their
  // frames (not streamed); `policy` acts, one observation at a time under a lock. Both borrowed.
  PolicyStatePromptSource(DemoPromptSource* demos, tabletop::Policy* policy, data::DemoReplayOptions replay,
                          PolicyStatePromptOptions options)
      : demos_(demos), policy_(policy), replayer_(&demos->dataset(), replay), options_(options) {}
  // Thread-safe; the same index gives the same prompt (for a deterministic policy).
  absl::StatusOr<Prompt> Get(uint64_t index) override;

 private:
  DemoPromptSource* demos_;
  tabletop::Policy* policy_;
  data::DemoReplayer replayer_;
  PolicyStatePromptOptions options_;
  std::mutex policy_mu_;
};

}  // namespace vlarft::rollout
