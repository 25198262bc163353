#include "libs/models/train_policy.h"

#include <cmath>
#include <filesystem>

#include "gtest/gtest.h"
#include "libs/core/torch_compat.h"
#include "libs/core/status.h"
#include "tests/models/policy_test_util.h"

namespace vlarft::models {
namespace {

// Actions are a deterministic function of the instruction and proprio, so a policy can learn them.
class SyntheticData : public PolicyDataSource {
 public:
  absl::StatusOr<PolicyBatch> SampleBatch(int64_t batch_size, bool validation, at::Generator& generator) override {
    PolicyBatch batch;
    batch.frames = torch::randint(0, 256, {batch_size, 16, 16, 3}, generator).to(torch::kUInt8);
    batch.proprio = torch::rand({batch_size, 8}, generator) * 2 - 1;
    batch.actions = torch::zeros({batch_size, 8, 7});
    for (int64_t b = 0; b < batch_size; ++b) {
      const bool left = (b + validation) % 2 == 0;
      batch.instructions.push_back(left ? "pick up the red cube" : "put the bowl on the plate");
      batch.actions[b] = batch.proprio[b][0] * 0.5 + (left ? -0.5 : 0.5);
    }
    return batch;
  }
  std::vector<std::string> Instructions() const override { return {"pick up the red cube", "put the bowl on the plate"}; }
  std::vector<double> ActionMin() const override { return std::vector<double>(7, -1.0); }
  std::vector<double> ActionMax() const override { return std::vector<double>(7, 1.0); }
  std::vector<double> ProprioMin() const override { return std::vector<double>(8, -1.0); }
  std::vector<double> ProprioMax() const override { return std::vector<double>(8, 1.0); }
};

PolicyTrainConfig FastConfig(int64_t steps) {
  PolicyTrainConfig config;
  config.steps = steps;
  config.batch_size = 16;
  config.lr = 2e-3;
  config.warmup_steps = 5;
  config.log_every = 10;
  config.validate_every = 20;
  config.checkpoint_every = 10;
  config.augment_shift = 1;
  return config;
}

TEST(TrainPolicyTest, LossFallsAndTheSavedPolicyLoads) {
  const std::string dir = ::testing::TempDir() + "/vlarft_sft_" + std::to_string(::getpid());
  std::filesystem::remove_all(dir);
  SyntheticData data;
  std::vector<std::string> lines;
  auto result = TrainPolicy(testing::TinyPolicyConfig(), FastConfig(60), data, dir + "/ckpt", dir + "/policy",
                            [&](const std::string& line) { lines.push_back(line); });
  ASSERT_TRUE(result.ok()) << result.status();
  ASSERT_EQ(result->train_loss.size(), 6u);
  EXPECT_LT(result->train_loss.back().second, 0.5 * result->train_loss.front().second);
  EXPECT_EQ(result->validation_loss.size(), 3u);
  EXPECT_NE(lines.front().find("ETA"), std::string::npos);
  auto loaded = LoadPolicy(dir + "/policy");
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ((*loaded)->tokenizer().words().size(), 9u);
}

TEST(TrainPolicyTest, ResumingFromACheckpointMatchesAnUninterruptedRun) {
  const std::string dir = ::testing::TempDir() + "/vlarft_sft_resume_" + std::to_string(::getpid());
  std::filesystem::remove_all(dir);
  SyntheticData data;
  auto quiet = [](const std::string&) {};
  ASSERT_TRUE(TrainPolicy(testing::TinyPolicyConfig(), FastConfig(20), data, dir + "/a", dir + "/straight", quiet).ok());
  // Interrupted run: 10 steps (checkpoint at 10), then a new invocation continues to 20.
  PolicyTrainConfig first_half = FastConfig(20);
  first_half.stop_after_steps = 10;
  auto half = TrainPolicy(testing::TinyPolicyConfig(), first_half, data, dir + "/b", dir + "/half", quiet);
  ASSERT_TRUE(half.ok());
  EXPECT_FALSE(half->complete);
  ASSERT_TRUE(TrainPolicy(testing::TinyPolicyConfig(), FastConfig(20), data, dir + "/b", dir + "/resumed", quiet).ok());
  auto straight = LoadPolicy(dir + "/straight");
  auto resumed = LoadPolicy(dir + "/resumed");
  ASSERT_TRUE(straight.ok() && resumed.ok());
  const auto a = (*straight)->named_parameters();
  const auto b = (*resumed)->named_parameters();
  for (const auto& item : a) EXPECT_TRUE(torch::equal(item.value(), *b.find(item.key()))) << item.key();
}

// Subgoals are a function of the instruction alone: the subgoal head has to read the context.
class SubgoalData : public SyntheticData {
 public:
  absl::StatusOr<PolicyBatch> SampleBatch(int64_t batch_size, bool validation, at::Generator& generator) override {
    VLARFT_ASSIGN_OR_RETURN(PolicyBatch batch, SyntheticData::SampleBatch(batch_size, validation, generator));
    batch.subgoals = torch::empty({batch_size, 2});
    for (int64_t b = 0; b < batch_size; ++b) {
      const bool left = batch.instructions[b] == "pick up the red cube";
      batch.subgoals[b][0] = left ? -0.6 : 0.6;
      batch.subgoals[b][1] = left ? 0.3 : -0.3;
    }
    return batch;
  }
};

TEST(TrainPolicyTest, SubgoalHeadLearnsTheTargetAndTheRftFreezeCoversIt) {
  const std::string dir = ::testing::TempDir() + "/vlarft_sft_subgoal_" + std::to_string(::getpid());
  std::filesystem::remove_all(dir);
  PolicyConfig model = testing::TinyPolicyConfig();
  model.subgoal_localiser.channels = 8;
  PolicyTrainConfig config = FastConfig(80);
  config.subgoal_weight = 1.0;
  config.augment_shift = 0;
  SubgoalData data;
  std::vector<std::string> lines;
  auto result = TrainPolicy(model, config, data, "", dir + "/policy", [&](const std::string& l) { lines.push_back(l); });
  ASSERT_TRUE(result.ok()) << result.status();
  // Validation reports the head's error in metres; it falls as the head learns.
  ASSERT_EQ(result->validation_subgoal_rms_m.size(), 4u);
  EXPECT_LT(result->validation_subgoal_rms_m.back().second, 0.5 * result->validation_subgoal_rms_m.front().second);
  EXPECT_NE(lines.back().find("subgoal RMS"), std::string::npos) << lines.back();
  ASSERT_EQ(result->validation_subgoal_far_rms_m.size(), 4u);
  EXPECT_GT(result->validation_subgoal_far_rms_m.front().second, 0);
  absl::StatusOr<VlaPolicy> loaded = LoadPolicy(dir + "/policy");
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  VlaPolicy policy = *loaded;
  torch::NoGradGuard no_grad;
  at::Generator generator = core::MakeCpuGenerator(7);
  absl::StatusOr<PolicyBatch> batch = data.SampleBatch(8, true, generator);
  ASSERT_TRUE(batch.ok());
  absl::StatusOr<PolicyContext> context = policy->Encode({batch->frames, batch->instructions, batch->proprio});
  ASSERT_TRUE(context.ok()) << context.status();
  const torch::Tensor predicted = policy->Subgoal(*context);  // proprio units = [-1, 1] here: same numbers
  EXPECT_LT((predicted - batch->subgoals).abs().max().item<double>(), 0.15) << predicted << batch->subgoals;
  policy->FreezeForRft();
  for (const auto& p : policy->subgoal_localiser->parameters()) EXPECT_FALSE(p.requires_grad());
}

TEST(TrainPolicyTest, SubgoalWeightNeedsTheHeadAndTheData) {
  auto quiet = [](const std::string&) {};
  PolicyTrainConfig config = FastConfig(2);
  config.subgoal_far_m = -0.1;
  EXPECT_NE(std::string(config.Validate().message()).find("subgoal_far_m"), std::string::npos);
  config.subgoal_far_m = 0.1;
  config.subgoal_heatmap_loss = "cross_entropy";
  EXPECT_NE(std::string(config.Validate().message()).find("subgoal_heatmap_loss"), std::string::npos);
  config.subgoal_heatmap_loss = "expected";
  ASSERT_TRUE(config.Validate().ok());
  config.subgoal_weight = 1.0;
  SubgoalData subgoals;
  auto no_head = TrainPolicy(testing::TinyPolicyConfig(), config, subgoals, "", "", quiet);
  ASSERT_FALSE(no_head.ok());
  EXPECT_NE(no_head.status().message().find("subgoal head"), std::string::npos) << no_head.status();
  PolicyConfig model = testing::TinyPolicyConfig();
  model.subgoal_localiser.channels = 8;
  SyntheticData no_subgoals;
  auto no_data = TrainPolicy(model, config, no_subgoals, "", "", quiet);
  ASSERT_FALSE(no_data.ok());
  EXPECT_NE(no_data.status().message().find("subgoals"), std::string::npos) << no_data.status();
}

// Subgoals drawn at random, unrelated to frame or instruction, and the actions point at them: only
// the subgoal conditioning can explain the actions.
class RandomSubgoalData : public SyntheticData {
 public:
  absl::StatusOr<PolicyBatch> SampleBatch(int64_t batch_size, bool validation, at::Generator& generator) override {
    VLARFT_ASSIGN_OR_RETURN(PolicyBatch batch, SyntheticData::SampleBatch(batch_size, validation, generator));
    batch.subgoals = torch::rand({batch_size, 2}, generator) * 1.6 - 0.8;
    const torch::Tensor toward = (batch.subgoals - batch.proprio.narrow(1, 0, 2)) / 2;  // within [-0.9, 0.9]
    batch.actions.zero_();
    batch.actions.narrow(2, 0, 2).copy_(toward.unsqueeze(1).expand({batch_size, 8, 2}));
    return batch;
  }
};

TEST(TrainPolicyTest, SubgoalConditionedHeadsLearnToFollowTheSubgoal) {
  const std::string dir = ::testing::TempDir() + "/vlarft_sft_subgoal_cond_" + std::to_string(::getpid());
  std::filesystem::remove_all(dir);
  PolicyConfig model = testing::TinyPolicyConfig();
  model.subgoal_localiser.channels = 8;
  PolicyTrainConfig config = FastConfig(150);
  config.augment_shift = 0;
  config.subgoal_noise_m = 0;
  config.subgoal_far_m = 0.1;  // the weighted subgoal loss (subgoal and gripper are independent here)
  auto quiet = [](const std::string&) {};
  RandomSubgoalData data;
  auto unsupervised = TrainPolicy(model, config, data, "", "", quiet);
  ASSERT_FALSE(unsupervised.ok());  // nothing would train the head the heads steer by
  EXPECT_NE(unsupervised.status().message().find("subgoal_weight"), std::string::npos) << unsupervised.status();
  config.subgoal_weight = 1.0;
  ASSERT_TRUE(TrainPolicy(model, config, data, "", dir + "/policy", quiet).ok());
  absl::StatusOr<VlaPolicy> loaded = LoadPolicy(dir + "/policy");
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  VlaPolicy policy = *loaded;
  ASSERT_TRUE(policy->config().HasSubgoalHead());

  torch::NoGradGuard no_grad;
  at::Generator generator = core::MakeCpuGenerator(11);
  absl::StatusOr<PolicyBatch> batch = data.SampleBatch(64, true, generator);
  ASSERT_TRUE(batch.ok());
  absl::StatusOr<PolicyContext> context = policy->Encode({batch->frames, batch->instructions, batch->proprio});
  ASSERT_TRUE(context.ok()) << context.status();
  const torch::Tensor actions = policy->action_normalizer().Normalize(batch->actions);
  const torch::Tensor noise = torch::randn(actions.sizes(), generator);
  const torch::Tensor tau = torch::rand({64}, generator);
  auto loss_with = [&](const torch::Tensor& subgoal) {
    PolicyContext c = *context;
    c.subgoal = subgoal;  // proprio units are [-1, 1] here: the same numbers as the data's
    return policy->FlowMatchingLoss(actions, noise, tau, c).item<double>();
  };
  const double right = loss_with(batch->subgoals), wrong = loss_with(batch->subgoals.flip(0));
  EXPECT_LT(right, 0.5 * wrong) << "right subgoal " << right << ", shuffled " << wrong;
}

TEST(TrainPolicyTest, HeatmapSubgoalHeadTrainsWithEitherLossAndRoundTrips) {
  const std::string dir = ::testing::TempDir() + "/vlarft_sft_heatmap_" + std::to_string(::getpid());
  std::filesystem::remove_all(dir);
  PolicyConfig model = testing::TinyPolicyConfig();
  model.subgoal_localiser.channels = 8;
  auto quiet = [](const std::string&) {};
  for (const std::string loss : {"estimate", "expected"}) {
    PolicyTrainConfig config = FastConfig(10);
    config.subgoal_weight = 1.0;
    config.subgoal_heatmap_loss = loss;
    RandomSubgoalData data;
    absl::StatusOr<PolicyTrainResult> result = TrainPolicy(model, config, data, "", dir + "/" + loss, quiet);
    ASSERT_TRUE(result.ok()) << result.status();
    EXPECT_TRUE(std::isfinite(result->train_loss.back().second)) << loss;
    absl::StatusOr<VlaPolicy> loaded = LoadPolicy(dir + "/" + loss);
    ASSERT_TRUE(loaded.ok()) << loaded.status();
    ASSERT_TRUE((*loaded)->subgoal_localiser);
    EXPECT_EQ((*loaded)->config().subgoal_localiser.channels, 8);
  }
  std::filesystem::remove_all(dir);
}

TEST(TrainPolicyTest, FlowTimesAndAugmentationsStayInRange) {
  at::Generator generator = core::MakeCpuGenerator(1);
  torch::Tensor beta = SampleFlowTimes(10000, "beta", generator);
  EXPECT_GT(beta.min().item<double>(), 0.0);
  EXPECT_LE(beta.max().item<double>(), 1.0);
  // Noise level s ~ Beta(1.5, 1) has mean 0.6, so τ = 1 - 0.999 s has mean ≈ 0.4.
  EXPECT_NEAR(beta.mean().item<double>(), 1.0 - 0.999 * 0.6, 0.02);
  torch::Tensor frames = torch::randint(0, 256, {4, 16, 16, 3}).to(torch::kUInt8);
  torch::Tensor augmented = AugmentFrames(frames, 2, 0.2, generator);
  EXPECT_EQ(augmented.sizes(), frames.sizes());
  EXPECT_EQ(augmented.scalar_type(), torch::kUInt8);
  EXPECT_TRUE(torch::equal(AugmentFrames(frames, 0, 0.0, generator), frames));
  PolicyTrainConfig bad;
  bad.tau_sampling = "gaussian";
  EXPECT_FALSE(bad.Validate().ok());
}

}  // namespace
}  // namespace vlarft::models
