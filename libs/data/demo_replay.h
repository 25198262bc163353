// The exact simulator state behind a demonstration step of the built-in benchmark, for backends
// that execute actions from an RFT prompt in the real simulator (the tabletop imaginer and the
// ground-truth scorer, docs/architecture.md "The rollout loop").
//
// Demonstrations are made from seeds (generate.h: episode attempt a of task i starts from layout
// StreamSeed(seed, i, a) and the expert's noise stream of the same seed), but a file keeps only
// frames and actions. The state is rebuilt by finding the attempt whose first frame equals the
// stored one, then replaying the scripted expert: every action it takes must equal the stored action
// bit for bit, and the frame rendered at the prompt's step must equal the stored frame bit for bit.
// Anything else (other generation settings, a real LIBERO file, frames resized on load) is a
// FAILED_PRECONDITION naming the episode, never an approximate state.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>

#include "absl/status/statusor.h"
#include "libs/data/demo_dataset.h"
#include "libs/tabletop/env.h"
#include "libs/tabletop/expert.h"

namespace vlarft::data {

// The generation settings the demonstrations were made with (GenerateOptions' defaults).
struct DemoReplayOptions {
  uint64_t seed = 0;
  double noise = 0.15;
  double pause_prob = 0.03;
  int max_attempts = 4000;  // attempts searched per task for the episode's layout
};

struct DemoState {
  tabletop::TabletopEnv env;        // after `step` actions
  tabletop::ScriptedExpert expert;  // in step with the episode (its plan and noise stream)
  uint64_t layout_seed = 0;
};

class DemoReplayer {
 public:
  DemoReplayer(const DemoDataset* dataset, DemoReplayOptions options) : dataset_(dataset), options_(options) {}
  // The state before actions[step] of dataset episode `episode`. Thread-safe; the layout search
  // runs once per episode.
  absl::StatusOr<DemoState> StateAt(int64_t episode, int64_t step);

 private:
  absl::StatusOr<uint64_t> FindLayoutSeed(int64_t episode);
  const DemoDataset* dataset_;
  DemoReplayOptions options_;
  std::mutex mu_;
  std::map<int64_t, uint64_t> seeds_;  // episode -> layout seed
};

}  // namespace vlarft::data
