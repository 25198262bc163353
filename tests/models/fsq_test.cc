#include "libs/models/fsq.h"

#include "gtest/gtest.h"

namespace vlarft::models {
namespace {

TEST(FsqTest, PaperLevelsHave4375Codes) {
  const Fsq fsq = Fsq::Create({7, 5, 5, 5, 5}).value();
  EXPECT_EQ(fsq.codebook_size(), 4375);
  EXPECT_EQ(fsq.dims(), 5);
}

TEST(FsqTest, IndicesAndCodesRoundTripExactly) {
  for (const std::vector<int64_t>& levels : {std::vector<int64_t>{7, 5, 5, 5, 5}, std::vector<int64_t>{8, 5, 3}}) {
    const Fsq fsq = Fsq::Create(levels).value();
    const torch::Tensor indices = torch::arange(fsq.codebook_size(), torch::kInt64);
    const torch::Tensor codes = fsq.IndicesToCodes(indices);
    ASSERT_EQ(codes.sizes(), (std::vector<int64_t>{fsq.codebook_size(), fsq.dims()}));
    EXPECT_TRUE(torch::equal(fsq.CodesToIndices(codes), indices));
    // Distinct indices are distinct codes, all within [-1, 1].
    EXPECT_EQ(std::get<0>(torch::unique_dim(codes, 0)).size(0), fsq.codebook_size());
    EXPECT_LE(codes.abs().max().item<double>(), 1.0);
  }
}

TEST(FsqTest, QuantizedValuesLieOnTheGridAndPassGradients) {
  const Fsq fsq = Fsq::Create({7, 5, 5, 5, 5}).value();
  torch::manual_seed(0);
  const torch::Tensor z = (torch::randn({64, 5}) * 3).requires_grad_(true);
  const torch::Tensor q = fsq.Quantize(z);
  const torch::Tensor half_width = torch::tensor({3.0f, 2.0f, 2.0f, 2.0f, 2.0f});
  const torch::Tensor scaled = q.detach() * half_width;
  EXPECT_TRUE(torch::allclose(scaled, scaled.round(), 0, 1e-5));
  EXPECT_LE(scaled.abs().max().item<double>(), 3.0 + 1e-5);
  // Every level of the first dimension is reachable.
  EXPECT_EQ(std::get<0>(torch::_unique(scaled.select(1, 0).round())).numel(), 7);
  // Straight-through: gradients flow to z.
  q.sum().backward();
  EXPECT_GT(z.grad().abs().sum().item<double>(), 0.0);
  // Quantised codes map to indices and back unchanged.
  EXPECT_TRUE(torch::equal(fsq.IndicesToCodes(fsq.CodesToIndices(q.detach())), q.detach()));
}

TEST(FsqTest, RejectsBadLevels) {
  EXPECT_FALSE(Fsq::Create({}).ok());
  EXPECT_FALSE(Fsq::Create({7, 1}).ok());
}

}  // namespace
}  // namespace vlarft::models
