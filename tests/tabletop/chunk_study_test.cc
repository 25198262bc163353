// Chunk perturbations (chunk_perturbation.h) and the ground truth of a chunk (chunk_outcome.h).
#include <cmath>

#include "gtest/gtest.h"
#include "libs/tabletop/chunk_outcome.h"
#include "libs/tabletop/chunk_perturbation.h"
#include "libs/tabletop/expert.h"
#include "libs/tabletop/tasks.h"

namespace vlarft::tabletop {
namespace {

std::vector<Action> SampleChunk() {
  std::vector<Action> chunk;
  for (int t = 0; t < 8; ++t) {
    chunk.push_back({0.5f - 0.1f * t, -0.3f, 0.2f * (t % 3) - 0.2f, 0.f, 0.f, 0.f, t < 5 ? -1.f : 1.f});
  }
  return chunk;
}

ChunkPerturbation Parse(const std::string& name) {
  absl::StatusOr<ChunkPerturbation> p = ParseChunkPerturbation(name);
  EXPECT_TRUE(p.ok()) << p.status();
  return *p;
}

TEST(ChunkPerturbationTest, DefaultNamesRoundTrip) {
  const std::vector<std::string> names = DefaultChunkPerturbationNames();
  EXPECT_EQ(names.size(), 16u);
  EXPECT_EQ(names[0], "none");
  for (const std::string& name : names) EXPECT_EQ(Parse(name).Name(), name);
  EXPECT_EQ(Parse("gripper_flip:4").KindName(), "gripper_flip");
}

TEST(ChunkPerturbationTest, BadNamesAreInvalidArguments) {
  for (const char* bad : {"jitter:1", "gauss", "gauss:abc", "gauss:-1", "gripper_flip:0", "gripper_flip:2.5",
                          "drift:-0.1", "rotation:nan", ""}) {
    const absl::StatusOr<ChunkPerturbation> p = ParseChunkPerturbation(bad);
    EXPECT_EQ(p.status().code(), absl::StatusCode::kInvalidArgument) << bad;
  }
  EXPECT_TRUE(ParseChunkPerturbation("scale:-1").ok());  // negative scales are the wrong-direction family
}

TEST(ChunkPerturbationTest, EachKindChangesOnlyWhatItSays) {
  const std::vector<Action> chunk = SampleChunk();
  Random rng(5);
  EXPECT_EQ(PerturbChunk(chunk, Parse("none"), rng), chunk);

  const std::vector<Action> reversed = PerturbChunk(chunk, Parse("scale:-1"), rng);
  const std::vector<Action> frozen = PerturbChunk(chunk, Parse("scale:0"), rng);
  const std::vector<Action> gauss = PerturbChunk(chunk, Parse("gauss:1"), rng);
  const std::vector<Action> rotated = PerturbChunk(chunk, Parse("rotation:1"), rng);
  const std::vector<Action> flipped = PerturbChunk(chunk, Parse("gripper_flip:3"), rng);
  const std::vector<Action> drifted = PerturbChunk(chunk, Parse("drift:0.1"), rng);
  int gauss_changed = 0;
  for (size_t t = 0; t < chunk.size(); ++t) {
    for (int d = 0; d < 7; ++d) {
      const bool xyz = d < 3, rpy = d >= 3 && d < 6;
      EXPECT_FLOAT_EQ(reversed[t][d], xyz ? -chunk[t][d] : chunk[t][d]);
      EXPECT_FLOAT_EQ(frozen[t][d], xyz ? 0.f : chunk[t][d]);
      if (xyz) {
        EXPECT_LE(std::abs(gauss[t][d]), 1.f);
        gauss_changed += gauss[t][d] != chunk[t][d];
      } else {
        EXPECT_EQ(gauss[t][d], chunk[t][d]);
      }
      if (rpy) {
        EXPECT_NE(rotated[t][d], chunk[t][d]);
      } else {
        EXPECT_EQ(rotated[t][d], chunk[t][d]);
      }
      if (d < 6) {
        EXPECT_EQ(flipped[t][d], chunk[t][d]);
      }
    }
    // The last three steps' gripper commands are inverted, the rest kept.
    EXPECT_EQ(flipped[t][6], t >= 5 ? -chunk[t][6] : chunk[t][6]) << t;
    // Drift: one offset vector of length 0.1 for every step (nothing here is near the clip).
    double len = 0;
    for (int d = 0; d < 3; ++d) {
      const double offset = drifted[t][d] - chunk[t][d];
      EXPECT_NEAR(offset, drifted[0][d] - chunk[0][d], 1e-6);
      len += offset * offset;
    }
    EXPECT_NEAR(std::sqrt(len), 0.1, 1e-6);
  }
  EXPECT_GT(gauss_changed, 20);
  // Flipping more steps than the chunk has flips them all.
  const std::vector<Action> all = PerturbChunk(chunk, Parse("gripper_flip:99"), rng);
  for (size_t t = 0; t < chunk.size(); ++t) EXPECT_EQ(all[t][6], -chunk[t][6]);
}

TEST(ChunkPerturbationTest, RandomKindsAreDeterministicInTheStream) {
  const std::vector<Action> chunk = SampleChunk();
  Random a(11), b(11), c(12);
  EXPECT_EQ(PerturbChunk(chunk, Parse("gauss:0.5"), a), PerturbChunk(chunk, Parse("gauss:0.5"), b));
  Random a2(11);
  EXPECT_NE(PerturbChunk(chunk, Parse("gauss:0.5"), a2), PerturbChunk(chunk, Parse("gauss:0.5"), c));
}

// The state after `k` expert steps of an episode, and the expert that took them.
struct State {
  TabletopEnv env;
  ScriptedExpert expert;
};

State AfterExpertSteps(const Task& task, uint64_t seed, ExpertOptions options, int k) {
  State s{TabletopEnv(task, seed), ScriptedExpert(options, seed)};
  for (int t = 0; t < k && !s.env.done(); ++t) s.env.Step(s.expert.Act(s.env));
  return s;
}

TEST(ChunkOutcomeTest, TheExpertsOwnChunkReproducesItsEpisode) {
  const ExpertOptions noisy{0.15, 0.03};  // as `vlarft data generate`
  int checked = 0;
  for (const Task* task : {&AllTasks()[0], &AllTasks()[13], &AllTasks()[25], &AllTasks()[35]}) {
    for (uint64_t seed : {3, 4}) {
      State whole = AfterExpertSteps(*task, seed, noisy, 1000);
      for (int k : {0, 9, 20}) {
        if (k >= whole.env.steps()) continue;
        const State s = AfterExpertSteps(*task, seed, noisy, k);
        std::vector<uint8_t> expert_frames;
        const std::vector<Action> chunk = ExpertChunk(s.env, s.expert, 8, 16, &expert_frames);
        const ChunkOutcome outcome = ExecuteChunkThenExpert(s.env, s.expert, chunk, 16);
        EXPECT_EQ(outcome.success, whole.env.success()) << task->name << " seed " << seed << " k " << k;
        EXPECT_EQ(outcome.steps, whole.env.steps()) << task->name << " seed " << seed << " k " << k;
        EXPECT_EQ(outcome.frames, expert_frames);
        EXPECT_EQ(outcome.frames.size(), 8u * 16 * 16 * 3);
        ++checked;
      }
    }
  }
  EXPECT_GE(checked, 20);
}

TEST(ChunkOutcomeTest, IdlingAtTheStartDelaysANoiseFreeExpertByTheChunkLength) {
  const ExpertOptions clean{0.0, 0.0};
  for (const Task* task : {&AllTasks()[2], &AllTasks()[17]}) {
    const State s = AfterExpertSteps(*task, 7, clean, 0);
    const ChunkOutcome expert = ExecuteChunkThenExpert(s.env, s.expert, ExpertChunk(s.env, s.expert, 8));
    ASSERT_TRUE(expert.success) << task->name;
    // Gripper open (as at the start), no motion: the expert's plan has not advanced.
    const std::vector<Action> idle(8, Action{0, 0, 0, 0, 0, 0, -1.f});
    const ChunkOutcome delayed = ExecuteChunkThenExpert(s.env, s.expert, idle);
    EXPECT_TRUE(delayed.success);
    EXPECT_EQ(delayed.steps, expert.steps + 8) << task->name;
  }
}

TEST(ChunkOutcomeTest, RotationNoiseChangesNothingInTheSimulator) {
  const ExpertOptions noisy{0.15, 0.03};
  const State s = AfterExpertSteps(AllTasks()[5], 2, noisy, 12);
  const std::vector<Action> chunk = ExpertChunk(s.env, s.expert, 8);
  Random rng(1);
  const ChunkOutcome a = ExecuteChunkThenExpert(s.env, s.expert, chunk, 16);
  const ChunkOutcome b = ExecuteChunkThenExpert(s.env, s.expert, PerturbChunk(chunk, Parse("rotation:1"), rng), 16);
  EXPECT_EQ(a.success, b.success);
  EXPECT_EQ(a.steps, b.steps);
  EXPECT_EQ(a.frames, b.frames);
}

// Over many states, large wrong-direction and gripper perturbations cost the expert time on
// average, and the benchmark's budget still lets it recover from most of them.
TEST(ChunkOutcomeTest, HarmfulPerturbationsCostStepsOnAverage) {
  const ExpertOptions noisy{0.15, 0.03};
  double expert_steps = 0, reversed_steps = 0, flipped_steps = 0;
  int n = 0, reversed_success = 0;
  for (const Task* task : TasksOfSuites({"spatial", "goal"})) {
    const State whole = AfterExpertSteps(*task, 1, noisy, 1000);
    const State s = AfterExpertSteps(*task, 1, noisy, whole.env.steps() / 3);
    const std::vector<Action> chunk = ExpertChunk(s.env, s.expert, 8);
    Random rng(0);
    const ChunkOutcome e = ExecuteChunkThenExpert(s.env, s.expert, chunk);
    const ChunkOutcome r = ExecuteChunkThenExpert(s.env, s.expert, PerturbChunk(chunk, Parse("scale:-1"), rng));
    const ChunkOutcome f = ExecuteChunkThenExpert(s.env, s.expert, PerturbChunk(chunk, Parse("gripper_flip:8"), rng));
    expert_steps += e.steps, reversed_steps += r.steps, flipped_steps += f.steps;
    reversed_success += r.success;
    ++n;
  }
  EXPECT_GT(reversed_steps / n, expert_steps / n + 4);
  EXPECT_GT(flipped_steps / n, expert_steps / n);
  EXPECT_GT(reversed_success, n / 2);
}

}  // namespace
}  // namespace vlarft::tabletop
