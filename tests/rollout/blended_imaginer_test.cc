// BlendedImaginer (libs/rollout/blended_imaginer.h): weight 0 gives the truth's frames, 1 the
// model's, 0.5 the pixel midpoint, for the group and the reference; both backends see the same
// prompt, settings and actions; the ground truth is the truth's; bad weights and shapes are named.
#include "libs/rollout/blended_imaginer.h"

#include <cmath>
#include <tuple>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace vlarft::rollout {
namespace {

// Every pixel of chunk k is `value + k` (group) and `value + 100 + k` (reference); records what it
// was asked; progress = `value` for every sample.
class ConstantImaginer : public Imaginer {
 public:
  ConstantImaginer(int value, int64_t size = 4) : value_(value), size_(size) {}
  std::string name() const override { return absl::StrCat("constant ", value_); }
  absl::StatusOr<std::unique_ptr<ImaginationSession>> Start(const Prompt& prompt, const ImagineSettings& settings) override {
    seen_seed = settings.seed;
    seen_instruction = prompt.instruction;
    return std::unique_ptr<ImaginationSession>(new Session(this));
  }
  uint64_t seen_seed = 0;
  std::string seen_instruction;
  torch::Tensor seen_actions;

 private:
  struct Session : ImaginationSession {
    explicit Session(ConstantImaginer* owner) : owner(owner) {}
    absl::StatusOr<ImaginedChunk> Next(const torch::Tensor& actions, const torch::Tensor&) override {
      owner->seen_actions = actions;
      const int64_t g = actions.size(0), c = actions.size(1), s = owner->size_;
      const int v = owner->value_ + chunks++;
      return ImaginedChunk{torch::full({g, c, s, s, 3}, v, torch::kUInt8), torch::full({c, s, s, 3}, v + 100, torch::kUInt8)};
    }
    absl::StatusOr<GroundTruth> Outcome() override {
      return GroundTruth{torch::ones({2}, torch::kBool), torch::full({2}, static_cast<float>(owner->value_))};
    }
    ConstantImaginer* owner;
    int chunks = 0;
  };
  int value_;
  int64_t size_;
};

Prompt MakePrompt() {
  Prompt prompt;
  prompt.instruction = "put the bowl on the plate";
  prompt.frame = torch::zeros({4, 4, 3}, torch::kUInt8);
  return prompt;
}

TEST(BlendedImaginerTest, WeightZeroIsTheTruthOneTheModelAndHalfTheMidpointOfEveryChunk) {
  const torch::Tensor actions = torch::randn({2, 3, 7});
  const torch::Tensor reference_actions = torch::randn({3, 7});
  ImagineSettings settings;
  settings.group_size = 2;
  settings.horizon = 2;
  settings.seed = 1234;
  for (const auto& [weight, group, reference] : std::vector<std::tuple<double, int, int>>{
           {0.0, 10, 110}, {1.0, 50, 150}, {0.5, 30, 130}, {0.25, 20, 120}}) {
    ConstantImaginer truth(10), model(50);
    BlendedImaginer blended(&truth, &model, weight);
    auto session = blended.Start(MakePrompt(), settings);
    ASSERT_TRUE(session.ok()) << session.status();
    for (int chunk = 0; chunk < 2; ++chunk) {  // each backend's session moves on one chunk per call
      auto imagined = (*session)->Next(actions, reference_actions);
      ASSERT_TRUE(imagined.ok()) << imagined.status();
      EXPECT_EQ(imagined->frames.sizes(), (std::vector<int64_t>{2, 3, 4, 4, 3}));
      EXPECT_EQ(imagined->frames.scalar_type(), torch::kUInt8);
      EXPECT_TRUE(imagined->frames.eq(group + chunk).all().item<bool>()) << "weight " << weight;
      EXPECT_TRUE(imagined->reference.eq(reference + chunk).all().item<bool>()) << "weight " << weight;
    }
    for (ConstantImaginer* backend : {&truth, &model}) {
      EXPECT_EQ(backend->seen_seed, 1234u);
      EXPECT_EQ(backend->seen_instruction, "put the bowl on the plate");
      EXPECT_TRUE(backend->seen_actions.equal(actions));
    }
    auto outcome = (*session)->Outcome();
    ASSERT_TRUE(outcome.ok()) << outcome.status();
    EXPECT_TRUE(outcome->progress.eq(10.0f).all().item<bool>()) << "the truth's ground truth";
  }
}

TEST(BlendedImaginerTest, WeightsOutsideZeroToOneAndMismatchedChunksAreNamed) {
  ConstantImaginer truth(10), model(50);
  for (double bad : {-0.1, 1.5, std::nan("")}) {
    BlendedImaginer blended(&truth, &model, bad);
    auto session = blended.Start(MakePrompt(), {});
    ASSERT_FALSE(session.ok());
    EXPECT_EQ(session.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_NE(session.status().message().find("[0, 1]"), std::string::npos) << session.status();
  }
  ConstantImaginer small(10, 4), large(50, 8);
  BlendedImaginer mismatched(&small, &large, 0.5);
  auto session = mismatched.Start(MakePrompt(), {});
  ASSERT_TRUE(session.ok()) << session.status();
  auto imagined = (*session)->Next(torch::zeros({2, 3, 7}), torch::zeros({3, 7}));
  ASSERT_FALSE(imagined.ok());
  EXPECT_EQ(imagined.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(imagined.status().message().find("[2, 3, 4, 4, 3]"), std::string::npos) << imagined.status();
  EXPECT_NE(imagined.status().message().find("[2, 3, 8, 8, 3]"), std::string::npos) << imagined.status();
  const ImaginedChunk floats{torch::zeros({2, 3, 4, 4, 3}), torch::zeros({3, 4, 4, 3})};
  EXPECT_EQ(BlendChunks(floats, floats, 0.5).status().code(), absl::StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace vlarft::rollout
