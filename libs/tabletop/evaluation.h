// `vlarft eval`'s harness: runs a policy in the benchmark (docs/benchmark.md) and reports the
// paper-style table (report.h). Every episode of every selected task runs in lockstep, so a neural
// policy sees one large batch per decision; environments step and render on a pool of threads.
// Episode e of task t always starts from layout seed StreamSeed(seed, t.index, e), so two policies
// evaluated with the same options face exactly the same scenes.
#pragma once

#include <functional>

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "libs/tabletop/env.h"
#include "libs/tabletop/report.h"
#include "libs/tabletop/tasks.h"

namespace vlarft::tabletop {

struct Observation {
  std::vector<uint8_t> frame;  // RGB [size][size][3], row-major (render.h)
  int size = 64;               // frame height = width
  std::string instruction;
  std::array<float, 8> proprio{};  // ee_states (6) + gripper_states (2), as in the demos
  int task_index = 0;              // AllTasks() index
  int episode = 0;                 // index of the episode within this evaluation (stable across decisions)
  int step = 0;                    // environment steps taken so far (0 = a new episode)
  // NextSubgoalXy (subgoal.h), metres: privileged simulator state for diagnostics (`vlarft eval
  // --oracle_subgoal`); a deployable policy must not read it.
  std::array<float, 2> privileged_subgoal{};
};

// Up to chunk_length actions executed open-loop before the next observation (LIBERO-style
// chunking); longer chunks are truncated, an empty one idles for one step.
using ActionChunk = std::vector<Action>;

class Policy {
 public:
  virtual ~Policy() = default;
  virtual std::string name() const = 0;
  // One chunk per observation, in the same order. Called from one thread at a time; batches hold
  // the episodes still running (any subset, any order of episode indices).
  virtual absl::StatusOr<std::vector<ActionChunk>> ActBatch(const std::vector<Observation>& observations) = 0;
};

// Where a lockstep run of episodes stands after a decision.
struct EpisodeProgress {
  int decisions = 0;      // ActBatch calls so far
  int max_decisions = 0;  // upper bound for the whole run (the longest remaining step budget)
  int finished = 0;       // episodes done (solved or out of steps)
  int episodes = 0;
};

struct EvalOptions {
  std::vector<std::string> suites;  // empty = all four
  int episodes_per_task = 50;
  uint64_t seed = 0;
  PerturbationSpec perturbation;
  int image_size = 64;
  int threads = 2;       // environment stepping/rendering threads
  int chunk_length = 8;  // actions executed per decision
  // Called after every decision of the lockstep loop (see RunEpisodes), for progress lines.
  std::function<void(const EpisodeProgress&)> progress;
};

// What a policy sees of `env` (rendered at image_size × image_size); `episode` is its index in the batch.
Observation Observe(const TabletopEnv& env, int image_size, int episode);

// policy.ActBatch(observations), its errors prefixed with the policy's name, and INTERNAL unless it
// returned exactly one chunk per observation.
absl::StatusOr<std::vector<ActionChunk>> ActChecked(Policy& policy, const std::vector<Observation>& observations);

// Drives every environment in `envs` with `policy` until each is done (solved or out of steps), in
// lockstep: one ActBatch per decision over the episodes still running (Observation::episode is the
// index into `envs`), rendering and stepping on `threads` threads. Evaluate's loop; the rollout
// library uses it to let a policy finish episodes from given states.
absl::Status RunEpisodes(Policy& policy, const std::vector<TabletopEnv*>& envs, int image_size, int chunk_length,
                         int threads, const std::function<void(const EpisodeProgress&)>& progress = nullptr);

// `envs_out` (optional) receives every episode's environment, by episode index, before the first
// decision (the scripted expert reads true state through it).
absl::StatusOr<EvalReport> Evaluate(Policy& policy, const EvalOptions& options,
                                    std::vector<const TabletopEnv*>* envs_out = nullptr);

}  // namespace vlarft::tabletop
