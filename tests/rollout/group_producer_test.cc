// The rollout loop (libs/rollout/group_producer.h) with fake simulator and reward backends: no
// network, no world model. Checks the group's layout, that rewards come from the scorer in sample
// order, and the closed-loop rule for horizon > 1: chunk k+1 is sampled from each sample's own last
// frame and a proprio rolled forward through its own chunk k, and the learner, recomputing the
// log-probs, reconstructs exactly those inputs (ratio 1 before any update).
#include "libs/rollout/group_producer.h"

#include "gtest/gtest.h"
#include "libs/rl/grpo_learner.h"
#include "libs/rl/proprio_rollforward.h"
#include "tests/models/policy_test_util.h"

namespace vlarft::rollout {
namespace {

using models::testing::MakeTinyPolicy;
using models::testing::Randomize;

// Frames whose pixels encode the chunk: every frame of sample i is filled with a value that grows
// with its actions' mean, so samples see different frames. The reference is all 7s.
class FakeImaginer : public Imaginer {
 public:
  std::string name() const override { return "fake imaginer"; }
  absl::StatusOr<std::unique_ptr<ImaginationSession>> Start(const Prompt& prompt, const ImagineSettings& s) override {
    ++starts;
    last_settings = s;
    return std::unique_ptr<ImaginationSession>(new Session(this, prompt.frame.size(0)));
  }
  int starts = 0;
  ImagineSettings last_settings;
  std::vector<torch::Tensor> actions_seen;

