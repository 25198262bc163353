#include "libs/core/batched_matmul.h"

#include <gtest/gtest.h>

#include <string>
#include <tuple>
#include <vector>

#include "libs/core/torch_compat.h"

namespace vlarft::core {
namespace {

// Restores the process-wide switches whatever a test sets.
class BatchedMatmulTest : public ::testing::TestWithParam<bool /*baseline_only*/> {
 protected:
  void SetUp() override { SetBatchedMatmulBaselineOnly(GetParam()); }
  void TearDown() override {
    SetBatchedMatmulBaselineOnly(false);
    SetBatchedMatmulKernelEnabled(true);
  }
};

void ExpectMatchesTorch(const torch::Tensor& a, const torch::Tensor& b, const std::string& what) {
  ASSERT_TRUE(BatchedMatmulUsesKernel(a, b)) << what;
  const torch::Tensor ours = BatchedMatmul(a, b);
  const torch::Tensor reference = torch::matmul(a.to(torch::kFloat64), b.to(torch::kFloat64));
  ASSERT_EQ(ours.sizes(), reference.sizes()) << what;
  EXPECT_EQ(ours.scalar_type(), torch::kFloat32) << what;
  // float32 sums of K products: error grows like sqrt(K) * eps * |a||b|.
  EXPECT_TRUE(torch::allclose(ours.to(torch::kFloat64), reference, /*rtol=*/1e-5, /*atol=*/1e-5))
      << what << ": max abs diff " << (ours.to(torch::kFloat64) - reference).abs().max().item<double>();
}

TEST_P(BatchedMatmulTest, MatchesTorchMatmulForEveryLayoutAndTail) {
  torch::manual_seed(0);
  // (M, K, N): multiples of the 8- and 32-wide blocks, and sizes that leave every tail loop work.
  const std::vector<std::tuple<int64_t, int64_t, int64_t>> shapes = {
      {8, 32, 120}, {1, 32, 97}, {16, 64, 32}, {3, 5, 7}, {8, 33, 37}, {5, 1, 1}, {1, 9, 4}};
  for (const auto& [m, k, n] : shapes) {
    const std::string what = "M=" + std::to_string(m) + " K=" + std::to_string(k) + " N=" + std::to_string(n);
    const torch::Tensor a = torch::randn({3, 2, m, k});
    ExpectMatchesTorch(a, torch::randn({3, 2, k, n}), what + " (b as stored)");
    // The attention scores q k^T: b is a transposed view, read without a copy.
    ExpectMatchesTorch(a, torch::randn({3, 2, n, k}).transpose(-2, -1), what + " (b transposed)");
    // A transposed a and a strided (sliced) b.
    ExpectMatchesTorch(torch::randn({3, 2, k, m}).transpose(-2, -1), torch::randn({3, 2, k, 2 * n}).slice(-1, 0, 2 * n, 2),
                       what + " (a transposed, b strided)");
  }
  // Heads split from [batch, L, heads, d] as attention does: strided leading dims, read in place.
  const torch::Tensor q = torch::randn({3, 8, 4, 32}).transpose(1, 2);
  const torch::Tensor k = torch::randn({3, 50, 4, 32}).transpose(1, 2);
  ExpectMatchesTorch(q, k.transpose(-2, -1), "attention scores, heads as a view");
  ExpectMatchesTorch(torch::softmax(torch::randn({3, 4, 8, 50}), -1), k, "attention output, heads as a view");
  // An expanded (stride-0) batch dim.
  ExpectMatchesTorch(torch::randn({1, 5, 6}).expand({4, 5, 6}), torch::randn({4, 6, 9}), "expanded a");
  // Three dims and a single matrix.
  ExpectMatchesTorch(torch::randn({4, 6, 10}), torch::randn({4, 10, 3}), "3-d batch");
  ExpectMatchesTorch(torch::randn({6, 10}), torch::randn({10, 3}), "2-d");
}

TEST_P(BatchedMatmulTest, GradientsMatchTorchMatmul) {
  torch::manual_seed(1);
  for (const bool transposed_b : {false, true}) {
    const torch::Tensor a0 = torch::randn({2, 4, 8, 32});
    const torch::Tensor b0 = transposed_b ? torch::randn({2, 4, 19, 32}) : torch::randn({2, 4, 32, 19});
    const torch::Tensor weights = torch::randn({2, 4, 8, 19});
    auto loss_and_grads = [&](bool ours) {
      torch::Tensor a = a0.clone().requires_grad_(true);
      torch::Tensor b_leaf = b0.clone().requires_grad_(true);
      const torch::Tensor b = transposed_b ? b_leaf.transpose(-2, -1) : b_leaf;
      const torch::Tensor c = ours ? BatchedMatmul(a, b) : torch::matmul(a, b);
      (c * weights).sum().backward();
      return std::make_pair(a.grad(), b_leaf.grad());
    };
    const auto [ga, gb] = loss_and_grads(true);
    const auto [ra, rb] = loss_and_grads(false);
    ASSERT_TRUE(ga.defined() && gb.defined());
    EXPECT_TRUE(torch::allclose(ga, ra, 1e-5, 1e-5)) << "dL/da, transposed b " << transposed_b;
    EXPECT_TRUE(torch::allclose(gb, rb, 1e-5, 1e-5)) << "dL/db, transposed b " << transposed_b;
  }
  // Only one input needing a gradient: the other gets none.
  torch::Tensor a = torch::randn({2, 3, 4}).requires_grad_(true);
  BatchedMatmul(a, torch::randn({2, 4, 5})).sum().backward();
  EXPECT_TRUE(a.grad().defined());
}

TEST_P(BatchedMatmulTest, ThreadCountDoesNotChangeTheResult) {
  torch::manual_seed(2);
  const torch::Tensor a = torch::randn({64, 4, 8, 32});
  const torch::Tensor b = torch::randn({64, 4, 120, 32}).transpose(-2, -1);
  const int threads = at::get_num_threads();
  at::set_num_threads(1);
  const torch::Tensor one = BatchedMatmul(a, b);
  at::set_num_threads(2);
  const torch::Tensor two = BatchedMatmul(a, b);
  at::set_num_threads(threads);
  EXPECT_TRUE(torch::equal(one, two));  // each matrix is one task: bit-identical
}

INSTANTIATE_TEST_SUITE_P(Isa, BatchedMatmulTest, ::testing::Values(false, true),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? std::string("Baseline") : std::string("Native");
                         });

TEST(BatchedMatmulFallbackTest, OtherDtypesBroadcastAutocastAndTheSwitchGoToTorchMatmul) {
  torch::manual_seed(3);
  const torch::Tensor a = torch::randn({2, 3, 4});
  const torch::Tensor b = torch::randn({2, 4, 5});
  EXPECT_TRUE(BatchedMatmulUsesKernel(a, b));
  // bf16 inputs, float64 inputs, broadcast batch dims, mismatched inner dims: torch::matmul's
  // semantics (and its error message) unchanged.
  EXPECT_FALSE(BatchedMatmulUsesKernel(a.to(torch::kBFloat16), b.to(torch::kBFloat16)));
  EXPECT_FALSE(BatchedMatmulUsesKernel(a.to(torch::kFloat64), b.to(torch::kFloat64)));
  const torch::Tensor shared_b = torch::randn({4, 5});
  EXPECT_FALSE(BatchedMatmulUsesKernel(a, shared_b));
  EXPECT_TRUE(torch::allclose(BatchedMatmul(a, shared_b), torch::matmul(a, shared_b)));
  EXPECT_FALSE(BatchedMatmulUsesKernel(a, torch::randn({2, 5, 5})));
  EXPECT_THROW(BatchedMatmul(a, torch::randn({2, 5, 5})), c10::Error);
  {
    // Under CPU autocast torch::matmul runs in bf16; the kernel must not silently keep float32.
    AutocastScope autocast(c10::DeviceType::CPU, true, at::kBFloat16);
    EXPECT_FALSE(BatchedMatmulUsesKernel(a, b));
    EXPECT_EQ(BatchedMatmul(a, b).scalar_type(), torch::kBFloat16);
  }
  SetBatchedMatmulKernelEnabled(false);
  EXPECT_FALSE(BatchedMatmulUsesKernel(a, b));
  SetBatchedMatmulKernelEnabled(true);
  EXPECT_TRUE(BatchedMatmulUsesKernel(a, b));
}

TEST(BatchedMatmulFallbackTest, NamesTheInstructionSetItRuns) {
  const std::string native = BatchedMatmulIsa();
  EXPECT_TRUE(native == "avx2" || native == "baseline") << native;
  SetBatchedMatmulBaselineOnly(true);
  EXPECT_STREQ(BatchedMatmulIsa(), "baseline");
  SetBatchedMatmulBaselineOnly(false);
  EXPECT_EQ(std::string(BatchedMatmulIsa()), native);
}

}  // namespace
}  // namespace vlarft::core
