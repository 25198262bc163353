#include "libs/models/layers.h"

#include <cmath>

#include "gtest/gtest.h"

namespace vlarft::models {
namespace {

TEST(LayersTest, RmsNormMatchesDefinition) {
  RMSNorm norm(4, 1e-6);
  torch::Tensor x = torch::tensor({{1.0f, 2.0f, 3.0f, 4.0f}});
  const double rms = std::sqrt((1 + 4 + 9 + 16) / 4.0 + 1e-6);
  torch::Tensor expected = x / rms;
  EXPECT_TRUE(torch::allclose(norm(x), expected, 1e-5, 1e-6));
}

TEST(LayersTest, RotaryPreservesNormsAndRelativePositionsOnly) {
  Rotary rotary(8);
  torch::manual_seed(0);
  torch::Tensor q = torch::randn({1, 2, 1, 8});
  torch::Tensor k = torch::randn({1, 2, 1, 8});
  auto score = [&](int64_t pq, int64_t pk) {
    torch::Tensor rq = rotary.Apply(q, torch::tensor({pq}));
    torch::Tensor rk = rotary.Apply(k, torch::tensor({pk}));
    return (rq * rk).sum().item<double>();
  };
  // Rotation keeps vector norms.
  EXPECT_NEAR(rotary.Apply(q, torch::tensor({5})).norm().item<double>(), q.norm().item<double>(), 1e-4);
  // q·k depends only on the offset between positions.
  EXPECT_NEAR(score(3, 1), score(12, 10), 1e-4);
  EXPECT_NEAR(score(0, 0), (q * k).sum().item<double>(), 1e-5);
  // Per-batch positions equal per-sequence application.
  torch::Tensor both = torch::cat({q, q}, 0);
  torch::Tensor per_batch = rotary.Apply(both, torch::tensor({{2}, {7}}));
  EXPECT_TRUE(torch::allclose(per_batch[1], rotary.Apply(q, torch::tensor({7}))[0], 1e-5, 1e-6));
}

TEST(LayersTest, LoraStartsAsNoOpTrainsOnlyAdapterAndMerges) {
  torch::manual_seed(1);
  LoraLinear linear(6, 5);
  torch::Tensor x = torch::randn({3, 6});
  torch::Tensor before = linear(x).detach();
  linear->EnableLora({/*rank=*/2, /*alpha=*/4.0});
  EXPECT_TRUE(torch::allclose(linear(x), before));
  EXPECT_FALSE(linear->weight().requires_grad());
  EXPECT_EQ(CountParameters(*linear, /*trainable_only=*/true), 2 * 6 + 5 * 2);

  torch::optim::SGD sgd(linear->parameters(), 0.1);
  for (int i = 0; i < 3; ++i) {
    sgd.zero_grad();
    linear(x).pow(2).sum().backward();
    sgd.step();
  }
  torch::Tensor adapted = linear(x).detach();
  EXPECT_FALSE(torch::allclose(adapted, before));
  linear->Merge();
  EXPECT_FALSE(linear->has_lora());
  EXPECT_EQ(linear->named_parameters().size(), 2u);
  EXPECT_TRUE(torch::allclose(linear(x), adapted, 1e-5, 1e-5));
}

TEST(LayersTest, AttentionCausalMaskHidesTheFuture) {
  torch::manual_seed(2);
  Attention attention(8, 2);
  torch::Tensor x = torch::randn({1, 5, 8});
  torch::Tensor full = attention(x, x, std::nullopt, /*causal=*/true);
  // Changing the last token must not change earlier outputs.
  torch::Tensor y = x.clone();
  y.index_put_({0, 4}, torch::randn({8}));
  torch::Tensor changed = attention(y, y, std::nullopt, /*causal=*/true);
  EXPECT_TRUE(torch::allclose(full.narrow(1, 0, 4), changed.narrow(1, 0, 4), 1e-5, 1e-6));
  EXPECT_FALSE(torch::allclose(full.narrow(1, 4, 1), changed.narrow(1, 4, 1)));
  // An explicit boolean mask equal to the causal one gives the same result.
  torch::Tensor mask = torch::ones({5, 5}, torch::kBool).tril();
  EXPECT_TRUE(torch::allclose(attention(x, x, mask, false), full, 1e-5, 1e-6));
}

TEST(LayersTest, EnableLoraOnSelectsTargetsByName) {
  Attention attention(8, 2);
  EXPECT_EQ(EnableLoraOn(*attention, {"q_proj", "v_proj"}, {2, 2.0}), 2);
  EXPECT_TRUE(attention->q_proj->has_lora());
  EXPECT_FALSE(attention->k_proj->has_lora());
  MergeAllLora(*attention);
  EXPECT_FALSE(attention->q_proj->has_lora());
}

}  // namespace
}  // namespace vlarft::models
