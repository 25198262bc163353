// The benchmark-facing policy adapter: the oracle-subgoal diagnostic steers by the simulator's
// subgoal, and only for policies that condition on one.
#include "libs/evaluation/policy_adapter.h"

#include <cmath>

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

}  // namespace
}  // namespace vlarft::evaluation
