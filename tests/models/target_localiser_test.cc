#include "libs/models/target_localiser.h"

#include <gtest/gtest.h>

#include <cmath>

#include "libs/core/torch_compat.h"
#include "libs/models/instruction_tokenizer.h"
#include "tests/models/policy_test_util.h"

namespace vlarft::models {
namespace {

using testing::MakeTinyPolicy;
using testing::Randomize;
using testing::TinyObservation;
using testing::TinyPolicyConfig;

TargetLocaliserOptions SmallOptions(int64_t vocab_size) {
  TargetLocaliserOptions options;
  options.channels = 16;
  options.vocab_size = vocab_size;
  options.max_tokens = 12;
  options.proprio_dim = 8;
  return options;
}

TEST(TargetLocaliserTest, EstimatesAndHeatmapHaveTheDocumentedShapes) {
  TargetLocaliser localiser(SmallOptions(20));
  const torch::Tensor pixels = torch::rand({3, 3, 16, 16}) * 2 - 1;
  const torch::Tensor ids = torch::randint(4, 20, {3, 6});
  const torch::Tensor mask = torch::ones({3, 6}, torch::kBool);
  torch::Tensor heatmap;
  const torch::Tensor xy = localiser(pixels, ids, mask, torch::zeros({3, 8}), &heatmap);
  EXPECT_EQ(xy.sizes(), (std::vector<int64_t>{3, 2}));
  EXPECT_EQ(heatmap.sizes(), (std::vector<int64_t>{3, 8, 8}));
  EXPECT_NEAR(heatmap.sum(-1).sum(-1).mean().item<double>(), 1.0, 1e-5);
  // The calibration starts as (u, -v): rows grow towards the camera, table y away from it.
  EXPECT_LE(xy.abs().max().item<double>(), 1.0 + 1e-6);
  EXPECT_THROW(localiser(torch::rand({1, 3, 18, 18}), ids.narrow(0, 0, 1), mask.narrow(0, 0, 1), torch::zeros({1, 8})),
               c10::Error);
}

TEST(TargetLocaliserTest, WordOrderChangesTheEstimate) {
  // "stack the red cube on the blue cube" and its reverse have the same words; a mean of word
  // embeddings could not tell them apart, the position-aware token MLP must.
  torch::manual_seed(3);  // the check below is on one random network: make it the same one every run
  const InstructionTokenizer tokenizer =
      InstructionTokenizer::Build({"stack the red cube on the blue cube", "stack the blue cube on the red cube"});
  TargetLocaliser localiser(SmallOptions(tokenizer.vocab_size()));
  Randomize(*localiser, 0.3);
  torch::Tensor ids, mask;
  ASSERT_TRUE(tokenizer
                  .EncodeBatch({"stack the red cube on the blue cube", "stack the blue cube on the red cube"}, 12,
                               false, &ids, &mask)
                  .ok());
  const torch::Tensor pixels = (torch::rand({1, 3, 16, 16}) * 2 - 1).expand({2, 3, 16, 16});
  torch::Tensor heatmap;
  localiser(pixels, ids, mask, torch::zeros({2, 8}), &heatmap);
  // Relative to the map's own scale: the two instructions must put their mass in different places.
  const double difference = (heatmap[0] - heatmap[1]).abs().sum().item<double>();
  EXPECT_GT(difference, 1e-3) << difference;
}

TEST(TargetLocaliserTest, ExpectedSquaredErrorAveragesOverTheHeatmapAndLeavesTheCalibrationAlone) {
  TargetLocaliser localiser(SmallOptions(5));
  // A one-hot map on the top-left cell: its calibrated position is (u, -v) = (-1, 1).
  torch::Tensor one_hot = torch::zeros({1, 4, 4});
  one_hot[0][0][0] = 1.0;
  const torch::Tensor target = torch::tensor({{0.5f, 0.0f}});
  EXPECT_NEAR(localiser->ExpectedSquaredError(one_hot, target).item<double>(), 1.5 * 1.5 + 1.0, 1e-5);
  // Half the mass on each of two cells: the spread counts, although the mean of the two cells
  // (-1/3, 1) would be closer to the target than either.
  torch::Tensor split = torch::zeros({1, 4, 4});
  split[0][0][0] = 0.5;
  split[0][0][2] = 0.5;  // (1/3, 1)
  const double left = std::pow(-1.0 - 0.5, 2) + 1.0, right = std::pow(1.0 / 3 - 0.5, 2) + 1.0;
  EXPECT_NEAR(localiser->ExpectedSquaredError(split, target).item<double>(), 0.5 * (left + right), 1e-5);
  // Shrinking the calibration would shrink the spread: it must get no gradient from this term.
  torch::Tensor heat = torch::full({1, 4, 4}, 1.0 / 16).requires_grad_(true);
  localiser->ExpectedSquaredError(heat, target).sum().backward();
  EXPECT_GT(heat.grad().abs().sum().item<double>(), 0);
  for (const auto& p : localiser->named_parameters()) {
    if (p.key().find("calibration") != std::string::npos) {
      EXPECT_FALSE(p.value().grad().defined()) << p.key();
    }
  }
  EXPECT_THROW(localiser->ExpectedSquaredError(one_hot, torch::zeros({2, 2})), c10::Error);
}

// Frames with a red and a blue 2x2 square at random places; the instruction names one of them.
struct SquaresBatch {
  torch::Tensor pixels, ids, mask, target;
};

SquaresBatch MakeSquares(const InstructionTokenizer& tokenizer, int64_t batch, at::Generator& generator) {
  const int64_t size = 16;
  SquaresBatch out;
  out.pixels = torch::full({batch, 3, size, size}, -1.0);
  out.target = torch::zeros({batch, 2});
  std::vector<std::string> instructions;
  const torch::Tensor corners = torch::randint(0, size - 1, {batch, 2, 2}, generator);
  for (int64_t b = 0; b < batch; ++b) {
    for (int64_t s = 0; s < 2; ++s) {  // s = 0 red, 1 blue
      const int64_t r = corners[b][s][0].item<int64_t>(), c = corners[b][s][1].item<int64_t>();
      out.pixels[b].narrow(1, r, 2).narrow(2, c, 2).select(0, s == 0 ? 0 : 2).fill_(1.0);
    }
    const int64_t named = b % 2;
    instructions.push_back(named == 0 ? "pick up the red cube" : "pick up the blue cube");
    // Table units: x with the column, y against the row, both in [-1, 1] at the square's centre.
    const double row = corners[b][named][0].item<double>() + 0.5, col = corners[b][named][1].item<double>() + 0.5;
    out.target[b][0] = 2 * col / (size - 1) - 1;
    out.target[b][1] = -(2 * row / (size - 1) - 1);
  }
  EXPECT_TRUE(tokenizer.EncodeBatch(instructions, 12, false, &out.ids, &out.mask).ok());
  return out;
}

TEST(TargetLocaliserTest, LearnsWhichSquareTheInstructionNames) {
  torch::manual_seed(0);
  const InstructionTokenizer tokenizer = InstructionTokenizer::Build({"pick up the red cube", "pick up the blue cube"});
  TargetLocaliser localiser(SmallOptions(tokenizer.vocab_size()));
  torch::optim::Adam optimizer(localiser->parameters(), torch::optim::AdamOptions(3e-3));
  at::Generator generator = core::MakeCpuGenerator(1);
  const torch::Tensor proprio = torch::zeros({32, 8});
  for (int step = 0; step < 300; ++step) {
    const SquaresBatch batch = MakeSquares(tokenizer, 32, generator);
    const torch::Tensor loss = torch::mse_loss(localiser(batch.pixels, batch.ids, batch.mask, proprio), batch.target);
    optimizer.zero_grad();
    loss.backward();
    optimizer.step();
  }
  torch::NoGradGuard no_grad;
  const SquaresBatch held_out = MakeSquares(tokenizer, 256, generator);
  const torch::Tensor predicted = localiser(held_out.pixels, held_out.ids, held_out.mask, torch::zeros({256, 8}));
  const double rms = std::sqrt((predicted - held_out.target).pow(2).mean().item<double>());
  // Guessing the centre scores ~0.58 and picking the wrong square ~0.8; one pixel is 0.13.
  EXPECT_LT(rms, 0.15) << rms;
}

// A two-step instruction: the target is the red square until a green marker (the first part
// "done") appears somewhere, then the blue one. The instruction and proprio are the same in both
// phases, so only the scene can say which square is next.
SquaresBatch MakePhasedSquares(const InstructionTokenizer& tokenizer, int64_t batch, at::Generator& generator) {
  SquaresBatch out = MakeSquares(tokenizer, batch, generator);
  const int64_t size = out.pixels.size(2);
  std::vector<std::string> instructions(batch, "pick up the red cube and then the blue cube");
  for (int64_t b = 0; b < batch; ++b) {
    // Recover both squares' centres from the pixels (red in channel 0, blue in channel 2).
    auto centre = [&](int64_t channel) {
      const torch::Tensor on = (out.pixels[b][channel] > 0).nonzero().to(torch::kFloat32).mean(0);
      return std::pair<double, double>{on[0].item<double>(), on[1].item<double>()};
    };
    const bool second_phase = b % 2 == 1;
    const auto [row, col] = centre(second_phase ? 2 : 0);
    out.target[b][0] = 2 * col / (size - 1) - 1;
    out.target[b][1] = -(2 * row / (size - 1) - 1);
    if (second_phase) {  // the marker: a green 2x2 square anywhere (it may overlap the others)
      const torch::Tensor at = torch::randint(0, size - 1, {2}, generator);
      out.pixels[b].narrow(1, at[0].item<int64_t>(), 2).narrow(2, at[1].item<int64_t>(), 2).select(0, 1).fill_(1.0);
    }
  }
  EXPECT_TRUE(tokenizer.EncodeBatch(instructions, 12, false, &out.ids, &out.mask).ok());
  return out;
}

double PhasedSquaresRms(int64_t scene_channels) {
  torch::manual_seed(0);
  const InstructionTokenizer tokenizer = InstructionTokenizer::Build({"pick up the red cube and then the blue cube"});
  TargetLocaliserOptions options = SmallOptions(tokenizer.vocab_size());
  options.scene_channels = scene_channels;
  TargetLocaliser localiser(options);
  torch::optim::Adam optimizer(localiser->parameters(), torch::optim::AdamOptions(3e-3));
  at::Generator generator = core::MakeCpuGenerator(1);
  const torch::Tensor proprio = torch::zeros({32, 8});
  for (int step = 0; step < 400; ++step) {
    const SquaresBatch batch = MakePhasedSquares(tokenizer, 32, generator);
    const torch::Tensor loss = torch::mse_loss(localiser(batch.pixels, batch.ids, batch.mask, proprio), batch.target);
    optimizer.zero_grad();
    loss.backward();
    optimizer.step();
  }
  torch::NoGradGuard no_grad;
  const SquaresBatch held_out = MakePhasedSquares(tokenizer, 256, generator);
  const torch::Tensor predicted = localiser(held_out.pixels, held_out.ids, held_out.mask, torch::zeros({256, 8}));
  return std::sqrt((predicted - held_out.target).pow(2).mean().item<double>());
}

TEST(TargetLocaliserTest, SceneSummaryTellsWhichPartOfATwoStepInstructionIsNext) {
  // Without the scene the best the map can do is split between the squares (~0.4: half their
  // distance); with it, it must find the right one (a pixel is 0.13).
  const double without = PhasedSquaresRms(0), with = PhasedSquaresRms(8);
  EXPECT_GT(without, 0.3) << without;
  EXPECT_LT(with, 0.2) << with;
}

TEST(TargetLocaliserTest, OptionsAreValidated) {
  TargetLocaliserOptions options = SmallOptions(5);
  EXPECT_TRUE(options.Validate().ok());
  options.channels = 7;
  EXPECT_NE(std::string(options.Validate().message()).find("even"), std::string::npos);
  options.channels = 16;
  options.scene_channels = -1;
  EXPECT_NE(std::string(options.Validate().message()).find("scene"), std::string::npos);
  EXPECT_THROW(TargetLocaliser{options}, c10::Error);
  PolicyConfig config = TinyPolicyConfig();
  config.subgoal_localiser.scene_channels = 4;
  EXPECT_NE(std::string(config.Validate().message()).find("subgoal_localiser"), std::string::npos);
  config.subgoal_localiser.channels = 8;
  EXPECT_TRUE(config.Validate().ok());
  config.subgoal_localiser.scene_channels = -2;
  EXPECT_NE(std::string(config.Validate().message()).find("scene"), std::string::npos);
}

TEST(TargetLocaliserTest, PolicySubgoalHeadIsTheLocaliserAndFreezesForRft) {
  PolicyConfig config = TinyPolicyConfig();
  VlaPolicy headless = MakeTinyPolicy(config);
  EXPECT_FALSE(headless->subgoal_localiser);
  EXPECT_TRUE(headless->SubgoalParameters().empty());
  config.subgoal_localiser.channels = -8;
  EXPECT_NE(std::string(config.Validate().message()).find("subgoal_localiser.channels"), std::string::npos);
  config.subgoal_localiser.channels = 7;
  EXPECT_NE(std::string(config.Validate().message()).find("even"), std::string::npos);
  config.subgoal_localiser.channels = 8;
  ASSERT_TRUE(config.Validate().ok());
  VlaPolicy policy = MakeTinyPolicy(config);
  ASSERT_TRUE(policy->subgoal_localiser);
  auto context = policy->Encode(TinyObservation(3));
  ASSERT_TRUE(context.ok()) << context.status();
  EXPECT_EQ(policy->Subgoal(*context).sizes(), (std::vector<int64_t>{3, 2}));
  // The heads condition on the estimate, detached: the flow loss must not move the localiser.
  EXPECT_TRUE(torch::equal(context->subgoal, policy->Subgoal(*context).detach()));
  EXPECT_FALSE(context->subgoal.requires_grad());
  policy->Subgoal(*context).sum().backward();
  EXPECT_GT(policy->subgoal_localiser->named_parameters()["features.weight"].grad().abs().sum().item<double>(), 0);
  EXPECT_EQ(policy->SubgoalParameters().size(), policy->subgoal_localiser->parameters().size());
  policy->FreezeForRft();
  for (const auto& p : policy->SubgoalParameters()) EXPECT_FALSE(p.requires_grad());
}

}  // namespace
}  // namespace vlarft::models
