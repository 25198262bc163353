// The benchmark-facing policy adapter: the oracle-subgoal diagnostic steers by the simulator's
// subgoal, and only for policies that condition on one; lanes sample parts of a batch at once and
// act as one lane does.
#include "libs/evaluation/policy_adapter.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "gtest/gtest.h"
#include "tests/models/policy_test_util.h"

namespace vlarft::evaluation {
namespace {

std::vector<tabletop::Observation> TwoObservations(std::array<float, 2> first_subgoal, std::array<float, 2> second_subgoal) {
  std::vector<tabletop::Observation> observations(2);
  for (int i = 0; i < 2; ++i) {
    tabletop::Observation& o = observations[i];
    o.size = 16;
    o.frame.assign(16 * 16 * 3, static_cast<uint8_t>(60 + 40 * i));
    o.instruction = "pick up the red cube";
    o.proprio = {0.1f, -0.2f, 0.15f, 0, 0, 0, 0.04f, -0.04f};
    o.episode = i;
    o.privileged_subgoal = i == 0 ? first_subgoal : second_subgoal;
  }
  return observations;
}

float FirstActionX(const std::vector<tabletop::ActionChunk>& chunks, size_t i) { return chunks[i][0][0]; }

// Every entry of chunk i (clipped actions can saturate at ±1, so one entry alone may not differ).
std::vector<float> Chunk(const std::vector<tabletop::ActionChunk>& chunks, size_t i) {
  std::vector<float> out;
  for (const auto& action : chunks[i]) out.insert(out.end(), action.begin(), action.end());
  return out;
}

TEST(PolicyAdapterTest, OracleSubgoalNeedsASubgoalConditionedPolicy) {
  PolicyAdapterOptions options;
  options.oracle_subgoal = true;
  auto adapter = MakeVlaPolicyAdapter(models::testing::MakeTinyPolicy(), "tiny", options);
  ASSERT_FALSE(adapter.ok());
  EXPECT_EQ(adapter.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(adapter.status().message().find("subgoal_localiser"), std::string::npos) << adapter.status();
}

TEST(PolicyAdapterTest, OracleSubgoalSteersTheChunksAndTheEstimateIgnoresIt) {
  models::PolicyConfig config = models::testing::TinyPolicyConfig();
  config.subgoal_localiser.channels = 8;
  models::VlaPolicy policy = models::testing::MakeTinyPolicy(config);
  {
    torch::NoGradGuard no_grad;  // adaLN-Zero heads start at zero output: give them values
    for (auto& p : policy->flow_head->parameters()) {
      if (p.abs().max().item<double>() == 0) p.normal_(0, 0.1);
    }
  }
  const auto same = TwoObservations({0.3f, 0.3f}, {0.3f, 0.3f});
  const auto different = TwoObservations({0.3f, 0.3f}, {-0.3f, -0.3f});
  for (bool oracle : {false, true}) {
    PolicyAdapterOptions options;
    options.oracle_subgoal = oracle;
    std::vector<double> errors;
    options.subgoal_error = [&](int, int, double error_m) { errors.push_back(error_m); };
    // Fresh adapters with the same seed draw the same x_0, so chunks differ only through the subgoal.
    auto a = MakeVlaPolicyAdapter(policy, "tiny", options);
    auto b = MakeVlaPolicyAdapter(policy, "tiny", options);
    ASSERT_TRUE(a.ok() && b.ok());
    auto with_same = (*a)->ActBatch(same);
    auto with_different = (*b)->ActBatch(different);
    ASSERT_TRUE(with_same.ok() && with_different.ok());
    EXPECT_FLOAT_EQ(FirstActionX(*with_same, 0), FirstActionX(*with_different, 0));
    // One distance per observation, from the head's estimate (never from the oracle it may steer by).
    ASSERT_EQ(errors.size(), 4u);
    for (double e : errors) EXPECT_TRUE(std::isfinite(e) && e >= 0);
    EXPECT_DOUBLE_EQ(errors[0], errors[2]);  // same frame, same truth
    EXPECT_NE(errors[1], errors[3]);         // same frame, different truth
    if (oracle) {
      EXPECT_NE(Chunk(*with_same, 1), Chunk(*with_different, 1));
    } else {
      EXPECT_FLOAT_EQ(FirstActionX(*with_same, 1), FirstActionX(*with_different, 1));
    }
  }
}

// Observations that differ frame by frame, so every chunk is its own.
std::vector<tabletop::Observation> ManyObservations(int n) {
  std::vector<tabletop::Observation> observations(n);
  for (int i = 0; i < n; ++i) {
    tabletop::Observation& o = observations[i];
    o.size = 16;
    o.frame.assign(16 * 16 * 3, static_cast<uint8_t>((37 * i) % 251));
    o.instruction = "pick up the red cube";
    o.proprio = {0.01f * (i % 20), -0.2f, 0.15f, 0, 0, 0, 0.04f, -0.04f};
    o.episode = i;
  }
  return observations;
}

models::VlaPolicy PolicyWithLiveHeads() {
  models::VlaPolicy policy = models::testing::MakeTinyPolicy();
  torch::NoGradGuard no_grad;  // adaLN-Zero heads start at zero output: give them values
  for (auto& p : policy->flow_head->parameters()) {
    if (p.abs().max().item<double>() == 0) p.normal_(0, 0.1);
  }
  return policy;
}

std::vector<tabletop::ActionChunk> Act(const models::VlaPolicy& policy, PolicyAdapterOptions options,
                                       const std::vector<tabletop::Observation>& observations) {
  auto adapter = MakeVlaPolicyAdapter(policy, "tiny", options);
  EXPECT_TRUE(adapter.ok()) << adapter.status();
  if (!adapter.ok()) return {};
  // Two decisions: the second draws its noise after the first's, on every number of lanes.
  auto first = (*adapter)->ActBatch(observations);
  auto second = (*adapter)->ActBatch(observations);
  EXPECT_TRUE(first.ok() && second.ok()) << (first.ok() ? second.status() : first.status());
  if (!first.ok() || !second.ok()) return {};
  first->insert(first->end(), second->begin(), second->end());
  return *first;
}

// Largest difference between two lists of chunks (infinity when their shapes differ).
double MaxDifference(const std::vector<tabletop::ActionChunk>& a, const std::vector<tabletop::ActionChunk>& b) {
  if (a.size() != b.size()) return INFINITY;
  double most = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i].size() != b[i].size()) return INFINITY;
    for (size_t k = 0; k < a[i].size(); ++k) {
      for (size_t d = 0; d < a[i][k].size(); ++d) most = std::max(most, std::abs(double(a[i][k][d]) - b[i][k][d]));
    }
  }
  return most;
}

