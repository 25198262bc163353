// The real-simulator backend of the rollout loop: demonstration states rebuilt bit for bit
// (libs/data/demo_replay.h), chunks executed in the benchmark (tabletop_imaginer.h), and the ground
// truth the oracle scorer reads.
#include "libs/rollout/tabletop_imaginer.h"

#include <cstring>
#include <set>

#include "gtest/gtest.h"
#include "libs/data/demo_replay.h"
#include "libs/rollout/demo_prompt_source.h"
#include "libs/rollout/policy_state_prompt_source.h"
#include "libs/rollout/scorers.h"
#include "tests/data/test_files.h"

namespace vlarft::rollout {
namespace {

constexpr int kSize = 32;

const std::string& DatasetDir() {
  static const std::string* dir = [] {
    const absl::StatusOr<std::string> dir =
        data::testing::GenerateDemosForTest("tabletop_imaginer", {"goal", "long"}, 2, kSize);
    EXPECT_TRUE(dir.ok()) << dir.status();
    return new std::string(dir.value_or(""));
  }();
  return *dir;
}

const data::DemoDataset& Dataset() {
  static const data::DemoDataset* dataset = [] {
    auto loaded = data::LoadDemoDirectory(DatasetDir(), {}, kSize);
    EXPECT_TRUE(loaded.ok()) << loaded.status();
    return new data::DemoDataset(std::move(*loaded));
  }();
  return *dataset;
}

bool FrameIs(const tabletop::TabletopEnv& env, const uint8_t* stored) {
  std::vector<uint8_t> frame(kSize * kSize * 3);
  env.RenderInto(kSize, frame.data());
  return std::memcmp(frame.data(), stored, frame.size()) == 0;
}

TEST(DemoReplayTest, RebuildsEveryDemonstrationStateBitForBit) {
  const data::DemoDataset& dataset = Dataset();
  ASSERT_EQ(dataset.episodes.size(), 40u);
  data::DemoReplayer replayer(&dataset, {});
  for (int64_t e : {0, 1, 17, 39}) {
    const data::Episode& episode = dataset.episodes[e];
    for (int64_t t : {int64_t{0}, episode.length / 2, episode.length - 1}) {
      auto state = replayer.StateAt(e, t);
      ASSERT_TRUE(state.ok()) << state.status();
      EXPECT_TRUE(FrameIs(state->env, episode.frame(t))) << "episode " << e << " step " << t;
      EXPECT_EQ(state->env.steps(), t);
      const std::array<float, 8> proprio = state->env.proprio().Flat();
      EXPECT_EQ(std::memcmp(proprio.data(), episode.state(t), sizeof(proprio)), 0);
    }
  }
}

TEST(DemoReplayTest, StatesThatCannotBeRebuiltExactlyAreRefused) {
  data::DemoDataset dataset = Dataset();
  data::DemoReplayer wrong_settings(&dataset, {/*seed=*/0, /*noise=*/0.05, /*pause_prob=*/0.03, 4000});
  auto replayed = wrong_settings.StateAt(3, dataset.episodes[3].length - 1);
  ASSERT_FALSE(replayed.ok());
  EXPECT_EQ(replayed.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(std::string(replayed.status().message()).find("differs from the stored one"), std::string::npos);

  dataset.episodes[5].frames[0] ^= 0x40;  // a first frame no layout renders
  data::DemoReplayer replayer(&dataset, {});
  auto unknown = replayer.StateAt(5, 3);
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(std::string(unknown.status().message()).find("renders its first frame"), std::string::npos);
  EXPECT_EQ(replayer.StateAt(99, 0).status().code(), absl::StatusCode::kOutOfRange);
  EXPECT_EQ(replayer.StateAt(0, 100000).status().code(), absl::StatusCode::kOutOfRange);
}

Prompt PromptAt(const data::DemoDataset& dataset, int64_t episode, int64_t step) {
  const data::Episode& e = dataset.episodes[episode];
  Prompt p;
  p.task = e.task;
  p.episode = episode;
  p.step = step;
  p.frame = torch::from_blob(const_cast<uint8_t*>(e.frame(step)), {kSize, kSize, 3}, torch::kUInt8).clone();
  p.instruction = e.instruction;
  p.proprio = torch::from_blob(const_cast<float*>(e.state(step)), {8}, torch::kFloat32).clone();
  p.expert_actions = torch::from_blob(const_cast<float*>(e.action(step)), {8, 7}, torch::kFloat32).clone();
  return p;
}

TEST(TabletopImaginerTest, ExecutesChunksFromThePromptStateAndKnowsWhatTheyAchieved) {
  const data::DemoDataset& dataset = Dataset();
  const int64_t episode = 2, step = 4;
  const data::Episode& e = dataset.episodes[episode];
  ASSERT_GE(e.length, step + 9);
  TabletopImaginer imaginer(&dataset, {});
  const Prompt prompt = PromptAt(dataset, episode, step);
  ImagineSettings settings;
  settings.group_size = 3;
  auto session = imaginer.Start(prompt, settings);
  ASSERT_TRUE(session.ok()) << session.status();
  // Sample 0: the expert's own chunk. Sample 1: stand still. Sample 2: rush away along +x.
  torch::Tensor actions = torch::zeros({3, 8, 7});
  actions[0] = prompt.expert_actions;
  actions[2].select(1, 0).fill_(1.0);
  actions[2].select(1, 6).copy_(prompt.expert_actions.select(1, 6));
  auto chunk = (*session)->Next(actions, prompt.expert_actions);
  ASSERT_TRUE(chunk.ok()) << chunk.status();
  ASSERT_EQ(chunk->frames.sizes().vec(), (std::vector<int64_t>{3, 8, kSize, kSize, 3}));
  // The expert's chunk reproduces the demonstration's next frames, for the sample and the reference.
  for (int64_t t = 0; t < 8; ++t) {
    EXPECT_EQ(std::memcmp(chunk->frames[0][t].contiguous().data_ptr<uint8_t>(), e.frame(step + 1 + t), kSize * kSize * 3), 0);
    EXPECT_EQ(std::memcmp(chunk->reference[t].contiguous().data_ptr<uint8_t>(), e.frame(step + 1 + t), kSize * kSize * 3), 0);
  }
  EXPECT_FALSE(torch::equal(chunk->frames[2], chunk->frames[0]));
  auto truth = (*session)->Outcome();
  ASSERT_TRUE(truth.ok()) << truth.status();
  // The demonstration succeeded in e.length steps; continuing it after its own chunk does the same.
  EXPECT_TRUE(truth->success[0].item<bool>());
  const int max_steps = (*tabletop::FindTask(e.task))->max_steps;
  EXPECT_FLOAT_EQ(truth->progress[0].item<float>(), ChunkProgress(true, static_cast<int>(e.length), max_steps));
  // Wasting the chunk costs steps: less progress than the expert's chunk.
  EXPECT_LT(truth->progress[1].item<float>(), truth->progress[0].item<float>());
  EXPECT_LT(truth->progress[2].item<float>(), truth->progress[1].item<float>() + 1e-6);
  // The oracle scorer reads exactly that.
  GroundTruthScorer oracle;
  ScoreInputs inputs;
  inputs.session = session->get();
  auto rewards = oracle.Score(inputs);
  ASSERT_TRUE(rewards.ok());
  EXPECT_TRUE(torch::equal(*rewards, truth->progress));
  EXPECT_EQ((*session)->Next(actions, prompt.expert_actions).status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST(TabletopImaginerTest, RefusesPromptsThatAreNotTheReplayedStateAndBadActions) {
  const data::DemoDataset& dataset = Dataset();
  TabletopImaginer imaginer(&dataset, {});
  Prompt prompt = PromptAt(dataset, 1, 3);
  prompt.step = 5;  // frame of step 3, state of step 5
  ImagineSettings settings;
  settings.group_size = 2;
  auto mismatched = imaginer.Start(prompt, settings);
  ASSERT_FALSE(mismatched.ok());
  EXPECT_EQ(mismatched.status().code(), absl::StatusCode::kFailedPrecondition);
  prompt.step = 3;
  auto session = imaginer.Start(prompt, settings);
  ASSERT_TRUE(session.ok()) << session.status();
  torch::Tensor nan_actions = torch::zeros({2, 8, 7});
  nan_actions[1][2][0] = std::nanf("");
  EXPECT_EQ((*session)->Next(nan_actions, prompt.expert_actions).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ((*session)->Next(torch::zeros({3, 8, 7}), prompt.expert_actions).status().code(),
            absl::StatusCode::kInvalidArgument);
  // A world-model-only session has no ground truth.
  GroundTruthScorer oracle;
  EXPECT_EQ(oracle.Score({}).status().code(), absl::StatusCode::kFailedPrecondition);
}

// A deterministic stand-in for the policy: every chunk drifts the gripper along +x, open.
class DriftPolicy : public tabletop::Policy {
 public:
  std::string name() const override { return "drift"; }
  absl::StatusOr<std::vector<tabletop::ActionChunk>> ActBatch(const std::vector<tabletop::Observation>& obs) override {
    ++calls;
    tabletop::Action a{};
    a[0] = 0.3f;
    a[6] = -1.f;
    return std::vector<tabletop::ActionChunk>(obs.size(), tabletop::ActionChunk(8, a));
  }
  int calls = 0;
};

TEST(PolicyStatePromptSourceTest, PromptsStartWhereThePolicyLeftTheSceneAndTheSimulatorContinuesFromThere) {
  auto demos = DemoPromptSource::Load(DatasetDir(), {}, kSize, 1, 0.1, 8);
  ASSERT_TRUE(demos.ok()) << demos.status();
  DriftPolicy policy;
  PolicyStatePromptOptions options;
  options.max_decisions = 3;
  PolicyStatePromptSource source(demos->get(), &policy, {}, options);
  TabletopImaginer imaginer(&(*demos)->dataset(), {});
  std::set<int64_t> steps_seen;
  for (uint64_t index : {0, 1, 2, 3, 4, 5}) {
    auto prompt = source.Get(index);
    ASSERT_TRUE(prompt.ok()) << prompt.status();
    ASSERT_NE(prompt->simulator_state, nullptr);
    // k policy chunks of 8 steps from the episode's first state: rebuild it by hand, bit for bit.
    ASSERT_EQ(prompt->step % 8, 0);
    ASSERT_GE(prompt->step, 8);
    ASSERT_LE(prompt->step, 24);
    steps_seen.insert(prompt->step);
    data::DemoReplayer replayer(&(*demos)->dataset(), {});
    auto state = replayer.StateAt(prompt->episode, 0);
    ASSERT_TRUE(state.ok());
    tabletop::Action drift{};
    drift[0] = 0.3f;
    drift[6] = -1.f;
    for (int64_t t = 0; t < prompt->step; ++t) {
      state->expert.Act(state->env);
      state->env.Step(drift);
    }
    EXPECT_TRUE(FrameIs(state->env, prompt->frame.data_ptr<uint8_t>())) << "index " << index;
    const std::array<float, 8> proprio = state->env.proprio().Flat();
    EXPECT_EQ(std::memcmp(proprio.data(), prompt->proprio.data_ptr<float>(), sizeof(proprio)), 0);
    // The expert's continuation from there is what the real simulator renders for the reference.
    ImagineSettings settings;
    settings.group_size = 1;
    auto session = imaginer.Start(*prompt, settings);
    ASSERT_TRUE(session.ok()) << session.status();
    auto chunk = (*session)->Next(prompt->expert_actions.unsqueeze(0), prompt->expert_actions);
    ASSERT_TRUE(chunk.ok()) << chunk.status();
    EXPECT_TRUE(torch::equal(chunk->reference, prompt->expert_frames));
    EXPECT_TRUE(torch::equal(chunk->frames[0], prompt->expert_frames));
    // Same index, same prompt.
    auto again = source.Get(index);
    ASSERT_TRUE(again.ok());
    EXPECT_TRUE(torch::equal(again->frame, prompt->frame));
    EXPECT_TRUE(torch::equal(again->expert_actions, prompt->expert_actions));
    // Without the state, the backend would replay the demonstration to that step: a different scene,
    // which it refuses rather than execute from.
    Prompt stateless = *prompt;
    stateless.simulator_state = nullptr;
    EXPECT_EQ(imaginer.Start(stateless, settings).status().code(), absl::StatusCode::kFailedPrecondition);
  }
  EXPECT_GE(steps_seen.size(), 2u) << "the number of policy chunks should vary with the index";
}

TEST(PolicyStatePromptSourceTest, APolicyErrorNamesThePolicy) {
  auto demos = DemoPromptSource::Load(DatasetDir(), {}, kSize, 1, 0.1, 8);
  ASSERT_TRUE(demos.ok()) << demos.status();
  class Broken : public tabletop::Policy {
   public:
    std::string name() const override { return "broken policy"; }
    absl::StatusOr<std::vector<tabletop::ActionChunk>> ActBatch(const std::vector<tabletop::Observation>&) override {
      return absl::InvalidArgumentError("no weights");
    }
  } broken;
  PolicyStatePromptSource source(demos->get(), &broken, {}, {});
  auto prompt = source.Get(0);
  ASSERT_FALSE(prompt.ok());
  EXPECT_EQ(prompt.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(std::string(prompt.status().message()).find("broken policy: no weights"), std::string::npos);
}

}  // namespace
}  // namespace vlarft::rollout