 private:
  struct Session : ImaginationSession {
    Session(FakeImaginer* owner, int64_t size) : owner(owner), size(size) {}
    absl::StatusOr<ImaginedChunk> Next(const torch::Tensor& actions, const torch::Tensor& reference) override {
      owner->actions_seen.push_back(actions.clone());
      const int64_t g = actions.size(0), c = actions.size(1);
      const torch::Tensor level = ((actions.mean({1, 2}) + 1) * 100).clamp(0, 255).to(torch::kUInt8);
      ImaginedChunk out;
      out.frames = level.view({g, 1, 1, 1, 1}).expand({g, c, size, size, 3}).contiguous();
      out.reference = torch::full({c, size, size, 3}, 7, torch::kUInt8);
      return out;
    }
    FakeImaginer* owner;
    int64_t size;
  };
};

// Reward = the mean pixel of the sample's frames minus the reference's: sample order must survive.
class FakeScorer : public Scorer {
 public:
  std::string name() const override { return "fake scorer"; }
  absl::StatusOr<torch::Tensor> Score(const ScoreInputs& in) override {
    frames_shape = in.frames.sizes().vec();
    return in.frames.to(torch::kFloat32).mean({1, 2, 3, 4}) - in.reference_frames.to(torch::kFloat32).mean();
  }
  std::vector<int64_t> frames_shape;
};

class WrongCountScorer : public Scorer {
 public:
  std::string name() const override { return "wrong-count scorer"; }
  absl::StatusOr<torch::Tensor> Score(const ScoreInputs& in) override { return torch::zeros({3}); }
};

Prompt TinyPrompt() {
  models::PolicyObservation obs = models::testing::TinyObservation(1);
  Prompt p;
  p.task = "t";
  p.frame = obs.frames[0].contiguous();
  p.instruction = obs.instructions[0];
  p.proprio = obs.proprio[0].contiguous();
  p.expert_actions = torch::rand({16, 7}) * 2 - 1;
  return p;
}

models::VlaPolicy TrainedLookingPolicy() {
  torch::manual_seed(3);
  models::VlaPolicy policy = MakeTinyPolicy();
  Randomize(*policy, 0.2);
  return policy;
}

TEST(GroupProducerTest, OneChunkGroupHasTheLearnersLayoutAndTheScorersRewards) {
  models::VlaPolicy policy = TrainedLookingPolicy();
  PolicyReplica replica(policy);
  replica.MarkVersion(4);
  FakeImaginer imaginer;
  FakeScorer scorer;
  GroupProducerOptions options;
  options.group_size = 6;
  GroupProducer producer(options, &replica, &imaginer, &scorer);
  const Prompt prompt = TinyPrompt();
  auto group = producer.Produce(prompt, core::SeedPath(9), "g1");
  ASSERT_TRUE(group.ok()) << group.status();
  const rl::RolloutGroupData& d = group->data;
  EXPECT_EQ(d.group_id, "g1");
  EXPECT_EQ(d.policy_version, 4);
  EXPECT_EQ(d.chains.sizes().vec(), (std::vector<int64_t>{6, 1, 5, 8, 7}));
  EXPECT_EQ(d.old_log_probs.sizes().vec(), (std::vector<int64_t>{6, 1, 4, 8, 7}));
  EXPECT_EQ(d.observations.sizes().vec(), (std::vector<int64_t>{1, 1, 16, 16, 3}));
  EXPECT_EQ(scorer.frames_shape, (std::vector<int64_t>{6, 8, 16, 16, 3}));
  EXPECT_TRUE(rl::ValidateRolloutGroup(d, policy->config()).ok());
  // Rewards in sample order: recompute from the actions the imaginer saw.
  const torch::Tensor level = ((imaginer.actions_seen[0].mean({1, 2}) + 1) * 100).clamp(0, 255).to(torch::kUInt8);
  EXPECT_TRUE(torch::allclose(d.rewards, level.to(torch::kFloat32) - 7));
  EXPECT_EQ(imaginer.last_settings.request_id, "g1");
  // Reproducible from the seed path; another seed path draws other chunks.
  auto again = producer.Produce(prompt, core::SeedPath(9), "g1");
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(torch::equal(again->data.chains, d.chains));
  auto other = producer.Produce(prompt, core::SeedPath(10), "g2");
  ASSERT_TRUE(other.ok());
  EXPECT_FALSE(torch::equal(other->data.chains, d.chains));
}

TEST(GroupProducerTest, ClosedLoopFeedsEachSamplesFrameAndRolledProprioAndTheLearnerAgrees) {
  models::VlaPolicy policy = TrainedLookingPolicy();
  PolicyReplica replica(policy);
  replica.MarkVersion(0);
  FakeImaginer imaginer;
  FakeScorer scorer;
  GroupProducerOptions options;
  options.group_size = 4;
  options.horizon = 2;
  GroupProducer producer(options, &replica, &imaginer, &scorer);
  const Prompt prompt = TinyPrompt();
  auto group = producer.Produce(prompt, core::SeedPath(5), "closed");
  ASSERT_TRUE(group.ok()) << group.status();
  const rl::RolloutGroupData& d = group->data;
  ASSERT_EQ(d.observations.sizes().vec(), (std::vector<int64_t>{4, 2, 16, 16, 3}));
  ASSERT_EQ(imaginer.actions_seen.size(), 2u);
  EXPECT_EQ(scorer.frames_shape, (std::vector<int64_t>{4, 16, 16, 16, 3}));
  // Chunk 1's observation of sample i is sample i's last frame of chunk 0.
  for (int64_t i = 0; i < 4; ++i) {
    const uint8_t want = ((imaginer.actions_seen[0][i].mean() + 1) * 100).clamp(0, 255).to(torch::kUInt8).item<uint8_t>();
    EXPECT_EQ(d.observations[i][1].min().item<uint8_t>(), want);
    EXPECT_EQ(d.observations[i][1].max().item<uint8_t>(), want);
  }
  // The proprio rule moves the gripper by the chunk's clamped Δxyz.
  const torch::Tensor rolled = rl::RollProprioForward(prompt.proprio.unsqueeze(0).expand({4, -1}), imaginer.actions_seen[0]);
  const torch::Tensor motion = imaginer.actions_seen[0].narrow(2, 0, 3).clamp(-1, 1).sum(1) * rl::kProprioStepMetres;
  EXPECT_TRUE(torch::allclose(rolled.narrow(1, 0, 3), prompt.proprio.narrow(0, 0, 3).unsqueeze(0) + motion));
  // Chunk 1 was sampled with that proprio: the learner, rebuilding it from the chains, recomputes
  // the old log-probs exactly (no update has happened), so the ratio is 1 and approx KL 0.
  rl::GrpoConfig grpo;
  grpo.flow_matching_coef = 0;
  rl::LearnerOptimConfig optim;
  optim.warmup_steps = 0;
  auto learner = rl::GrpoLearner::Create(policy, grpo, optim, nullptr, std::nullopt);
  ASSERT_TRUE(learner.ok()) << learner.status();
  auto metrics = (*learner)->Step({d});
  ASSERT_TRUE(metrics.ok()) << metrics.status();
  EXPECT_NEAR(metrics->ratio_mean, 1.0, 1e-5);
  EXPECT_LT(std::abs(metrics->approx_kl), 1e-6);
  // Had the sampler kept the prompt's proprio for chunk 1, the learner's ratio would not be 1:
  // the proprio changes the policy's distribution (a check that the test above can fail).
  rl::RolloutGroupData stale = d;
  models::PolicyObservation obs{d.observations.select(1, 1).contiguous(), std::vector<std::string>(4, d.instruction),
                                prompt.proprio.unsqueeze(0).expand({4, -1}).contiguous()};
  torch::NoGradGuard no_grad;
  auto context = policy->Encode(obs);
  ASSERT_TRUE(context.ok());
  const rl::ChainLogProbs with_prompt_proprio = rl::RecomputeChainLogProbs(*policy, *context, d.chains.select(1, 1));
  EXPECT_GT((with_prompt_proprio.log_probs - d.old_log_probs.select(1, 1)).abs().max().item<double>(), 1e-4);
}

TEST(GroupProducerTest, BackendsThatBreakTheContractFailOnlyThisGroupWithAClearError) {
  models::VlaPolicy policy = TrainedLookingPolicy();
  PolicyReplica replica(policy);
  FakeImaginer imaginer;
  WrongCountScorer scorer;
  GroupProducerOptions options;
  options.group_size = 4;
  GroupProducer producer(options, &replica, &imaginer, &scorer);
  auto group = producer.Produce(TinyPrompt(), core::SeedPath(1), "bad");
  ASSERT_FALSE(group.ok());
  EXPECT_NE(std::string(group.status().message()).find("wrong-count scorer returned [3] rewards for 4 samples"),
            std::string::npos)
      << group.status();
  // A prompt too short for the horizon.
  options.horizon = 3;
  FakeScorer good;
  GroupProducer long_horizon(options, &replica, &imaginer, &good);
  auto short_prompt = long_horizon.Produce(TinyPrompt(), core::SeedPath(1), "short");
  ASSERT_FALSE(short_prompt.ok());
  EXPECT_EQ(short_prompt.status().code(), absl::StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace vlarft::rollout