TEST(PolicyAdapterTest, LanesShareOutTheObservationsAndActAsOneLaneDoes) {
  const models::VlaPolicy policy = PolicyWithLiveHeads();
  const std::vector<tabletop::Observation> observations = ManyObservations(23);
  PolicyAdapterOptions options;
  options.max_batch = 8;  // 3 slices of 8, 8, 7: split over the lanes inside each slice
  const std::vector<tabletop::ActionChunk> one_lane = Act(policy, options, observations);
  ASSERT_EQ(one_lane.size(), 46u);
  EXPECT_NE(one_lane[0], one_lane[1]);
  EXPECT_NE(one_lane[0], one_lane[23]) << "the second decision draws new noise";
  // The same noise: equal up to float rounding (a smaller forward pass may block its products
  // differently); a different draw would differ by O(1).
  for (int64_t lanes : {2, 3, 16}) {
    options.lanes = lanes;
    EXPECT_LT(MaxDifference(Act(policy, options, observations), one_lane), 1e-5) << lanes << " lanes";
  }
  options.lanes = 1;
  options.seed = 1;
  EXPECT_GT(MaxDifference(Act(policy, options, observations), one_lane), 0.1) << "another seed, other noise";
  options.seed = 0;
  // The SDE draws noise along the chain from one generator: it keeps one lane, whatever is asked.
  options.sde = true;
  options.lanes = 1;
  const std::vector<tabletop::ActionChunk> sde_one = Act(policy, options, observations);
  options.lanes = 4;
  EXPECT_EQ(MaxDifference(Act(policy, options, observations), sde_one), 0);
  EXPECT_GT(MaxDifference(sde_one, one_lane), 0.1);
}

TEST(PolicyAdapterTest, LanesOrBatchesOutOfRangeAreRefusedByName) {
  for (int64_t lanes : {0, -2, 65}) {
    PolicyAdapterOptions options;
    options.lanes = lanes;
    auto adapter = MakeVlaPolicyAdapter(models::testing::MakeTinyPolicy(), "tiny", options);
    ASSERT_FALSE(adapter.ok()) << lanes;
    EXPECT_EQ(adapter.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_NE(adapter.status().message().find("lanes is " + std::to_string(lanes)), std::string::npos)
        << adapter.status();
  }
  PolicyAdapterOptions options;
  options.max_batch = 0;
  auto adapter = MakeVlaPolicyAdapter(models::testing::MakeTinyPolicy(), "tiny", options);
  ASSERT_FALSE(adapter.ok());
  EXPECT_NE(adapter.status().message().find("max_batch is 0"), std::string::npos) << adapter.status();
}

}  // namespace
}  // namespace vlarft::evaluation
