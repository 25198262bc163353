#include "libs/rl/grpo_learner.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <functional>
#include <thread>

#include "gtest/gtest.h"
#include "libs/core/subprocess.h"
#include "libs/core/rng.h"
#include "tests/models/policy_test_util.h"

namespace vlarft::rl {
namespace {

using models::testing::MakeTinyPolicy;
using models::testing::Randomize;

// A group sampled from `policy` for a fixed observation; reward = −|x_K − target| (mean), so samples
// closer to `target` are better.
RolloutGroupData SampleGroup(models::VlaPolicy& policy, int64_t group_size, uint64_t seed, double target,
                             const std::string& id) {
  torch::manual_seed(seed);
  models::PolicyObservation obs = models::testing::TinyObservation(1);
  auto context = policy->Encode(obs);
  EXPECT_TRUE(context.ok());
  at::Generator generator = core::MakeCpuGenerator(seed);
  SdeSample sample = SampleSde(*policy, context->Repeat(group_size), torch::randn({group_size, 8, 7}, generator),
                               generator);
  RolloutGroupData group;
  group.group_id = id;
  group.policy_version = 0;
  group.observations = obs.frames.view({1, 1, 16, 16, 3});
  group.instruction = obs.instructions[0];
  group.proprio = obs.proprio[0];
  group.expert_actions = torch::full({8, 7}, static_cast<float>(target));
  group.chains = sample.chain.unsqueeze(1);
  group.old_log_probs = sample.log_probs.unsqueeze(1);
  group.rewards = -(sample.chain.select(1, -1) - target).abs().mean({1, 2});
  return group;
}

models::VlaPolicy TrainablePolicy(uint64_t seed) {
  torch::manual_seed(seed);
  models::VlaPolicy policy = MakeTinyPolicy();
  Randomize(*policy, 0.1);
  return policy;
}

LearnerOptimConfig FastOptim() {
  LearnerOptimConfig optim;
  optim.head_lr = 3e-3;
  optim.sigma_lr = 3e-3;
  optim.warmup_steps = 0;
  optim.micro_batch_groups = 2;
  return optim;
}

TEST(GrpoLearnerTest, StepsMoveProbabilityTowardsHigherRewards) {
  models::VlaPolicy policy = TrainablePolicy(1);
  GrpoConfig grpo;
  grpo.flow_matching_coef = 0;
  auto learner = GrpoLearner::Create(policy, grpo, FastOptim(), nullptr, std::nullopt);
  ASSERT_TRUE(learner.ok()) << learner.status();
  std::vector<RolloutGroupData> groups = {SampleGroup(policy, 8, 10, 0.5, "a"), SampleGroup(policy, 8, 11, 0.5, "b"),
                                          SampleGroup(policy, 8, 12, 0.5, "c")};
  // Log-likelihood of the stored chains under the policy, per sample (sum over tokens).
  auto likelihood = [&](const RolloutGroupData& g) {
    torch::NoGradGuard no_grad;
    auto context = policy->Encode({g.observations.view({1, 16, 16, 3}), {g.instruction}, g.proprio.unsqueeze(0)});
    return RecomputeChainLogProbs(*policy, context->Repeat(g.group_size()), g.chains.squeeze(1)).log_probs.sum({1, 2, 3});
  };
  const torch::Tensor before = likelihood(groups[0]);
  for (int i = 0; i < 3; ++i) {
    auto metrics = (*learner)->Step(groups);
    ASSERT_TRUE(metrics.ok()) << metrics.status();
    EXPECT_EQ(metrics->step, i + 1);
    EXPECT_EQ(metrics->groups, 3);
    EXPECT_GT(metrics->grad_norm, 0);
    EXPECT_GT(metrics->sigma_mean, 0.08 - 1e-6);
    EXPECT_LT(metrics->sigma_mean, 0.2 + 1e-6);
  }
  const torch::Tensor gain = likelihood(groups[0]) - before;
  const int64_t best = groups[0].rewards.argmax().item<int64_t>();
  const int64_t worst = groups[0].rewards.argmin().item<int64_t>();
  EXPECT_GT(gain[best].item<double>(), gain[worst].item<double>())
      << "the best sample's likelihood should rise relative to the worst's";
  // The frozen encoder did not move.
  for (const auto& p : policy->encoder->parameters()) EXPECT_FALSE(p.requires_grad());
}

TEST(GrpoLearnerTest, ConstantActionDimsCanBeLeftOutOfTheTokenTerms) {
  // Dimensions 3..5 never vary in the demonstrations (the benchmark's ignored rotations).
  const models::PolicyConfig config = models::testing::TinyPolicyConfig();
  const std::vector<double> min = {-1, -1, -1, 0, 0, 0, -1}, max = {1, 1, 1, 0, 0, 0, 1};
  torch::manual_seed(4);
  models::VlaPolicy policy(config, models::InstructionTokenizer::Build({"pick up the red cube"}),
                           *models::ActionNormalizer::Create(min, max), models::testing::UnitNormalizer(8));
  Randomize(*policy, 0.2);
  const RolloutGroupData group = SampleGroup(policy, 6, 21, 0.3, "g");
  // Entropy per token as the learner reports it, from the sigma net before the update.
  torch::Tensor token_entropy;
  {
    torch::NoGradGuard no_grad;
    policy->eval();
    auto context = policy->Encode({group.observations.view({1, 16, 16, 3}), {group.instruction}, group.proprio.unsqueeze(0)},
                                  true);
    ASSERT_TRUE(context.ok());
    token_entropy = ChainEntropy(RecomputeChainLogProbs(*policy, context->Repeat(6), group.chains.squeeze(1)).log_sigma);
  }
  const torch::Tensor active = torch::tensor({0, 1, 2, 6}, torch::kInt64);
  for (const bool skip : {false, true}) {
    models::VlaPolicy copy(config, policy->tokenizer(), policy->action_normalizer(), policy->proprio_normalizer());
    {
      torch::NoGradGuard no_grad;
      auto from = policy->named_parameters();
      for (auto& p : copy->named_parameters()) p.value().copy_(*from.find(p.key()));
    }
    GrpoConfig grpo;
    grpo.skip_constant_action_dims = skip;
    auto learner = GrpoLearner::Create(copy, grpo, FastOptim(), nullptr, std::nullopt);
    ASSERT_TRUE(learner.ok()) << learner.status();
    auto metrics = (*learner)->Step({group});
    ASSERT_TRUE(metrics.ok()) << metrics.status();
    const double expected = (skip ? token_entropy.index_select(2, active) : token_entropy).mean().item<double>();
    EXPECT_NEAR(metrics->entropy, expected, 1e-5) << "skip " << skip;
  }
  EXPECT_GT(std::abs(token_entropy.mean().item<double>() - token_entropy.index_select(2, active).mean().item<double>()),
            1e-4);  // the two expectations differ, so the check can fail
}

models::VlaPolicy LocaliserPolicy(uint64_t seed) {
  models::PolicyConfig config = models::testing::TinyPolicyConfig();
  config.subgoal_localiser.channels = 8;
  torch::manual_seed(seed);
  models::VlaPolicy policy = MakeTinyPolicy(config);
  Randomize(*policy, 0.2);
  return policy;
}

std::vector<torch::Tensor> LocaliserWeights(models::VlaPolicy& policy) {
  std::vector<torch::Tensor> out;
  for (const auto& p : policy->SubgoalParameters()) out.push_back(p.detach().clone());
  return out;
}

bool SameWeights(const std::vector<torch::Tensor>& a, const std::vector<torch::Tensor>& b) {
  for (size_t i = 0; i < a.size(); ++i) {
    if (!torch::equal(a[i], b[i])) return false;
  }
  return true;
}

TEST(GrpoLearnerTest, LocaliserLearnsOnlyFromTheRewardThroughTheSubgoal) {
  // Only the localiser trains (head and sigma lr 0), so any change of the chains' likelihood comes
  // through the subgoal the heads are conditioned on.
  LearnerOptimConfig only_localiser = FastOptim();
  only_localiser.head_lr = 0;
  only_localiser.sigma_lr = 0;
  only_localiser.localiser_lr = 3e-2;
  GrpoConfig grpo;
  grpo.flow_matching_coef = 0;
  models::VlaPolicy policy = LocaliserPolicy(7);
  const std::vector<torch::Tensor> start = LocaliserWeights(policy);
  auto learner = GrpoLearner::Create(policy, grpo, only_localiser, nullptr, std::nullopt);
  ASSERT_TRUE(learner.ok()) << learner.status();
  std::vector<RolloutGroupData> groups = {SampleGroup(policy, 8, 30, 0.5, "a"), SampleGroup(policy, 8, 31, 0.5, "b")};
  auto likelihood = [&](const RolloutGroupData& g) {
    torch::NoGradGuard no_grad;
    auto context = policy->Encode({g.observations.view({1, 16, 16, 3}), {g.instruction}, g.proprio.unsqueeze(0)});
    return RecomputeChainLogProbs(*policy, context->Repeat(g.group_size()), g.chains.squeeze(1)).log_probs.sum({1, 2, 3});
  };
  const torch::Tensor before = likelihood(groups[0]);
  const torch::Tensor subgoal_before = policy->Subgoal(*policy->Encode(models::PolicyObservation{
      groups[0].observations.view({1, 16, 16, 3}), {groups[0].instruction}, groups[0].proprio.unsqueeze(0)})).detach();
  for (int i = 0; i < 3; ++i) {
    auto metrics = (*learner)->Step(groups);
    ASSERT_TRUE(metrics.ok()) << metrics.status();
    // The sampler conditioned on the same estimate: on-policy before the first update.
    if (i == 0) {
      EXPECT_NEAR(metrics->ratio_mean, 1.0, 1e-5);
    }
  }
  EXPECT_FALSE(SameWeights(start, LocaliserWeights(policy))) << "the localiser did not move";
  const torch::Tensor subgoal_after = policy->Subgoal(*policy->Encode(models::PolicyObservation{
      groups[0].observations.view({1, 16, 16, 3}), {groups[0].instruction}, groups[0].proprio.unsqueeze(0)})).detach();
  EXPECT_GT((subgoal_after - subgoal_before).abs().max().item<double>(), 1e-4) << "the estimate did not move";
  const torch::Tensor gain = likelihood(groups[0]) - before;
  const int64_t best = groups[0].rewards.argmax().item<int64_t>();
  const int64_t worst = groups[0].rewards.argmin().item<int64_t>();
  EXPECT_GT(gain[best].item<double>(), gain[worst].item<double>())
      << "moving the subgoal should make the best sample likelier relative to the worst";

  // Equal rewards (no advantage) with the flow-matching anchor on: the anchor trains the heads but
  // never the localiser. (Entropy bonus and weight decay off: both are allowed to reach it.)
  grpo.flow_matching_coef = 1.0;
  grpo.entropy_coef = 0;
  LearnerOptimConfig all = FastOptim();
  all.localiser_lr = 3e-2;
  all.weight_decay = 0;
  models::VlaPolicy anchored = LocaliserPolicy(8);
  const std::vector<torch::Tensor> anchored_start = LocaliserWeights(anchored);
  auto anchored_learner = GrpoLearner::Create(anchored, grpo, all, nullptr, std::nullopt);
  ASSERT_TRUE(anchored_learner.ok()) << anchored_learner.status();
  RolloutGroupData flat = SampleGroup(anchored, 8, 32, 0.5, "flat");
  flat.rewards = torch::ones({8});
  auto metrics = (*anchored_learner)->Step({flat});
  ASSERT_TRUE(metrics.ok()) << metrics.status();
  EXPECT_GT(metrics->flow_matching, 0);
  EXPECT_TRUE(SameWeights(anchored_start, LocaliserWeights(anchored)));

  // localiser_lr 0 (the default) keeps it frozen, as before.
  models::VlaPolicy frozen = LocaliserPolicy(9);
  const std::vector<torch::Tensor> frozen_start = LocaliserWeights(frozen);
  auto frozen_learner = GrpoLearner::Create(frozen, GrpoConfig{}, FastOptim(), nullptr, std::nullopt);
  ASSERT_TRUE(frozen_learner.ok());
  ASSERT_TRUE((*frozen_learner)->Step({SampleGroup(frozen, 8, 33, 0.5, "f")}).ok());
  EXPECT_TRUE(SameWeights(frozen_start, LocaliserWeights(frozen)));
  for (const auto& p : frozen->SubgoalParameters()) EXPECT_FALSE(p.requires_grad());
}

TEST(GrpoLearnerTest, LocaliserLrNeedsASubgoalConditionedPolicy) {
  LearnerOptimConfig optim = FastOptim();
  optim.localiser_lr = 1e-3;
  auto learner = GrpoLearner::Create(TrainablePolicy(3), GrpoConfig{}, optim, nullptr, std::nullopt);
  ASSERT_FALSE(learner.ok());
  EXPECT_EQ(learner.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(learner.status().message().find("localiser_lr"), std::string::npos) << learner.status();
  optim.localiser_lr = -1;
  EXPECT_FALSE(GrpoLearner::Create(LocaliserPolicy(3), GrpoConfig{}, optim, nullptr, std::nullopt).ok());
}

TEST(GrpoLearnerTest, InvalidGroupsAreRejectedNamingTheField) {
  models::VlaPolicy policy = TrainablePolicy(2);
  auto learner = GrpoLearner::Create(policy, GrpoConfig{}, FastOptim(), nullptr, std::nullopt);
  ASSERT_TRUE(learner.ok());
  RolloutGroupData good = SampleGroup(policy, 4, 3, 0.0, "g");
  RolloutGroupData bad = good;
  bad.old_log_probs = good.old_log_probs.narrow(2, 0, 2);
  auto status = (*learner)->Step({bad});
  ASSERT_FALSE(status.ok());
  EXPECT_NE(status.status().message().find("old_log_probs"), std::string::npos) << status.status();
  bad = good;
  bad.rewards = torch::full({4}, std::nanf(""));
  EXPECT_FALSE((*learner)->Step({bad}).ok());
  bad = good;
  bad.observations = torch::zeros({1, 1, 32, 32, 3}, torch::kUInt8);
  EXPECT_FALSE((*learner)->Step({bad}).ok());
  EXPECT_EQ((*learner)->step(), 0) << "a rejected batch must not count as a step";
  GrpoConfig kl;
  kl.kl_coef = 0.1;
  EXPECT_FALSE(GrpoLearner::Create(policy, kl, FastOptim(), nullptr, std::nullopt).ok());
}

TEST(GrpoLearnerTest, ANonFiniteGradientSkipsTheUpdateInsteadOfFailing) {
  models::VlaPolicy policy = TrainablePolicy(12);
  auto learner = GrpoLearner::Create(policy, GrpoConfig{}, FastOptim(), nullptr, std::nullopt);
  ASSERT_TRUE(learner.ok());
  const RolloutGroupData group = SampleGroup(policy, 4, 40, 0.1, "g");
  // Absurd but admissible stored log-probs: the clamped ratio keeps the step finite.
  RolloutGroupData far = group;
  far.old_log_probs = torch::full_like(group.old_log_probs, -900.0);
  auto finite = (*learner)->Step({far});
  ASSERT_TRUE(finite.ok()) << finite.status();
  EXPECT_FALSE(finite->skipped_nonfinite);
  EXPECT_TRUE(std::isfinite(finite->loss) && std::isfinite(finite->grad_norm));
  EXPECT_EQ((*learner)->step(), 1);
  // A weight that became NaN makes every gradient NaN: the update is skipped, not fatal.
  torch::Tensor weight = policy->flow_head->named_parameters()["final_proj.weight"];
  const torch::Tensor before = policy->sigma_net->parameters().front().detach().clone();
  {
    torch::NoGradGuard no_grad;
    weight[0][0] = std::nanf("");
  }
  auto skipped = (*learner)->Step({group});
  ASSERT_TRUE(skipped.ok()) << skipped.status();
  EXPECT_TRUE(skipped->skipped_nonfinite);
  EXPECT_EQ(skipped->step, 1);
  EXPECT_EQ((*learner)->step(), 1) << "a skipped update is not a step";
  EXPECT_TRUE(torch::equal(before, policy->sigma_net->parameters().front()));
}

TEST(GrpoLearnerTest, GroupsBeyondWhatASamplerCanProduceAreRejected) {
  const models::PolicyConfig config = models::testing::TinyPolicyConfig();
  models::VlaPolicy policy = TrainablePolicy(13);
  const RolloutGroupData good = SampleGroup(policy, 4, 41, 0.1, "g");
  ASSERT_TRUE(ValidateRolloutGroup(good, config).ok());
  struct Case {
    const char* field;
    std::function<void(RolloutGroupData&)> edit;
  };
  const std::vector<Case> cases = {
      {"old_log_probs", [](RolloutGroupData& g) { g.old_log_probs.fill_(-1e4); }},
      {"old_log_probs", [](RolloutGroupData& g) { g.old_log_probs[0][0][0][0][0] = INFINITY; }},
      {"chains", [](RolloutGroupData& g) { g.chains[1][0][2][0][0] = 3e38f; }},
      {"expert_actions", [](RolloutGroupData& g) { g.expert_actions[0][0] = NAN; }},
      {"proprio", [](RolloutGroupData& g) { g.proprio[0] = -INFINITY; }},
  };
  for (const Case& c : cases) {
    RolloutGroupData bad = good;
    bad.old_log_probs = good.old_log_probs.clone();
    bad.chains = good.chains.clone();
    bad.expert_actions = good.expert_actions.clone();
    bad.proprio = good.proprio.clone();
    c.edit(bad);
    const absl::Status status = ValidateRolloutGroup(bad, config);
    ASSERT_FALSE(status.ok()) << c.field;
    EXPECT_NE(std::string(status.message()).find(c.field), std::string::npos) << status;
  }
}

TEST(GrpoLearnerTest, CheckpointResumeEqualsUninterruptedTraining) {
  const std::string dir = ::testing::TempDir() + "/vlarft_learner_ckpt_" + std::to_string(::getpid());
  std::filesystem::remove_all(dir);
  models::VlaPolicy reference_policy = TrainablePolicy(4);
  std::vector<RolloutGroupData> batch1 = {SampleGroup(reference_policy, 4, 20, 0.2, "x"), SampleGroup(reference_policy, 4, 21, 0.2, "y")};
  std::vector<RolloutGroupData> batch2 = {SampleGroup(reference_policy, 4, 22, 0.2, "z")};
  GrpoConfig grpo;  // includes the flow-matching term, which draws from the learner's generator

  auto straight = GrpoLearner::Create(TrainablePolicy(4), grpo, FastOptim(), nullptr, std::nullopt);
  ASSERT_TRUE(straight.ok());
  ASSERT_TRUE((*straight)->Step(batch1).ok());
  ASSERT_TRUE((*straight)->Step(batch2).ok());

  auto first = GrpoLearner::Create(TrainablePolicy(4), grpo, FastOptim(), nullptr, std::nullopt);
  ASSERT_TRUE((*first)->Step(batch1).ok());
  models::TrainingCheckpoints checkpoints(dir);
  YAML::Node extra;
  extra["consumed_groups"] = 2;
  ASSERT_TRUE((*first)->SaveCheckpoint(checkpoints, extra).ok());

  auto resumed = GrpoLearner::Create(TrainablePolicy(99), grpo, FastOptim(), nullptr, std::nullopt);
  auto restored_extra = (*resumed)->RestoreCheckpoint(checkpoints);
  ASSERT_TRUE(restored_extra.ok()) << restored_extra.status();
  EXPECT_EQ((*restored_extra)["consumed_groups"].as<int>(), 2);
  EXPECT_EQ((*resumed)->step(), 1);
  ASSERT_TRUE((*resumed)->Step(batch2).ok());
  const auto a = (*straight)->TrainableTensors();
  const auto b = (*resumed)->TrainableTensors();
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) EXPECT_TRUE(torch::equal(a[i].second, b[i].second)) << a[i].first;
}

int FreePort() { return *core::FreeLoopbackPort(); }

TEST(GrpoLearnerTest, TwoGlooRanksStayBitIdentical) {
  if (!DataParallelGroup::BackendCompiledIn("gloo")) GTEST_SKIP() << "this LibTorch ships no Gloo headers";
  models::VlaPolicy source = TrainablePolicy(5);
  std::vector<RolloutGroupData> shards[2] = {{SampleGroup(source, 4, 30, 0.1, "r0a"), SampleGroup(source, 4, 31, 0.1, "r0b")},
                                             {SampleGroup(source, 4, 32, -0.3, "r1a")}};
  const int port = FreePort();
  std::vector<std::pair<std::string, torch::Tensor>> final_params[2];
  absl::Status statuses[2];
  auto run = [&](int rank) {
    DistributedConfig config;
    config.rank = rank;
    config.world_size = 2;
    config.master_port = port;
    auto group = DataParallelGroup::Create(config, torch::kCPU);
    if (!group.ok()) {
      statuses[rank] = group.status();
      return;
    }
    LearnerOptimConfig optim = FastOptim();
    optim.seed = 100 + rank;  // different local draws must not desynchronise the weights
    auto learner = GrpoLearner::Create(TrainablePolicy(5), GrpoConfig{}, optim, group->get(), std::nullopt);
    for (int step = 0; step < 3 && learner.ok(); ++step) {
      auto metrics = (*learner)->Step(shards[rank]);
      if (!metrics.ok()) {
        statuses[rank] = metrics.status();
        return;
      }
    }
    for (auto& [name, tensor] : (*learner)->TrainableTensors()) final_params[rank].emplace_back(name, tensor.clone());
  };
  std::thread t0(run, 0), t1(run, 1);
  t0.join();
  t1.join();
  ASSERT_TRUE(statuses[0].ok()) << statuses[0];
  ASSERT_TRUE(statuses[1].ok()) << statuses[1];
  ASSERT_EQ(final_params[0].size(), final_params[1].size());
  for (size_t i = 0; i < final_params[0].size(); ++i) {
    EXPECT_TRUE(torch::equal(final_params[0][i].second, final_params[1][i].second)) << final_params[0][i].first;
  }
}

}  // namespace
}  // namespace vlarft::rl
