// `vlarft eval`: runs a policy in the benchmark and reports the paper-style table (DESIGN.md §7):
// success per task and suite with 95% Wilson intervals, the average, and the same under each
// perturbation. Episodes of all selected tasks run in lockstep so a neural policy sees one large
// batch per decision; environments step and render in parallel threads.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "libs/tabletop/env.h"
#include "libs/tabletop/tasks.h"

namespace vlarft::tabletop {

struct Observation {
  std::vector<uint8_t> frame;  // RGB [size][size][3]
  int size = 64;
  std::string instruction;
  std::array<float, 8> proprio{};  // ee_states (6) + gripper_states (2)
  int task_index = 0;
  int episode = 0;  // index of the episode within this evaluation (stable across decisions)
  int step = 0;     // environment steps taken so far
};

// Up to 8 actions executed open-loop before the next observation (LIBERO-style chunking).
using ActionChunk = std::vector<Action>;

class Policy {
 public:
  virtual ~Policy() = default;
  virtual std::string name() const = 0;
  // One chunk per observation, same order. Called from one thread at a time.
  virtual absl::StatusOr<std::vector<ActionChunk>> ActBatch(const std::vector<Observation>& observations) = 0;
};

// The scripted expert (noise-free) behind the Policy interface, for tests and as an upper bound.
// It reads the true state: `envs` is the list Evaluate fills (all episodes, by episode index).
std::unique_ptr<Policy> MakeExpertPolicy(const std::vector<const TabletopEnv*>* envs);
// Uniformly random actions in [-1, 1], seeded.
std::unique_ptr<Policy> MakeRandomPolicy(uint64_t seed);

struct EvalOptions {
  std::vector<std::string> suites;  // empty = all four
  int episodes_per_task = 50;
  uint64_t seed = 0;                // episode e of task t uses layout seed StreamSeed(seed, t, e)
  PerturbationSpec perturbation;
  int image_size = 64;
  int threads = 2;
  int chunk_length = 8;             // actions executed per decision (policy chunks are truncated)
};

struct Interval {
  double rate = 0, low = 0, high = 0;
};
// 95% Wilson score interval of `successes` out of `trials`.
Interval Wilson(int64_t successes, int64_t trials);

struct TaskOutcome {
  std::string suite, task;
  int successes = 0, episodes = 0;
};

struct EvalReport {
  std::string policy;
  std::string perturbation;
  std::vector<TaskOutcome> tasks;
  struct Suite {
    std::string name;
    int successes = 0, episodes = 0;
    Interval success;
  };
  std::vector<Suite> suites;
  Interval average;  // mean of suite rates, interval over all episodes pooled
  double seconds = 0;
};

// `envs_out` (optional) receives every episode's environment, by episode index, before the first
// decision (the expert policy reads true state through it).
absl::StatusOr<EvalReport> Evaluate(Policy& policy, const EvalOptions& options,
                                    std::vector<const TabletopEnv*>* envs_out = nullptr);

std::string ReportJson(const EvalReport& report);
// Paper-style Markdown table; several reports (e.g. base and RFT) become columns.
std::string ReportMarkdown(const std::vector<EvalReport>& reports);

}  // namespace vlarft::tabletop
