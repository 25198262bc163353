#include "libs/data/demo_replay.h"

#include <cstring>
#include <vector>

#include "absl/strings/str_cat.h"
#include "libs/tabletop/random.h"
#include "libs/tabletop/tasks.h"

namespace vlarft::data {
namespace {

bool FrameEquals(const tabletop::TabletopEnv& env, const Episode& e, int64_t t) {
  std::vector<uint8_t> frame(static_cast<size_t>(e.size) * e.size * 3);
  env.RenderInto(e.size, frame.data());
  return std::memcmp(frame.data(), e.frame(t), frame.size()) == 0;
}

}  // namespace

absl::StatusOr<uint64_t> DemoReplayer::FindLayoutSeed(int64_t episode) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = seeds_.find(episode);
    if (it != seeds_.end()) return it->second;
  }
  if (episode < 0 || episode >= static_cast<int64_t>(dataset_->episodes.size())) {
    return absl::OutOfRangeError(absl::StrCat("episode ", episode, " is not in the dataset (",
                                              dataset_->episodes.size(), " episodes)"));
  }
  const Episode& e = dataset_->episodes[episode];
  absl::StatusOr<const tabletop::Task*> task = tabletop::FindTask(e.task);
  if (!task.ok()) {
    return absl::FailedPreconditionError(absl::StrCat("episode ", episode, " is of task '", e.task,
                                                      "', which is not a built-in benchmark task"));
  }
  for (int a = 0; a < options_.max_attempts; ++a) {
    const uint64_t seed = tabletop::StreamSeed(options_.seed, (*task)->index, a);
    if (!FrameEquals(tabletop::TabletopEnv(**task, seed), e, 0)) continue;
    std::lock_guard<std::mutex> lock(mu_);
    seeds_[episode] = seed;
    return seed;
  }
  return absl::FailedPreconditionError(absl::StrCat(
      "episode ", episode, " (", e.task, "): no layout among the first ", options_.max_attempts,
      " attempts of generation seed ", options_.seed, " renders its first frame (made with other settings, "
      "resized on load, or not a built-in benchmark demonstration?)"));
}

absl::StatusOr<DemoState> DemoReplayer::StateAt(int64_t episode, int64_t step) {
  absl::StatusOr<uint64_t> seed = FindLayoutSeed(episode);
  if (!seed.ok()) return seed.status();
  const Episode& e = dataset_->episodes[episode];
  if (step < 0 || step >= e.length) {
    return absl::OutOfRangeError(absl::StrCat("step ", step, " is outside episode ", episode, " (", e.length, " steps)"));
  }
  const tabletop::Task& task = **tabletop::FindTask(e.task);
  DemoState state{tabletop::TabletopEnv(task, *seed), tabletop::ScriptedExpert({options_.noise, options_.pause_prob}, *seed),
                  *seed};
  for (int64_t t = 0; t < step; ++t) {
    const tabletop::Action action = state.expert.Act(state.env);
    if (std::memcmp(action.data(), e.action(t), sizeof(float) * kActionDim) != 0) {
      return absl::FailedPreconditionError(absl::StrCat(
          "episode ", episode, " (", e.task, "): the expert's replayed action at step ", t,
          " differs from the stored one (expert noise ", options_.noise, ", pause probability ", options_.pause_prob,
          " are not the generation settings?)"));
    }
    state.env.Step(action);
  }
  if (!FrameEquals(state.env, e, step)) {
    return absl::DataLossError(absl::StrCat("episode ", episode, " (", e.task, "): the replayed frame at step ", step,
                                            " differs from the stored one"));
  }
  return state;
}

}  // namespace vlarft::data
